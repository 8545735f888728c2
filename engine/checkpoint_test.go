package engine

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/store"
)

// flipWorld is the state flipStep changes: one value per step key, and
// how many times a change was made.
type flipWorld struct {
	mu      sync.Mutex
	value   map[string]string
	changes map[string]int // per step key
	// at, when set, is called at the named point of Do (before-checkpoint,
	// after-checkpoint, after-change); it may cancel the run's context.
	at func(point string)
	// lose makes Do fail after its change, as when the answer is lost.
	lose bool
}

func (w *flipWorld) get(k string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if v, ok := w.value[k]; ok {
		return v
	}
	return "open"
}

func (w *flipWorld) hook(p string) {
	if w.at != nil {
		w.at(p)
	}
}

// flipStep is a reversible step on flipWorld that follows the checkpoint
// contract: it journals the value before changing it, and an attempt after
// a crash takes the earlier attempt's checkpoint as its prior state.
type flipStep struct {
	name string
	w    *flipWorld
}

type flipPrior struct {
	Value string `json:"value"`
}

func (s flipStep) Spec() action.Spec {
	return action.Spec{Name: s.name, Effect: action.Reversible, Available: true}
}
func (s flipStep) Plan(context.Context, *action.Request) ([]action.Call, error) { return nil, nil }

func (s flipStep) Do(ctx context.Context, req *action.Request) action.Result {
	s.w.hook("before-checkpoint")
	if ctx.Err() != nil {
		return action.Failed(ctx.Err(), true)
	}
	cur := s.w.get(req.Key)
	prior := flipPrior{Value: cur}
	if len(req.Prior) > 0 {
		if err := json.Unmarshal(req.Prior, &prior); err != nil {
			return action.Failed(err, false)
		}
	} else if cur == "closed" {
		return action.Skipped("already closed")
	}
	if err := action.SaveCheckpoint(ctx, req, prior); err != nil {
		return action.Failed(err, true)
	}
	s.w.hook("after-checkpoint")
	if ctx.Err() != nil {
		return action.Failed(ctx.Err(), true)
	}
	if cur != "closed" {
		s.w.mu.Lock()
		s.w.value[req.Key] = "closed"
		s.w.changes[req.Key]++
		s.w.mu.Unlock()
	}
	s.w.hook("after-change")
	if s.w.lose {
		return action.Failed(errors.New("the answer was lost"), false)
	}
	b, _ := json.Marshal(prior)
	return action.Result{Status: action.StatusDone, Prior: b}
}

func (s flipStep) Undo(_ context.Context, req *action.Request) action.Result {
	var p flipPrior
	if err := json.Unmarshal(req.Prior, &p); err != nil {
		return action.Failed(err, false)
	}
	s.w.mu.Lock()
	s.w.value[req.Key] = p.Value
	s.w.mu.Unlock()
	return action.Done(nil)
}

// TestCheckpointCrashAndRelease kills an execution (its context is
// cancelled, so the ledger write of the step's end fails, as after a
// SIGKILL) at each point of a reversible step, then releases at once, or
// runs again and then releases: the state is always the one from before,
// a re-run never repeats the change, and a released execution does not
// resume.
func TestCheckpointCrashAndRelease(t *testing.T) {
	for _, tc := range []struct {
		name   string
		kill   string // the point of the first step where the run dies
		lose   bool   // the first step fails after its change instead
		rerun  bool
		state1 string // the first step's ledger state after the first run
	}{
		{name: "before its checkpoint, release", kill: "before-checkpoint", state1: store.StepStarted},
		{name: "after its checkpoint, release", kill: "after-checkpoint", state1: store.StepStarted},
		{name: "after its change, release", kill: "after-change", state1: store.StepStarted},
		{name: "after its change, run again, release", kill: "after-change", rerun: true, state1: store.StepStarted},
		{name: "failed after its change, release", lose: true, state1: store.StepFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &flipWorld{value: map[string]string{}, changes: map[string]int{}}
			reg := action.NewRegistry()
			for _, n := range []string{"t.first", "t.second"} {
				if err := reg.Register(flipStep{n, w}); err != nil {
					t.Fatal(err)
				}
			}
			p, err := policy.Parse("c.yaml", []byte(`
rules:
  - name: r
    pattern: {source: [aws.guardduty]}
    mode: enforce
    steps: [{step: t.first}, {step: t.second, on_failure: continue}]
execution: {backoff: 1ms, retries: 0}
`), reg)
			if err != nil {
				t.Fatal(err)
			}
			fx := newFixture(t, "rules: [{name: x, pattern: {source: [x]}, steps: [{step: record}]}]")
			fx.eng.Policy, fx.eng.Registry = p, reg
			f := loadFinding(t, "UnauthorizedAccess_IAMUser_TorIPCaller__elastic.json", real("c1"))
			ctx, kill := context.WithCancel(context.Background())
			defer kill()
			first := ""
			w.at = func(point string) {
				if first == "" {
					first = "seen"
				}
				if point == tc.kill && first == "seen" {
					first = "killed"
					kill()
				}
			}
			w.lose = tc.lose
			_, _, err = fx.eng.Run(ctx, []*finding.Finding{f}, Options{})
			if tc.kill != "" && err == nil {
				t.Fatal("the killed run reported no error")
			}
			w.at, w.lose = nil, false
			steps := decisionSteps(t, fx)
			if steps[0].State != tc.state1 {
				t.Fatalf("first step %s after the first run, want %s", steps[0].State, tc.state1)
			}
			if tc.kill == "after-checkpoint" || tc.kill == "after-change" || tc.lose {
				if string(steps[0].Prior) != `{"value":"open"}` {
					t.Errorf("no checkpoint in the ledger: %q", steps[0].Prior)
				}
			}
			if tc.rerun {
				if _, _, err := fx.eng.Run(context.Background(), nil, Options{}); err != nil {
					t.Fatal(err)
				}
				steps = decisionSteps(t, fx)
				if steps[0].State != store.StepDone || string(steps[0].Prior) != `{"value":"open"}` {
					t.Errorf("after the re-run: %s, prior %s", steps[0].State, steps[0].Prior)
				}
				if n := w.changes[steps[0].Key]; n != 1 {
					t.Errorf("the first step's change was made %d times", n)
				}
			}
			rel, err := fx.eng.Release(context.Background(), ReleaseSelector{Finding: f.ID})
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range w.value {
				if v != "open" {
					t.Errorf("%s is %s after release: %+v", k, v, rel)
				}
			}
			for _, s := range decisionSteps(t, fx) {
				if !store.Ended(s.State) {
					t.Errorf("%s still %s after release", s.Name, s.State)
				}
			}
			// a later run resumes nothing: what was released stays released
			changes := maps.Clone(w.changes)
			if _, _, err := fx.eng.Run(context.Background(), nil, Options{}); err != nil {
				t.Fatal(err)
			}
			for k, v := range w.value {
				if v != "open" {
					t.Errorf("%s is %s after a run that followed the release", k, v)
				}
			}
			if !maps.Equal(w.changes, changes) {
				t.Errorf("the run after the release changed something (%v → %v)", changes, w.changes)
			}
			again, err := fx.eng.Release(context.Background(), ReleaseSelector{Finding: f.ID})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range again {
				if r.Status != ReleaseAlready && r.Status != ReleaseNothing {
					t.Errorf("second release: %s %s %s", r.Step, r.Status, r.Reason)
				}
			}
		})
	}
}

func decisionSteps(t *testing.T, fx *fixture) []*store.Step {
	t.Helper()
	all, err := fx.db.Steps(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*store.Step
	for _, s := range all {
		if strings.HasPrefix(s.Name, "t.") {
			out = append(out, s)
		}
	}
	if len(out) != 2 {
		t.Fatalf("%d steps", len(out))
	}
	if out[0].Name != "t.first" {
		out[0], out[1] = out[1], out[0]
	}
	return out
}
