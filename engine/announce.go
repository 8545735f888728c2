package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/store"
)

// Announcer takes the engine's announcements: *notify.Dispatcher. Submit
// never blocks and reports whether the event was queued.
type Announcer interface {
	Submit(ev *notify.Event) bool
}

// Outcomes of an announced decision (notify.Event.Outcome).
const (
	OutcomeWaiting  = "waiting-approval"
	OutcomeDryRun   = "dry-run"
	OutcomeDone     = "done"
	OutcomeFailed   = "failed"
	OutcomeApproved = "approved" // approved, runs at the next `reflex run`
	OutcomeDenied   = "denied"
	OutcomeExpired  = "expired"
)

// Announcement model (one message per decision and stage, never two):
//
//   - recorded pending approval, or dry-run (only routes listing dry-run in
//     match.modes take those): announced by the engine once recorded;
//   - executed: announced by the decision's notify step when its plan has
//     one (it runs after every other step, so the message holds their final
//     statuses); otherwise by the engine when the execution ends;
//   - denied, expired, approved without running: announced by the engine.
//
// The route of a planned notify step is named in every announcement of the
// decision (Event.Routes).

// submit hands ev to the announcer, if any.
func (e *Engine) submit(ev *notify.Event) bool {
	if e.Notify == nil || ev == nil {
		return false
	}
	return e.Notify.Submit(ev)
}

// newEvent fills what every announcement of a decision says.
func (e *Engine) newEvent(f *finding.Finding, pl *Plan, outcome string) *notify.Event {
	ev := &notify.Event{Kind: notify.KindDecision, DecisionID: pl.DecisionID, Mode: pl.Mode, Outcome: outcome,
		Reason: pl.Summary, At: e.now(), Finding: notify.FromFinding(f)}
	for _, r := range pl.Rules {
		if !r.Matched {
			continue
		}
		if ev.Rule == "" {
			ev.Rule = r.Rule
		} else {
			ev.AlsoRules = append(ev.AlsoRules, r.Rule)
		}
	}
	for _, g := range pl.Guards {
		if g.Verdict == "hold" {
			ev.Reason += "; " + g.Reason
		}
	}
	if route := notifyStepRoute(pl); route != "" {
		ev.Routes = []string{route}
	}
	return ev
}

// notifyStepRoute is the route named by the plan's notify step (one per
// finding: steps are merged by name and target), "" for the default.
func notifyStepRoute(pl *Plan) string {
	for _, ps := range pl.Steps {
		if ps.Name != "notify" || ps.Status != PlanPlanned {
			continue
		}
		if r, _ := ps.Params["route"].(string); r != "default" {
			return r
		}
	}
	return ""
}

// announcePlan announces a recorded decision that waits for approval or
// only plans (dry-run); other decisions are announced when they run.
func (e *Engine) announcePlan(f *finding.Finding, pl *Plan) {
	if e.Notify == nil {
		return
	}
	var outcome, status string
	switch pl.Status {
	case store.DecisionPending:
		outcome, status = OutcomeWaiting, notify.StepWaiting
	case store.DecisionDryRun:
		outcome, status = OutcomeDryRun, notify.StepPlanned
	default:
		return
	}
	ev := e.newEvent(f, pl, outcome)
	for _, ps := range pl.Steps {
		st := notify.Step{Name: ps.Name, Target: ps.TargetID, Status: status, Reason: ps.Reason}
		switch ps.Status {
		case PlanDropped, PlanAlready:
			st.Status = notify.StepSkipped
		}
		ev.Steps = append(ev.Steps, st)
	}
	if pl.Status == store.DecisionPending {
		ev.Reason += fmt.Sprintf("; approve with: reflex approve %s --by NAME (or reflex deny %s)", pl.DecisionID, pl.DecisionID)
	}
	e.submit(ev)
}

// journalEvent announces a decision from its journal: each step's state as
// the ledger holds it. self, when set, is the notify step announcing it
// (started in the journal): shown as done, queued.
func (e *Engine) journalEvent(f *finding.Finding, pl *Plan, steps []*store.Step, outcome, cancelled, self string) *notify.Event {
	ev := e.newEvent(f, pl, outcome)
	changed := false
	failed := false
	for _, s := range steps {
		st := notify.Step{Name: s.Name, Target: s.Target}
		switch s.State {
		case store.StepDone:
			st.Status, st.Reason = notify.StepDone, s.Reason
			if ps := planStep(pl, s.Key); ps != nil && ps.Effect != action.ReadOnly {
				changed = true
			}
		case store.StepSkipped:
			st.Status, st.Reason = notify.StepSkipped, s.Reason
		case store.StepFailed:
			st.Status, st.Error = notify.StepFailed, s.Reason
			failed = true
		case store.StepCancelled:
			st.Status, st.Reason = notify.StepSkipped, s.Reason
		default: // planned, started
			switch {
			case s.Key == self:
				st.Status, st.Reason = notify.StepDone, "this message (queued)"
			case cancelled != "":
				st.Status, st.Reason = notify.StepSkipped, cancelled
			case outcome == OutcomeApproved:
				st.Status, st.Reason = notify.StepPlanned, "runs at the next reflex run"
			default:
				st.Status, st.Reason = notify.StepPlanned, "not ended yet"
			}
		}
		ev.Steps = append(ev.Steps, st)
	}
	if outcome == "" {
		ev.Outcome = OutcomeDone
		if failed {
			ev.Outcome = OutcomeFailed
		}
	}
	if changed {
		ev.Release = "reflex release --finding " + f.Key().String()
	}
	return ev
}

func planStep(pl *Plan, key string) *PlannedStep {
	for _, ps := range pl.Steps {
		if ps.Key == key {
			return ps
		}
	}
	return nil
}

// loadDecision reads what an announcement of a recorded decision needs.
func (e *Engine) loadDecision(ctx context.Context, dec *store.Decision) (*finding.Finding, *Plan, []*store.Step, error) {
	pl, err := UnmarshalPlan(dec.Plan)
	if err != nil {
		return nil, nil, nil, err
	}
	fr, err := e.Ledger.Finding(ctx, dec.FindingKey)
	if err != nil {
		return nil, nil, nil, err
	}
	fs, errs := finding.ParseBytes("ledger:"+dec.FindingKey, fr.Raw)
	if len(fs) != 1 {
		return nil, nil, nil, fmt.Errorf("the recorded finding cannot be read: %v", errors.Join(errs...))
	}
	steps, err := e.Ledger.DecisionSteps(ctx, dec.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	return fs[0], pl, steps, nil
}

// announceAnswer announces a decision moved without running by a person or
// by its expiry: outcome denied, expired or approved.
func (e *Engine) announceAnswer(ctx context.Context, dec *store.Decision, outcome, why string) {
	if e.Notify == nil {
		return
	}
	f, pl, steps, err := e.loadDecision(ctx, dec)
	if err != nil {
		e.log().Warn("decision not announced", "decision", dec.ID, "error", err.Error())
		return
	}
	cancelled := ""
	if outcome != OutcomeApproved {
		cancelled = why
	}
	ev := e.journalEvent(f, pl, steps, outcome, cancelled, "")
	ev.Reason = why + "; " + ev.Reason
	e.submit(ev)
}

// announcedByStep reports whether the decision's notify step announced it.
func announcedByStep(steps []*store.Step) bool {
	for _, s := range steps {
		if s.Name == "notify" && s.State == store.StepDone {
			return true
		}
	}
	return false
}

// ReportDelivery appends a notification's outcome to the ledger's audit
// trail: one notify.<status> event per decision the message announced
// (one event without a decision when it announced none). It is the
// dispatcher's Report callback; it never fails the caller.
func (e *Engine) ReportDelivery(r notify.Report) {
	if e.Ledger == nil {
		return
	}
	ctx := context.Background()
	msg := fmt.Sprintf("%s (route %s): %s", r.Channel, r.Route, r.Status)
	if r.Attempts > 0 {
		msg += fmt.Sprintf(" after %d attempt(s)", r.Attempts)
	}
	if r.Total > 1 {
		msg += fmt.Sprintf(", a message for %d events", r.Total)
	}
	if r.Error != "" {
		msg += ": " + r.Error
	}
	data, _ := json.Marshal(r)
	at := r.At.UTC()
	if at.IsZero() {
		at = e.now()
	}
	ids := r.DecisionIDs
	if len(ids) == 0 {
		ids = []string{""}
	}
	var evs []*store.Event
	for _, id := range ids {
		ev := &store.Event{At: at, Kind: "notify." + r.Status, DecisionID: id, Actor: "notify:" + r.Channel, Message: msg, Data: data}
		if id != "" {
			if d, err := e.Ledger.Decision(ctx, id); err == nil {
				ev.FindingKey = d.FindingKey
			}
		} else if len(r.Findings) == 1 {
			ev.FindingKey = r.Findings[0]
		}
		evs = append(evs, ev)
	}
	if err := e.Ledger.Append(ctx, evs...); err != nil {
		e.log().Error("notification report not recorded", "channel", r.Channel, "status", r.Status, "error", err.Error())
	}
}
