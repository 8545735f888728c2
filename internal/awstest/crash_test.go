package awstest_test

import (
	"context"
	"fmt"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reflexsec/reflex/cloud"
	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/internal/awstest"
	"github.com/reflexsec/reflex/store"
)

// TestKillMidPlaybookAndRerun interrupts the playbooks after the n-th AWS
// call (the context is cancelled: the in-flight call is cut, the step is
// left started in the ledger, as after a kill), then runs again with a new
// engine on the same ledger: everything completes, no completed step runs
// again, no side effect happens twice, and release restores the state
// before — whatever the point of the kill.
func TestKillMidPlaybookAndRerun(t *testing.T) {
	want := baseline(t)
	points := []int{3, 9, 17, 26, 34, 41, 48, 55, 63, 70}
	if testing.Short() {
		points = points[:3]
	}
	for _, n := range points {
		t.Run(fmt.Sprint("after call ", n), func(t *testing.T) {
			var calls atomic.Int64
			ctx1, kill := context.WithCancel(context.Background())
			defer kill()
			env, err := awstest.Start(t.TempDir(), func(cloud.Call) {
				if calls.Add(1) == int64(n) {
					kill()
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			defer env.Close()
			env.Cloud.SetLatency(time.Millisecond)
			bctx := env.Context(context.Background())
			before, err := env.Snapshot(bctx)
			if err != nil {
				t.Fatal(err)
			}
			calls.Store(0)
			env.Cloud.ResetCalls()
			cfg := example(t, env)
			eng, db, err := env.Engine(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = eng.Run(env.Context(ctx1), findings(t, all...), engine.Options{})
			if err == nil && ctx1.Err() == nil {
				t.Logf("finished before call %d", n)
			}
			db.Close()
			ended := map[string]int{} // step key → attempts when it ended in the first run
			db2, _ := openLedger(t, env, cfg)
			for _, s := range mustSteps(t, db2) {
				if store.Ended(s.State) {
					ended[s.Key] = s.Attempts
				}
			}
			db2.Close()

			// the re-run: resumes the interrupted decision, then the findings again
			eng2, db3, err := env.Engine(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db3.Close()
			if _, _, err := eng2.Run(bctx, findings(t, all...), engine.Options{}); err != nil {
				t.Fatal(err)
			}
			// findings whose decision was not recorded before the kill are decided now
			for _, s := range mustSteps(t, db3) {
				if s.State == store.StepFailed {
					t.Errorf("%s %s failed: %s", s.Name, s.Target, s.Reason)
				}
				if !store.Ended(s.State) {
					t.Errorf("%s %s still %s", s.Name, s.Target, s.State)
				}
				if a, ok := ended[s.Key]; ok && s.Attempts != a {
					t.Errorf("%s ran again after it had ended (%d → %d attempts)", s.Name, a, s.Attempts)
				}
			}
			if got := env.SideEffects(); !maps.Equal(got, want) {
				t.Errorf("side effects with a kill after call %d:\n got %v\nwant %v", n, got, want)
			}
			st, _ := env.Snapshot(bctx)
			checkContained(t, env, st)
			for _, f := range findings(t, all...) {
				if _, err := eng2.Release(bctx, engine.ReleaseSelector{Finding: f.ID}); err != nil {
					t.Fatal(err)
				}
			}
			after, _ := env.Snapshot(bctx)
			for _, d := range awstest.Diff(before, after) {
				t.Errorf("after release: %s", d)
			}
		})
	}
}
