package awstest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/internal/awstest"
	"github.com/reflexsec/reflex/internal/fakeaws"
	"github.com/reflexsec/reflex/store"
)

func containConfig(env *awstest.Env) []byte {
	return []byte(fmt.Sprintf(`
rules:
  - name: contain
    pattern: {source: [aws.guardduty], detail: {resource: {resourceType: [Instance]}}}
    mode: enforce
    steps:
      - step: ec2.contain
      - step: notify
guards:
  budget: {per_account: 100, total: 100}
ledger: {path: %q}
`, filepath.Join(env.Dir, "ledger.db")))
}

// TestContainStep: ec2.contain does what the single steps do, in four
// round trips; release restores the state before, field by field; under
// 30% throttling and 5% 500s it completes without a side effect twice.
func TestContainStep(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults bool
	}{{"clean", false}, {"faults", true}} {
		t.Run(tc.name, func(t *testing.T) {
			env := start(t, fakeaws.WithSeed(7))
			ctx := env.Context(context.Background())
			before, err := env.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tc.faults {
				env.Cloud.InjectFault(fakeaws.Fault{ThrottleRate: 0.30, ErrorRate: 0.05})
			}
			eng, db, err := env.Engine(containConfig(env))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			res, _, err := eng.Run(ctx, findings(t, "ec2"), engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range res[0].Outcome.Steps {
				if s.State == store.StepFailed {
					t.Fatalf("%s failed: %s", s.Name, s.Reason)
				}
			}
			st, err := env.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checkContainedEC2(t, env, st)
			se := env.SideEffects()
			for op, n := range map[string]int{"CreateSnapshots": 1, "CreateSecurityGroup": 2, "ModifyNetworkInterfaceAttribute": 4, "DetachInstances": 1, "DisassociateAddress": 1, "DisassociateIamInstanceProfile": 1} {
				if se[op] != n {
					t.Errorf("%s succeeded %d times, want %d", op, se[op], n)
				}
			}
			if _, err := eng.Release(ctx, engine.ReleaseSelector{Finding: "sandbox-ec2-tor-client"}); err != nil {
				t.Fatal(err)
			}
			env.Cloud.ClearFaults()
			after, _ := env.Snapshot(ctx)
			if d := awstest.Diff(before, after); len(d) > 0 {
				t.Errorf("after release:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

// TestContainRoundTrips measures ec2.contain with 50 ms per call: every
// interface isolated, and the whole containment done, in sequential round
// trips from receiving the finding (from the call log, not wall time).
func TestContainRoundTrips(t *testing.T) {
	if testing.Short() {
		t.Skip("50 ms per call")
	}
	for _, warm := range []bool{false, true} {
		env := start(t)
		ctx := env.Context(context.Background())
		if warm { // reflex's groups exist and the role is assumed: a second containment in the VPC
			eng, db, _ := env.Engine(containConfig(env))
			eng.Run(ctx, findings(t, "ec2"), engine.Options{})
			eng.Release(ctx, engine.ReleaseSelector{Finding: "sandbox-ec2-tor-client"})
			db.Close()
			env.Dir = t.TempDir()
		}
		eng, db, err := env.Engine(containConfig(env))
		if err != nil {
			t.Fatal(err)
		}
		env.Cloud.SetLatency(50 * time.Millisecond)
		received := time.Now()
		if _, _, err := eng.Run(ctx, findings(t, "ec2"), engine.Options{}); err != nil {
			t.Fatal(err)
		}
		db.Close()
		calls := env.Cloud.Calls()
		iso := awstest.RoundTrips(calls, received, func(c fakeaws.Call) bool {
			return c.Operation == "ModifyNetworkInterfaceAttribute" && c.ErrorCode == ""
		})
		allRT := awstest.RoundTrips(calls, received, func(c fakeaws.Call) bool { return c.Service != "sts" })
		n := 0
		for _, c := range calls {
			if !c.Start.Before(received) {
				n++
			}
		}
		t.Logf("ec2.contain (2 interfaces, 3 volumes, warm=%v): %d calls; every interface isolated after %d sequential round trips; whole containment %d",
			warm, n, iso, allRT)
		limit := 4
		if !warm {
			limit = 5 // + AssumeRole into the account (cached for its session afterwards)
		}
		if iso > limit || allRT > limit {
			t.Errorf("isolated after %d, done after %d round trips: want at most %d", iso, allRT, limit)
		}
	}
}

func checkContainedEC2(t *testing.T, env *awstest.Env, st awstest.State) {
	t.Helper()
	in, _ := env.Cloud.Instance("111111111111", "us-east-1", "i-0a11111111111111a")
	if !in.DisableAPITermination || in.ShutdownBehavior != "stop" || in.InstanceProfileARN != "" || len(in.PublicIPs) > 0 {
		t.Errorf("instance: %+v", in)
	}
	for _, n := range in.Interfaces {
		if len(n.SecurityGroups) != 1 {
			t.Errorf("%s groups %v", n.ID, n.SecurityGroups)
			continue
		}
		if g, _ := env.Cloud.SecurityGroup("111111111111", "us-east-1", n.SecurityGroups[0]); g.Name != "reflex-isolation" || len(g.Ingress)+len(g.Egress) > 0 {
			t.Errorf("%s in %+v", n.ID, g)
		}
	}
	for _, k := range []string{"asg/web-asg/has-instance", "target-group/web-tg/has-instance", "target-group/admin-tg/has-instance"} {
		if st[k] != "false" {
			t.Errorf("%s = %s", k, st[k])
		}
	}
	if in.Tags["reflex:evidence"] != "sandbox-ec2-tor-client" {
		t.Errorf("no evidence mark: %v", in.Tags)
	}
}
