package engine

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/store"
)

func TestStepTimeout(t *testing.T) {
	fx := newFixture(t, `
rules:
  - name: r
    pattern: {detail: {resource: {resourceType: [Instance]}}}
    mode: enforce
    steps:
      - step: test.effect
        params: {dir: $DIR, sleep: 1h}
        timeout: 50ms
        retries: 1
execution: {backoff: 1ms}
`)
	f := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("t1"))
	// The step would sleep an hour: Run returns only because the timeout
	// cuts it (otherwise the test runs into go test's own timeout).
	res, _, err := fx.eng.Run(context.Background(), []*finding.Finding{f}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := res[0].Outcome.Steps[0]
	if s.State != store.StepFailed || s.Attempts != 2 || !strings.Contains(s.Reason, "timed out after 50ms") {
		t.Fatalf("%s after %d attempts: %s", s.State, s.Attempts, s.Reason)
	}
}

// concStep is a targeted step that records how many of its kind run at once.
// With waitFor > 1 it waits (up to a generous bound) for that many to be
// running, so that overlap is observed whenever the executor allows it,
// however slow or loaded the machine.
type concStep struct {
	name         string
	targets      []string
	running, max *atomic.Int32
	waitFor      int32
}

func (c concStep) Spec() action.Spec {
	return action.Spec{Name: c.name, Targets: c.targets, Effect: action.Reversible, Available: true}
}
func (c concStep) Plan(context.Context, *action.Request) ([]action.Call, error) { return nil, nil }
func (c concStep) Undo(context.Context, *action.Request) action.Result          { return action.Done(nil) }
func (c concStep) Do(_ context.Context, req *action.Request) action.Result {
	n := c.running.Add(1)
	defer c.running.Add(-1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			break
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.waitFor > 1 && c.running.Load() < c.waitFor && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	return action.Done(map[string]string{"target": req.Target.Kind})
}

func TestIndependentResourcesRunInParallel(t *testing.T) {
	for _, tc := range []struct {
		parallel int
		want     int32
	}{{1, 1}, {4, 2}} {
		var running, max atomic.Int32
		reg := action.NewRegistry()
		reg.Register(concStep{"t.key", []string{finding.KindAccessKey}, &running, &max, tc.want})
		reg.Register(concStep{"t.user", []string{finding.KindUser}, &running, &max, tc.want})
		cfg := `
rules:
  - name: r
    pattern: {source: [aws.guardduty]}
    mode: enforce
    steps: [{step: t.key}, {step: t.user}]
execution: {parallel: ` + string(rune('0'+tc.parallel)) + `}
`
		p, err := policy.Parse("c.yaml", []byte(cfg), reg)
		if err != nil {
			t.Fatal(err)
		}
		fx := newFixture(t, "rules: [{name: x, pattern: {source: [x]}, steps: [{step: record}]}]")
		fx.eng.Policy, fx.eng.Registry = p, reg
		f := loadFinding(t, "UnauthorizedAccess_IAMUser_TorIPCaller__elastic.json", real("p1"))
		res, _, err := fx.eng.Run(context.Background(), []*finding.Finding{f}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		o := res[0].Outcome
		if o == nil || o.Status != store.DecisionDone || len(o.Steps) != 2 {
			t.Fatalf("outcome %+v", o)
		}
		if got := max.Load(); got != tc.want {
			t.Errorf("parallel %d: %d steps at once, want %d", tc.parallel, got, tc.want)
		}
	}
}
