package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/store"
)

// Outcome is what Execute did for one decision.
type Outcome struct {
	DecisionID string        `json:"decision_id"`
	Status     string        `json:"status"` // done | failed
	Steps      []*store.Step `json:"steps"`
}

// Failed counts failed steps.
func (o *Outcome) Failed() int {
	n := 0
	for _, s := range o.Steps {
		if s.State == store.StepFailed {
			n++
		}
	}
	return n
}

// Execute runs the journaled steps of an approved (or interrupted) decision.
// Each step is marked started in the ledger before it runs and ended after;
// a step found started (a crash) is run again, which is safe because Do is
// idempotent; a step found ended is never run again. Steps on different
// resources run in parallel (execution.parallel); steps on one resource run
// in plan order; steps about the finding itself run last.
func (e *Engine) Execute(ctx context.Context, decisionID string) (*Outcome, error) {
	led := e.Ledger
	if led == nil {
		return nil, errors.New("execute: no ledger")
	}
	dec, err := led.Decision(ctx, decisionID)
	if err != nil {
		return nil, err
	}
	switch dec.Status {
	case store.DecisionApproved:
		if err := led.SetDecisionStatus(ctx, dec.ID, []string{store.DecisionApproved}, store.DecisionRunning, e.now()); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
		_ = led.Append(ctx, &store.Event{At: e.now(), Kind: "decision.running", FindingKey: dec.FindingKey, DecisionID: dec.ID, Message: "executing " + dec.ID})
	case store.DecisionRunning:
		_ = led.Append(ctx, &store.Event{At: e.now(), Kind: "decision.resumed", FindingKey: dec.FindingKey, DecisionID: dec.ID, Message: "resuming an interrupted execution"})
	default:
		return nil, fmt.Errorf("decision %s is %s: only approved decisions run", dec.ID, dec.Status)
	}
	plan, err := UnmarshalPlan(dec.Plan)
	if err != nil {
		return nil, fmt.Errorf("decision %s: plan: %w", dec.ID, err)
	}
	fr, err := led.Finding(ctx, dec.FindingKey)
	if err != nil {
		return nil, err
	}
	fs, errs := finding.ParseBytes("ledger:"+dec.FindingKey, fr.Raw)
	if len(fs) != 1 {
		return nil, fmt.Errorf("decision %s: the recorded finding cannot be read: %v", dec.ID, errors.Join(errs...))
	}
	f := fs[0]
	planned := map[string]*PlannedStep{}
	res := f.Resources()
	for _, ps := range plan.Steps {
		planned[ps.Key] = ps
		if ps.Target == nil && ps.TargetID != "" {
			for i := range res {
				if action.TargetID(&res[i]) == ps.TargetID {
					ps.Target = &res[i]
					break
				}
			}
		}
	}
	journal, err := led.DecisionSteps(ctx, dec.ID)
	if err != nil {
		return nil, err
	}
	// group by target: one sequence per resource, finding-level steps last
	var order []string
	groups := map[string][]*store.Step{}
	var tail []*store.Step
	var notifySteps []*store.Step
	for _, s := range journal {
		if s.Name == "notify" && s.Target == "" {
			notifySteps = append(notifySteps, s) // announces the others: runs last
			continue
		}
		if s.Target == "" {
			tail = append(tail, s)
			continue
		}
		if _, ok := groups[s.Target]; !ok {
			order = append(order, s.Target)
		}
		groups[s.Target] = append(groups[s.Target], s)
	}
	tail = append(tail, notifySteps...)
	// announce hands the decision's announcement to the notifier, with
	// every step's state as journaled now; self is the notify step.
	var announce func(self, route, message string) bool
	if e.Notify != nil {
		announce = func(self, route, message string) bool {
			steps, err := led.DecisionSteps(ctx, dec.ID)
			if err != nil {
				e.log().Warn("decision not announced", "decision", dec.ID, "error", err.Error())
				return false
			}
			ev := e.journalEvent(f, plan, steps, "", "", self)
			if route != "" {
				ev.Routes = []string{route}
			} else {
				ev.Routes = nil
			}
			if message != "" {
				ev.Reason = message + "; " + ev.Reason
			}
			return e.submit(ev)
		}
	}
	par := e.Policy.Execution.Parallel
	if par < 1 {
		par = 1
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	errc := make(chan error, len(order)+1)
	for _, t := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(seq []*store.Step) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := e.runSequence(ctx, f, planned, seq, announce); err != nil {
				errc <- err
			}
		}(groups[t])
	}
	wg.Wait()
	if err := e.runSequence(ctx, f, planned, tail, announce); err != nil {
		errc <- err
	}
	close(errc)
	var runErr error
	for err := range errc {
		runErr = errors.Join(runErr, err)
	}
	if runErr != nil {
		return nil, runErr // the decision stays running: the next run resumes it
	}
	out := &Outcome{DecisionID: dec.ID}
	if out.Steps, err = led.DecisionSteps(ctx, dec.ID); err != nil {
		return nil, err
	}
	out.Status = store.DecisionDone
	if out.Failed() > 0 {
		out.Status = store.DecisionFailed
	}
	if err := led.SetDecisionStatus(ctx, dec.ID, []string{store.DecisionRunning}, out.Status, e.now()); err != nil && !errors.Is(err, store.ErrConflict) {
		return nil, err
	}
	_ = led.Append(ctx, &store.Event{At: e.now(), Kind: "decision." + out.Status, FindingKey: dec.FindingKey, DecisionID: dec.ID,
		Message: fmt.Sprintf("%d step(s), %d failed", len(out.Steps), out.Failed())})
	if !announcedByStep(out.Steps) {
		e.submit(e.journalEvent(f, plan, out.Steps, "", "", ""))
	}
	return out, nil
}

// runSequence runs steps in order; a failed step with on_failure stop skips
// the rest of the sequence. Ledger errors abort (the decision stays
// running and is resumed later); step failures do not.
func (e *Engine) runSequence(ctx context.Context, f *finding.Finding, planned map[string]*PlannedStep, seq []*store.Step,
	announce func(self, route, message string) bool) error {
	stopped := ""
	for _, s := range seq {
		if err := ctx.Err(); err != nil {
			return err
		}
		cur, err := e.Ledger.Step(ctx, s.Key)
		if err != nil {
			return err
		}
		ps := planned[s.Key]
		if store.Ended(cur.State) {
			if cur.State == store.StepFailed && (ps == nil || ps.OnFailure != "continue") {
				stopped = cur.Name
			}
			continue
		}
		if stopped != "" && cur.Name != "notify" { // a failure is announced too
			if err := e.endWithout(ctx, cur, store.StepSkipped, "not run: the earlier step "+stopped+" failed (on_failure: stop)"); err != nil {
				return err
			}
			continue
		}
		if ps == nil {
			if err := e.endWithout(ctx, cur, store.StepFailed, "the step is not in the decision's plan"); err != nil {
				return err
			}
			continue
		}
		state, err := e.runStep(ctx, f, ps, cur, announce)
		if err != nil {
			return err
		}
		if state == store.StepFailed && ps.OnFailure != "continue" {
			stopped = ps.Name
		}
	}
	return nil
}

func (e *Engine) endWithout(ctx context.Context, s *store.Step, state, reason string) error {
	if _, err := e.Ledger.StartStep(ctx, s.Key, e.now()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil
		}
		return err
	}
	s.State, s.Reason, s.EndedAt = state, reason, e.now()
	if err := e.Ledger.EndStep(ctx, s); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	return nil
}

// runStep runs one step with retries and a timeout per attempt, journaling
// it, and returns its final state.
func (e *Engine) runStep(ctx context.Context, f *finding.Finding, ps *PlannedStep, cur *store.Step,
	announce func(self, route, message string) bool) (string, error) {
	led := e.Ledger
	ex := e.Policy.Execution
	step, ok := e.Registry.Lookup(ps.Name)
	var params action.Params
	var perr error
	if ok {
		raw := map[string]any{}
		if len(cur.Params) > 0 {
			_ = json.Unmarshal(cur.Params, &raw)
		}
		var pes []*action.ParamError
		params, pes = action.ParseParams(step.Spec(), raw)
		if len(pes) > 0 {
			perr = pes[0]
		}
	}
	retries := ex.Retries
	if ps.Retries != nil {
		retries = *ps.Retries
	}
	timeout := time.Duration(ex.Timeout)
	if ps.Timeout != "" {
		if d, err := time.ParseDuration(ps.Timeout); err == nil && d > 0 {
			timeout = d
		}
	}
	backoff := time.Duration(ex.Backoff)
	var res action.Result
	// checkpoint is the prior state journaled by this step's attempts (an
	// earlier process's, from StartStep, then this one's): a failure keeps
	// it, so a release restores what a failed attempt may have changed.
	var (
		mu         sync.Mutex
		checkpoint json.RawMessage
	)
	journal := func(ctx context.Context, prior json.RawMessage) error {
		if err := led.CheckpointStep(ctx, cur.Key, prior); err != nil {
			return err
		}
		mu.Lock()
		checkpoint = prior
		mu.Unlock()
		return nil
	}
	for attempt := 0; ; attempt++ {
		st, err := led.StartStep(ctx, cur.Key, e.now())
		if errors.Is(err, store.ErrConflict) {
			return st.State, nil // ended meanwhile (another process)
		}
		if err != nil {
			return "", err
		}
		mu.Lock()
		checkpoint = st.Prior
		mu.Unlock()
		_ = led.Append(ctx, &store.Event{At: e.now(), Kind: "step.started", FindingKey: st.FindingKey, DecisionID: st.DecisionID, StepKey: st.Key,
			Message: fmt.Sprintf("%s attempt %d", st.Name, st.Attempts)})
		switch {
		case !ok:
			res = action.Failed(fmt.Errorf("step %s is not registered in this build", ps.Name), false)
		case perr != nil:
			res = action.Failed(fmt.Errorf("parameters: %w", perr), false)
		default:
			req := &action.Request{Key: cur.Key, Finding: f, Target: ps.Target, Params: params, Prior: st.Prior, Checkpoint: journal}
			if ps.Name == "notify" && announce != nil {
				req.Announce = func(route, message string) bool { return announce(cur.Key, route, message) }
			}
			res = e.attempt(ctx, step, req, timeout)
		}
		if res.Status != action.StatusFailed || !res.Retry || attempt >= retries || ctx.Err() != nil {
			break
		}
		e.log().Info("step failed, retrying", "step", ps.Name, "target", ps.TargetID, "attempt", st.Attempts, "error", res.Reason)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
		backoff *= 2
	}
	if ctx.Err() != nil && res.Status == action.StatusFailed {
		return "", ctx.Err() // interrupted: leave it started, resumed next run
	}
	end := &store.Step{Key: cur.Key, Prior: res.Prior, Result: res.Output, Reason: res.Reason, EndedAt: e.now()}
	switch res.Status {
	case action.StatusDone:
		end.State = store.StepDone
	case action.StatusSkipped:
		end.State = store.StepSkipped
	default:
		end.State = store.StepFailed
		if end.Reason == "" {
			end.Reason = "failed"
		}
		if len(end.Prior) == 0 {
			mu.Lock()
			end.Prior = checkpoint // the change may have been made: release restores it
			mu.Unlock()
		}
	}
	if err := led.EndStep(ctx, end); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return end.State, nil
		}
		return "", err
	}
	_ = led.Append(ctx, &store.Event{At: e.now(), Kind: "step." + end.State, FindingKey: cur.FindingKey, DecisionID: cur.DecisionID, StepKey: cur.Key,
		Message: strings.TrimSpace(ps.Name+" "+ps.TargetID) + ": " + end.State + reasonSuffix(end.Reason)})
	return end.State, nil
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " (" + r + ")"
}

// attempt runs Do once with a timeout, turning a panic into a failure.
func (e *Engine) attempt(ctx context.Context, step action.Step, req *action.Request, timeout time.Duration) (res action.Result) {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			res = action.Failed(fmt.Errorf("step %s panicked: %v", step.Spec().Name, r), false)
		}
	}()
	res = step.Do(actx, req)
	if res.Status == "" {
		res = action.Failed(errors.New("the step returned no status"), false)
	}
	if res.Status == action.StatusFailed && actx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		res.Retry = true
		res.Reason = fmt.Sprintf("timed out after %s: %s", timeout, res.Reason)
	}
	return res
}
