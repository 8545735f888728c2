package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/internal/awstest"
	"github.com/reflexsec/reflex/internal/sandbox"
	"github.com/reflexsec/reflex/policy"
)

// TestKeepWarm: the long-running modes assume the role of every account
// the configuration names by id before any finding arrives; "*" alone
// prewarms nothing (its accounts are not known in advance).
func TestKeepWarm(t *testing.T) {
	for _, tc := range []struct {
		name, accounts string
		want           int
	}{
		{"named account", `[{id: "` + sandbox.Prod + `", role: ` + sandbox.ResponderRole + `, external_id: ` + sandbox.ExternalID + `}]`, 1},
		{"every account", `[{id: "*", role: ` + sandbox.ResponderRole + `, external_id: ` + sandbox.ExternalID + `}]`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := awstest.Start(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer env.Close()
			p, err := policy.Parse("c.yaml", []byte("rules: [{name: r, pattern: {source: [aws.guardduty]}, steps: [{step: record}]}]\naccounts: "+tc.accounts+"\n"), action.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(env.Context(context.Background()))
			defer cancel()
			keepWarm(ctx, p, slog.New(slog.NewTextHandler(io.Discard, nil)))
			// keepWarm decides at once whether there is anything to prewarm
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(env.Cloud.CallsTo("sts", "AssumeRole")) < tc.want; {
				time.Sleep(5 * time.Millisecond)
			}
			if n := len(env.Cloud.CallsTo("sts", "AssumeRole")); n != tc.want {
				t.Errorf("%d AssumeRole calls before any finding, want %d", n, tc.want)
			}
		})
	}
}
