package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/store"
)

// recorder is an Announcer that keeps what it is given.
type recorder struct {
	mu  sync.Mutex
	evs []*notify.Event
	ok  bool
}

func (r *recorder) Submit(ev *notify.Event) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
	return r.ok
}

func stepStatuses(ev *notify.Event) string {
	var parts []string
	for _, s := range ev.Steps {
		parts = append(parts, s.Name+"="+s.Status)
	}
	return strings.Join(parts, " ")
}

const announceConfig = `
rules:
  - name: ec2
    pattern: {detail: {resource: {resourceType: [Instance]}}}
    mode: %s
    steps:
      - step: test.effect
        params: {dir: "$DIR", fail_hard: %t}
      %s
      - step: record
execution: {backoff: 1ms, timeout: 5s}
notifications:
  channels: {soc: {type: webhook, url: "env:U", signing_secret: "env:S"}}
  routes:
    - {name: team, channels: [soc]}
`

func TestAnnouncements(t *testing.T) {
	ctx := context.Background()
	const notifyStep = "- {step: notify, params: {route: team, message: isolated}}"
	for _, tc := range []struct {
		name     string
		mode     string
		fail     bool
		notify   string
		queued   bool
		answer   string // approve | deny | expire
		outcomes string // the announcements' outcomes, in order
		last     string // the last announcement's steps
		routes   string
		journal  string // the notify step's state, if any
	}{
		{name: "enforce, no notify step: announced after execution", mode: "enforce", queued: true,
			outcomes: "done", last: "test.effect=done record=done", routes: "[]"},
		{name: "enforce with notify step: announced by it, once", mode: "enforce", notify: notifyStep, queued: true,
			outcomes: "done", last: "test.effect=done notify=done record=done", routes: "[team]", journal: store.StepDone},
		{name: "a failed step is announced, notify runs anyway", mode: "enforce", fail: true, notify: notifyStep, queued: true,
			outcomes: "failed", last: "test.effect=failed notify=done record=skipped", routes: "[team]", journal: store.StepDone},
		{name: "queue full: notify step skipped, engine does not retry", mode: "enforce", notify: notifyStep, queued: false,
			outcomes: "done done", last: "test.effect=done notify=skipped record=done", routes: "[team]", journal: store.StepSkipped},
		{name: "dry-run", mode: "dry-run", notify: notifyStep, queued: true,
			outcomes: "dry-run", last: "test.effect=planned notify=planned record=planned", routes: "[team]"},
		{name: "approve then approved", mode: "approve", notify: notifyStep, queued: true, answer: "approve",
			outcomes: "waiting-approval done", last: "test.effect=done notify=done record=done", routes: "[team]", journal: store.StepDone},
		{name: "approve then denied", mode: "approve", notify: notifyStep, queued: true, answer: "deny",
			outcomes: "waiting-approval denied", last: "test.effect=skipped notify=skipped record=skipped", routes: "[team]"},
		{name: "approve then expired", mode: "approve", queued: true, answer: "expire",
			outcomes: "waiting-approval expired", last: "test.effect=skipped record=skipped", routes: "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, fmt.Sprintf(announceConfig, tc.mode, tc.fail, tc.notify))
			rec := &recorder{ok: tc.queued}
			fx.eng.Notify = rec
			f := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("n1"))
			res, _, err := fx.eng.Run(ctx, []*finding.Finding{f}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			id := res[0].Plan.DecisionID
			switch tc.answer {
			case "approve", "deny":
				if _, err := fx.eng.Answer(ctx, id, tc.answer == "approve", "alice", "checked", true); err != nil {
					t.Fatal(err)
				}
			case "expire":
				fx.now = fx.now.Add(48 * time.Hour)
				if _, err := fx.eng.Resume(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var outs []string
			for _, ev := range rec.evs {
				outs = append(outs, ev.Outcome)
				if ev.DecisionID != id || ev.Finding.ID != "n1" || ev.Rule != "ec2" || ev.Kind != notify.KindDecision {
					t.Errorf("event %+v", ev)
				}
			}
			if got := strings.Join(outs, " "); got != tc.outcomes {
				t.Fatalf("announcements %q, want %q", got, tc.outcomes)
			}
			last := rec.evs[len(rec.evs)-1]
			if got := stepStatuses(last); got != tc.last {
				t.Errorf("steps %q, want %q", got, tc.last)
			}
			if got := fmt.Sprint(last.Routes); got != tc.routes {
				t.Errorf("routes %s, want %s", got, tc.routes)
			}
			steps, _ := fx.db.DecisionSteps(ctx, id)
			for i, s := range steps {
				if s.Name == "notify" && tc.journal != "" && s.State != tc.journal {
					t.Errorf("journal: notify %s (%s), want %s", s.State, s.Reason, tc.journal)
				}
				// the message shows what the ledger holds
				if tc.answer == "" && !strings.Contains(last.Steps[i].Name, s.Name) {
					t.Errorf("step %d: %s in the message, %s in the journal", i, last.Steps[i].Name, s.Name)
				}
				if tc.answer == "" && tc.journal != "" && s.Name != "notify" && last.Steps[i].Status != s.State {
					t.Errorf("step %s: %s in the message, %s in the journal", s.Name, last.Steps[i].Status, s.State)
				}
			}
			if tc.fail && last.Steps[0].Error == "" {
				t.Error("failed step without its error")
			}
			if tc.outcomes == "done" && tc.mode == "enforce" && last.Release != "reflex release --finding "+f.Key().String() {
				t.Errorf("release %q", last.Release)
			}
		})
	}
}

func TestNotifyStepWithoutNotifier(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t, fmt.Sprintf(announceConfig, "enforce", false, "- {step: notify, params: {route: team}}"))
	f := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("n2"))
	res, _, err := fx.eng.Run(ctx, []*finding.Finding{f}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res[0].Outcome.Steps {
		if s.Name == "notify" && (s.State != store.StepSkipped || !strings.Contains(s.Reason, "no notifications configured")) {
			t.Fatalf("notify step %s %q", s.State, s.Reason)
		}
	}
}

func TestReportDeliveryInAuditTrail(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t, fmt.Sprintf(announceConfig, "enforce", false, ""))
	f := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("n3"))
	res, _, err := fx.eng.Run(ctx, []*finding.Finding{f}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := res[0].Plan.DecisionID
	fx.eng.ReportDelivery(notify.Report{Channel: "soc", Route: "team", Status: notify.Failed, Attempts: 4,
		Error: "soc: HTTP 500: boom", Total: 1, DecisionIDs: []string{id}, At: fx.now})
	fx.eng.ReportDelivery(notify.Report{Channel: "soc", Route: "team", Status: notify.Delivered, Attempts: 1, Total: 1,
		DecisionIDs: []string{id}, At: fx.now})
	evs, err := fx.db.Events(ctx, store.Filter{DecisionID: id})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		if strings.HasPrefix(e.Kind, "notify.") {
			got = append(got, e.Kind+": "+e.Message)
			if e.FindingKey != f.Key().String() || len(e.Data) == 0 {
				t.Errorf("event %+v", e)
			}
		}
	}
	want := "[notify.failed: soc (route team): failed after 4 attempt(s): soc: HTTP 500: boom notify.delivered: soc (route team): delivered after 1 attempt(s)]"
	if fmt.Sprint(got) != want {
		t.Fatalf("audit trail %v\nwant %s", got, want)
	}
}

// undoStep is a reversible step whose Undo restores (for release tests).
type undoStep struct{ fail bool }

func (undoStep) Spec() action.Spec {
	return action.Spec{Name: "t.contain", Targets: []string{finding.KindInstance}, Effect: action.Reversible, Available: true}
}
func (undoStep) Plan(context.Context, *action.Request) ([]action.Call, error) { return nil, nil }
func (undoStep) Do(context.Context, *action.Request) action.Result {
	r := action.Done(map[string]string{"contained": "yes"})
	r.Prior = []byte(`{"groups":["sg-1"]}`)
	return r
}
func (u undoStep) Undo(context.Context, *action.Request) action.Result {
	if u.fail {
		return action.Failed(errors.New("ModifyNetworkInterfaceAttribute: Throttling"), false)
	}
	return action.Done(nil)
}

// TestReleaseIsAnnounced: a release that restores something is announced
// (kind release: PagerDuty resolves the finding's incident); an undo that
// fails is announced as failed; a release with nothing left to undo is not
// announced again.
func TestReleaseIsAnnounced(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		fail    bool
		outcome string
		steps   string
		again   int // announcements after a second release
	}{
		{"restored", false, "released", "record=skipped t.contain=done", 1},
		{"undo failed", true, OutcomeFailed, "record=skipped t.contain=failed", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := action.NewRegistry()
			reg.Register(undoStep{fail: tc.fail})
			p, err := policy.Parse("c.yaml", []byte(`
rules:
  - name: contain
    pattern: {detail: {resource: {resourceType: [Instance]}}}
    mode: enforce
    steps: [{step: t.contain}, {step: record}]
`), reg)
			if err != nil {
				t.Fatal(err)
			}
			fx := newFixture(t, "rules: [{name: x, pattern: {source: [x]}, steps: [{step: record}]}]")
			fx.eng.Policy, fx.eng.Registry = p, reg
			rec := &recorder{ok: true}
			fx.eng.Notify = rec
			f := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("rel1"))
			if _, _, err := fx.eng.Run(ctx, []*finding.Finding{f}, Options{}); err != nil {
				t.Fatal(err)
			}
			before := len(rec.evs)
			if _, err := fx.eng.Release(ctx, ReleaseSelector{Finding: f.ID}); err != nil {
				t.Fatal(err)
			}
			if len(rec.evs) != before+1 {
				t.Fatalf("%d announcements after release, want 1", len(rec.evs)-before)
			}
			ev := rec.evs[len(rec.evs)-1]
			if ev.Kind != notify.KindRelease || ev.Outcome != tc.outcome || stepStatuses(ev) != tc.steps || ev.Finding.ID != f.ID || ev.Rule != "contain" || ev.DecisionID == "" {
				t.Errorf("release event: kind %s outcome %s steps %q finding %s rule %s decision %s", ev.Kind, ev.Outcome, stepStatuses(ev), ev.Finding.ID, ev.Rule, ev.DecisionID)
			}
			if _, err := fx.eng.Release(ctx, ReleaseSelector{Finding: f.ID}); err != nil {
				t.Fatal(err)
			}
			if got := len(rec.evs) - before; got != tc.again {
				t.Errorf("%d announcements after a second release, want %d", got, tc.again)
			}
		})
	}
}
