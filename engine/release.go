package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/store"
)

// Release statuses of one step.
const (
	ReleaseUndone   = "undone"           // Undo restored the recorded state
	ReleaseNothing  = "nothing-to-undo"  // the step changed nothing (skipped, read-only)
	ReleaseAlready  = "already-released" // an earlier release undid it
	ReleaseCannot   = "cannot-undo"      // irreversible, or Undo said it cannot
	ReleaseFailed   = "failed"           // Undo failed: the containment is still (partly) in place
	ReleaseNotFound = "unknown-step"     // the step is not registered in this build
)

// Released is what Release did with one journaled step.
type Released struct {
	Key     string `json:"key"`
	Finding string `json:"finding"`
	Step    string `json:"step"`
	Target  string `json:"target,omitempty"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
}

// ReleaseSelector names what to release: the steps of one finding (its
// id or account/region/id key), or every step whose target is a resource
// (ARN or id).
type ReleaseSelector struct {
	Finding  string
	Resource string
}

// Release undoes the journaled steps selected, in reverse order, from
// their recorded prior state. A step released before is not undone again;
// steps that cannot be undone are reported as such. Each undo is recorded
// in the audit trail (step.released / step.release-failed).
//
// A step interrupted by a crash (left started) or failed after its
// checkpoint is undone from the checkpoint, since its change may have been
// made; an interrupted step is then ended, and the steps of an unfinished
// execution that had not changed anything are ended unrun, so that resuming
// the execution later does not contain again what was released. Release an
// execution still in progress in another process only once it stopped.
func (e *Engine) Release(ctx context.Context, sel ReleaseSelector) ([]*Released, error) {
	led := e.Ledger
	if led == nil {
		return nil, errors.New("release: no ledger")
	}
	if (sel.Finding == "") == (sel.Resource == "") {
		return nil, errors.New("release: name a finding or a resource")
	}
	var steps []*store.Step
	if sel.Finding != "" {
		keys, err := e.findingKeys(ctx, sel.Finding)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			ss, err := led.Steps(ctx, store.Filter{FindingKey: k})
			if err != nil {
				return nil, err
			}
			steps = append(steps, ss...)
		}
	} else {
		all, err := led.Steps(ctx, store.Filter{})
		if err != nil {
			return nil, err
		}
		for _, s := range all {
			if s.Target != "" && (s.Target == sel.Resource || strings.HasSuffix(s.Target, "/"+sel.Resource) || strings.HasSuffix(s.Target, ":"+sel.Resource)) {
				steps = append(steps, s)
			}
		}
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("release: no journaled step for %s", sel.Finding+sel.Resource)
	}
	// reverse order: latest decision first, last step first
	sort.SliceStable(steps, func(i, j int) bool {
		if !steps[i].PlannedAt.Equal(steps[j].PlannedAt) {
			return steps[i].PlannedAt.After(steps[j].PlannedAt)
		}
		if steps[i].DecisionID != steps[j].DecisionID {
			return steps[i].DecisionID > steps[j].DecisionID
		}
		return steps[i].Seq > steps[j].Seq
	})
	released := map[string]bool{}
	findings := map[string]*finding.Finding{}
	plans := map[string]*Plan{}
	var out []*Released
	for _, s := range steps {
		r := &Released{Key: s.Key, Finding: s.FindingKey, Step: s.Name, Target: s.Target}
		out = append(out, r)
		if _, seen := released[s.FindingKey]; !seen {
			evs, err := led.Events(ctx, store.Filter{FindingKey: s.FindingKey, Status: "step.released"})
			if err != nil {
				return nil, err
			}
			for _, ev := range evs {
				released[ev.StepKey] = true
			}
			released[s.FindingKey] = true
		}
		// A step interrupted (started: a crash) or failed after its
		// checkpoint may have made its change: it is undone from the
		// checkpoint like a done step.
		checkpointed := len(s.Prior) > 0 && (s.State == store.StepStarted || s.State == store.StepFailed)
		switch {
		case released[s.Key]:
			r.Status, r.Reason = ReleaseAlready, "released before"
			continue
		case s.State == store.StepPlanned || (s.State == store.StepStarted && !checkpointed):
			if err := e.releaseUnrun(ctx, s, r); err != nil {
				return nil, err
			}
			continue
		case s.State != store.StepDone && !checkpointed:
			r.Status, r.Reason = ReleaseNothing, "the step is "+s.State+": it changed nothing"
			continue
		}
		step, ok := e.Registry.Lookup(s.Name)
		if !ok {
			r.Status, r.Reason = ReleaseNotFound, "step "+s.Name+" is not registered in this build"
			continue
		}
		spec := step.Spec()
		if spec.Effect == action.ReadOnly && len(s.Prior) == 0 {
			r.Status, r.Reason = ReleaseNothing, "read-only: nothing to undo"
			continue
		}
		f, err := e.ledgerFinding(ctx, findings, s.FindingKey)
		if err != nil {
			return nil, err
		}
		pl, err := e.ledgerPlan(ctx, plans, s.DecisionID)
		if err != nil {
			return nil, err
		}
		req := &action.Request{Key: s.Key, Finding: f, Prior: s.Prior}
		raw := map[string]any{}
		if len(s.Params) > 0 {
			_ = json.Unmarshal(s.Params, &raw)
		}
		req.Params, _ = action.ParseParams(spec, raw)
		for _, ps := range pl.Steps {
			if ps.Key == s.Key && ps.Target != nil {
				req.Target = ps.Target
			}
		}
		if req.Target == nil && s.Target != "" {
			res := f.Resources() // the ledger keeps the finding's resources once: find the step's by its id
			for i := range res {
				if action.TargetID(&res[i]) == s.Target {
					req.Target = &res[i]
				}
			}
		}
		res := e.undo(ctx, step, req)
		ev := &store.Event{At: e.now(), FindingKey: s.FindingKey, DecisionID: s.DecisionID, StepKey: s.Key, Actor: "release"}
		switch {
		case res.Status == action.StatusFailed:
			r.Status, r.Reason = ReleaseFailed, res.Reason
			ev.Kind, ev.Message = "step.release-failed", s.Name+" "+s.Target+": "+res.Reason
		case spec.Effect == action.Irreversible || (res.Status == action.StatusSkipped && strings.HasPrefix(res.Reason, "cannot be undone")):
			r.Status, r.Reason = ReleaseCannot, res.Reason
			ev.Kind, ev.Message = "step.released", s.Name+" "+s.Target+": cannot be undone ("+res.Reason+")"
		case res.Status == action.StatusSkipped:
			r.Status, r.Reason = ReleaseNothing, res.Reason
			ev.Kind, ev.Message = "step.released", s.Name+" "+s.Target+": nothing to undo ("+res.Reason+")"
		default:
			r.Status = ReleaseUndone
			if len(res.Output) > 0 {
				var o map[string]any
				if json.Unmarshal(res.Output, &o) == nil {
					if n, ok := o["note"].(string); ok {
						r.Reason = n
					}
				}
			}
			ev.Kind, ev.Message, ev.Data = "step.released", s.Name+" "+s.Target+": undone", res.Output
			if s.State != store.StepDone {
				ev.Message += " (from the checkpoint of its " + s.State + " attempt)"
			}
		}
		if s.State == store.StepStarted && ev.Kind == "step.released" {
			// the interrupted step is over: a resumed execution must not redo it
			if err := e.endWithout(ctx, s, store.StepFailed, "interrupted before it finished, then released: the checkpointed prior state was restored"); err != nil {
				return nil, err
			}
		}
		if err := led.Append(ctx, ev); err != nil {
			return nil, err
		}
	}
	e.announceRelease(findings, plans, steps, out)
	return out, nil
}

// announceRelease announces, per finding, a release that changed something
// (a step undone, or an undo that failed): PagerDuty resolves the incident
// opened for the finding, the other channels say what was restored. A
// release that found nothing left to undo is not announced again.
func (e *Engine) announceRelease(findings map[string]*finding.Finding, plans map[string]*Plan, steps []*store.Step, out []*Released) {
	if e.Notify == nil {
		return
	}
	decision := map[string]string{} // finding key → its latest decision
	for _, s := range steps {
		if _, ok := decision[s.FindingKey]; !ok {
			decision[s.FindingKey] = s.DecisionID // steps are sorted latest first
		}
	}
	var order []string
	byFinding := map[string][]*Released{}
	for _, r := range out {
		if _, ok := byFinding[r.Finding]; !ok {
			order = append(order, r.Finding)
		}
		byFinding[r.Finding] = append(byFinding[r.Finding], r)
	}
	for _, key := range order {
		f := findings[key]
		rs := byFinding[key]
		changed, failed := false, false
		for _, r := range rs {
			changed = changed || r.Status == ReleaseUndone
			failed = failed || r.Status == ReleaseFailed
		}
		if f == nil || !(changed || failed) {
			continue
		}
		ev := &notify.Event{Kind: notify.KindRelease, DecisionID: decision[key], Outcome: "released", At: e.now(),
			Finding: notify.FromFinding(f), Reason: "the containment was released: the recorded prior state is restored"}
		if failed {
			ev.Outcome, ev.Reason = OutcomeFailed, "release failed for some steps: the containment is still partly in place (reflex release again retries them)"
		}
		if pl := plans[decision[key]]; pl != nil {
			ev.Mode = pl.Mode
			for _, r := range pl.Rules {
				if r.Matched && ev.Rule == "" {
					ev.Rule = r.Rule
				}
			}
		}
		for _, r := range rs {
			st := notify.Step{Name: r.Step, Target: r.Target, Reason: r.Reason}
			switch r.Status {
			case ReleaseUndone:
				st.Status = notify.StepDone
			case ReleaseFailed:
				st.Status, st.Error = notify.StepFailed, r.Reason
			default:
				st.Status = notify.StepSkipped
				if st.Reason == "" {
					st.Reason = r.Status
				}
			}
			ev.Steps = append(ev.Steps, st)
		}
		e.submit(ev)
	}
}

// releaseUnrun releases a step that changed nothing yet: never started, or
// interrupted before its first checkpoint (a reversible step checkpoints
// before any change). If its decision is still to run (approved, or running
// and interrupted), the step is ended as skipped, so that a resumed
// execution does not contain again what was released; a step of a decision
// waiting for approval is left to that decision.
func (e *Engine) releaseUnrun(ctx context.Context, s *store.Step, r *Released) error {
	r.Status, r.Reason = ReleaseNothing, "the step is "+s.State+": it changed nothing"
	end, why := store.StepSkipped, "not run: the finding's containment was released before this step ran"
	if s.State == store.StepStarted {
		r.Reason = "interrupted before it changed anything"
		end, why = store.StepFailed, "interrupted before its first change, then released"
		if st, ok := e.Registry.Lookup(s.Name); ok && st.Spec().Effect != action.Reversible {
			// no checkpoint to go by: an irreversible step may have run
			r.Reason, why = "interrupted: it may have run", "interrupted, then released: it may have run"
			if st.Spec().Effect == action.Irreversible {
				r.Status, r.Reason = ReleaseCannot, r.Reason+", and cannot be undone"
			}
		}
	}
	d, err := e.Ledger.Decision(ctx, s.DecisionID)
	if err != nil {
		return err
	}
	if d.Status != store.DecisionApproved && d.Status != store.DecisionRunning {
		return nil
	}
	if err := e.endWithout(ctx, s, end, why); err != nil {
		return err
	}
	r.Reason += "; it will not run after this release"
	return e.Ledger.Append(ctx, &store.Event{At: e.now(), Kind: "step.released", FindingKey: s.FindingKey, DecisionID: s.DecisionID,
		StepKey: s.Key, Actor: "release", Message: s.Name + " " + s.Target + ": " + r.Reason})
}

func (e *Engine) undo(ctx context.Context, step action.Step, req *action.Request) (res action.Result) {
	defer func() {
		if r := recover(); r != nil {
			res = action.Failed(fmt.Errorf("undo of %s panicked: %v", step.Spec().Name, r), false)
		}
	}()
	return step.Undo(ctx, req)
}

// findingKeys resolves a finding id or key to the ledger's keys.
func (e *Engine) findingKeys(ctx context.Context, id string) ([]string, error) {
	if _, err := e.Ledger.Finding(ctx, id); err == nil {
		return []string{id}, nil
	}
	fs, err := e.Ledger.Findings(ctx, store.Filter{})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, f := range fs {
		if f.ID == id || f.Key == id {
			keys = append(keys, f.Key)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("release: finding %s is not in the ledger", id)
	}
	return keys, nil
}

func (e *Engine) ledgerFinding(ctx context.Context, cache map[string]*finding.Finding, key string) (*finding.Finding, error) {
	if f, ok := cache[key]; ok {
		return f, nil
	}
	fr, err := e.Ledger.Finding(ctx, key)
	if err != nil {
		return nil, err
	}
	fs, errs := finding.ParseBytes("ledger:"+key, fr.Raw)
	if len(fs) != 1 {
		return nil, fmt.Errorf("finding %s: the recorded finding cannot be read: %v", key, errors.Join(errs...))
	}
	cache[key] = fs[0]
	return fs[0], nil
}

func (e *Engine) ledgerPlan(ctx context.Context, cache map[string]*Plan, id string) (*Plan, error) {
	if p, ok := cache[id]; ok {
		return p, nil
	}
	d, err := e.Ledger.Decision(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := UnmarshalPlan(d.Plan)
	if err != nil {
		return nil, err
	}
	cache[id] = p
	return p, nil
}
