package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/reflexsec/reflex/action"
	_ "github.com/reflexsec/reflex/action/ec2" // the AWS steps replace their declared contracts
	_ "github.com/reflexsec/reflex/action/findings"
	_ "github.com/reflexsec/reflex/action/iam"
	_ "github.com/reflexsec/reflex/action/s3"
	"github.com/reflexsec/reflex/cloud"
	"github.com/reflexsec/reflex/policy"
)

// awsClients returns the constructor of the AWS clients the steps use: the
// SDK's default chain (AWS_ENDPOINT_URL honoured) and the configuration's
// accounts section (role to assume, external id). Built on first use only.
func awsClients(g *globals) func(context.Context) (*cloud.Clients, error) {
	return func(ctx context.Context) (*cloud.Clients, error) {
		var accounts []cloud.Account
		if g.config != "" {
			if p, err := policy.Load(g.config, action.NewRegistry()); err == nil {
				accounts = cloudAccounts(p)
			}
		}
		return cloud.New(ctx, accounts, cloud.Options{})
	}
}

func cloudAccounts(p *policy.Policy) []cloud.Account {
	var out []cloud.Account
	for _, a := range p.Accounts {
		out = append(out, cloud.Account{ID: a.ID, Role: a.Role, ExternalID: a.ExternalID})
	}
	return out
}

// keepWarm assumes the role of every account the configuration names by id
// ("*" stands for accounts not known in advance) before any finding
// arrives, and renews the credentials before they expire, until ctx is
// done: in long-running modes (serve, a warm Lambda) the first finding
// about such an account does not wait for AssumeRole.
func keepWarm(ctx context.Context, p *policy.Policy, log *slog.Logger) {
	var ids []string
	for _, a := range p.Accounts {
		if a.ID != "*" && a.Role != "" {
			ids = append(ids, a.ID)
		}
	}
	if len(ids) == 0 || !cloud.HasClients(ctx) {
		return
	}
	go func() {
		cl, err := cloud.FromContext(ctx)
		if err != nil {
			log.Warn("AWS credentials not prewarmed", "error", err.Error())
			return
		}
		cl.KeepWarm(ctx, ids, time.Minute, func(err error) { log.Warn("AWS credentials not prewarmed", "error", err.Error()) })
	}()
}
