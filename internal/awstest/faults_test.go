package awstest_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/internal/awstest"
	"github.com/reflexsec/reflex/internal/fakeaws"
	"github.com/reflexsec/reflex/store"
)

// baseline runs the playbooks without faults and returns the successful
// mutating calls of the run.
func baseline(t *testing.T) map[string]int {
	t.Helper()
	env := start(t)
	ctx := env.Context(context.Background())
	eng, db, err := env.Engine(example(t, env))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, err := eng.Run(ctx, findings(t, all...), engine.Options{}); err != nil {
		t.Fatal(err)
	}
	return env.SideEffects()
}

// TestThrottlingAndServerErrors: with 30% of calls throttled and 5%
// answered 500, every playbook completes, no side effect happens twice,
// and release still restores the state before.
func TestThrottlingAndServerErrors(t *testing.T) {
	want := baseline(t)
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			env := start(t, fakeaws.WithSeed(seed))
			ctx := env.Context(context.Background())
			before, err := env.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			env.Cloud.InjectFault(fakeaws.Fault{ThrottleRate: 0.30, ErrorRate: 0.05})
			eng, db, err := env.Engine(example(t, env))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			results, _, err := eng.Run(ctx, findings(t, all...), engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				for _, s := range r.Outcome.Steps {
					if s.State == store.StepFailed {
						t.Errorf("%s %s failed: %s", s.Name, s.Target, s.Reason)
					}
				}
			}
			faults := 0
			for _, c := range env.Cloud.Calls() {
				if c.Fault == "throttle" || c.Fault == "error" {
					faults++
				}
			}
			got := env.SideEffects()
			if !maps.Equal(got, want) {
				t.Errorf("side effects under faults:\n got %v\nwant %v", got, want)
			}
			st, err := env.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checkContained(t, env, st)
			t.Logf("%d calls, %d throttled or failed", len(env.Cloud.Calls()), faults)
			for _, f := range findings(t, all...) {
				rel, err := eng.Release(ctx, engine.ReleaseSelector{Finding: f.ID})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rel {
					if r.Status == engine.ReleaseFailed {
						t.Errorf("release %s: %s", r.Step, r.Reason)
					}
				}
			}
			env.Cloud.ClearFaults()
			after, _ := env.Snapshot(ctx)
			if d := awstest.Diff(before, after); len(d) > 0 {
				t.Errorf("after release:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

// TestStepFailureIsTold: a step that keeps failing ends failed in the
// ledger with the AWS error, the rest of its resource's steps are skipped
// (on_failure: stop), and the decision is failed — never success.
func TestStepFailureIsTold(t *testing.T) {
	env := start(t)
	ctx := env.Context(context.Background())
	env.Cloud.InjectFault(fakeaws.Fault{Service: "ec2", Operation: "CreateSnapshots", Nth: 0, Code: "InternalError"})
	eng, db, err := env.Engine(stepwise(example(t, env)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	results, _, err := eng.Run(ctx, findings(t, "ec2"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := results[0].Outcome
	if o.Status != store.DecisionFailed {
		t.Errorf("decision %s, want failed", o.Status)
	}
	states := map[string]*store.Step{}
	for _, s := range o.Steps {
		states[s.Name] = s
	}
	if s := states["ec2.snapshot"]; s.State != store.StepFailed || !strings.Contains(s.Reason, "InternalError") {
		t.Errorf("snapshot: %s %q", s.State, s.Reason)
	}
	if s := states["ec2.isolate"]; s.State != store.StepSkipped {
		t.Errorf("isolate after a failed snapshot: %s", s.State)
	}
	if n := len(env.Cloud.Snapshots("111111111111", "us-east-1")); n != 0 {
		t.Errorf("%d snapshots exist though every CreateSnapshots failed", n)
	}
}

// TestContainFailureIsTold: when snapshots cannot start, ec2.contain fails
// with the AWS error before changing any interface (evidence before change).
func TestContainFailureIsTold(t *testing.T) {
	env := start(t)
	ctx := env.Context(context.Background())
	env.Cloud.InjectFault(fakeaws.Fault{Service: "ec2", Operation: "CreateSnapshots", Nth: 0, Code: "InternalError"})
	eng, db, err := env.Engine(example(t, env))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	results, _, err := eng.Run(ctx, findings(t, "ec2"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := results[0].Outcome
	if o.Status != store.DecisionFailed || o.Steps[0].Name != "ec2.contain" || o.Steps[0].State != store.StepFailed || !strings.Contains(o.Steps[0].Reason, "InternalError") {
		t.Fatalf("outcome %s, %s %s %q", o.Status, o.Steps[0].Name, o.Steps[0].State, o.Steps[0].Reason)
	}
	in, _ := env.Cloud.Instance("111111111111", "us-east-1", "i-0a11111111111111a")
	if in.Interfaces[0].SecurityGroups[0] != "sg-0a11111111111111a" || in.Interfaces[1].SecurityGroups[0] != "sg-0a11111111111111b" || in.DisableAPITermination {
		t.Errorf("changed although the snapshots failed: %+v", in)
	}
}
