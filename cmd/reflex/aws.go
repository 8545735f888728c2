package main

import (
	"context"

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
