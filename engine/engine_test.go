package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/store"
	"github.com/reflexsec/reflex/store/sqlite"
)

// loadFinding reads a test finding, lets mutate change its JSON, and parses it.
func loadFinding(t testing.TB, name string, mutate func(m map[string]any)) *finding.Finding {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(m)
	}
	b, _ = json.Marshal(m)
	fs, errs := finding.ParseBytes(name, b)
	if len(errs) > 0 || len(fs) != 1 {
		t.Fatalf("%s: %v", name, errs)
	}
	return fs[0]
}

// real turns a sample finding into a non-sample one with a given id.
func real(id string) func(m map[string]any) {
	return func(m map[string]any) {
		m["id"] = id
		svc := m["service"].(map[string]any)
		delete(svc, "additionalInfo")
		res := m["resource"].(map[string]any)
		if inst, ok := res["instanceDetails"].(map[string]any); ok {
			inst["instanceId"] = "i-0abc" + id
		}
		if ak, ok := res["accessKeyDetails"].(map[string]any); ok {
			ak["accessKeyId"] = "AKIA" + strings.ToUpper(id)
			ak["principalId"] = "AIDA" + strings.ToUpper(id)
			ak["userName"] = "user-" + id
		}
	}
}

func withCount(n int, updated string) func(m map[string]any) {
	return func(m map[string]any) {
		m["service"].(map[string]any)["count"] = n
		m["updatedAt"] = updated
	}
}

func both(fs ...func(map[string]any)) func(map[string]any) {
	return func(m map[string]any) {
		for _, f := range fs {
			f(m)
		}
	}
}

type fixture struct {
	eng *Engine
	db  *sqlite.DB
	dir string // test.effect directory
	now time.Time
}

func newFixture(t testing.TB, cfg string) *fixture {
	t.Helper()
	dir := t.TempDir()
	cfg = strings.ReplaceAll(cfg, "$DIR", dir)
	reg := action.NewRegistry()
	p, err := policy.Parse("test.yaml", []byte(cfg), reg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(filepath.Join(dir, "ledger.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fx := &fixture{db: db, dir: dir, now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	fx.eng = &Engine{Policy: p, Registry: reg, Ledger: db, Now: func() time.Time { return fx.now }}
	return fx
}

func (fx *fixture) effects(t testing.TB) []string {
	l, err := action.TestEffects(fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

const ec2Config = `
rules:
  - name: ec2
    pattern: {detail: {resource: {resourceType: [Instance]}}}
    playbook: contain
    mode: %s
playbooks:
  contain:
    steps:
      - step: test.effect
        params: {dir: $DIR}
      - step: record
execution: {backoff: 1ms, timeout: 5s}
guards:
  budget: {per_account: 2, total: 3, window: 1h}
`

func TestEnforceRunsOnceAndDedups(t *testing.T) {
	fx := newFixture(t, fmt.Sprintf(ec2Config, "enforce"))
	ctx := context.Background()
	f := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("a1"))
	res, _, err := fx.eng.Run(ctx, []*finding.Finding{f}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res[0].Plan.Status; got != store.DecisionApproved {
		t.Fatalf("status %s, want approved; plan: %+v", got, res[0].Plan.Guards)
	}
	o := res[0].Outcome
	if o == nil || o.Status != store.DecisionDone || len(o.Steps) != 2 {
		t.Fatalf("outcome %+v", o)
	}
	for _, s := range o.Steps {
		if s.State != store.StepDone && s.State != store.StepSkipped {
			t.Errorf("step %s: %s %s", s.Name, s.State, s.Reason)
		}
	}
	if e := fx.effects(t); len(e) != 1 {
		t.Fatalf("effects %v", e)
	}
	// the same delivery again: nothing
	res, _, err = fx.eng.Run(ctx, []*finding.Finding{f}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Change != store.Unchanged || res[0].Outcome != nil {
		t.Fatalf("re-delivery: %s %+v", res[0].Change, res[0].Outcome)
	}
	// re-sent with a higher count: recognised, the step is not repeated
	f2 := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", both(real("a1"), withCount(99, "2027-01-01T00:00:00Z")))
	res, _, err = fx.eng.Run(ctx, []*finding.Finding{f2}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Change != store.Updated {
		t.Fatalf("re-sent: %s", res[0].Change)
	}
	for _, ps := range res[0].Plan.Steps {
		if ps.Status != PlanAlready {
			t.Errorf("re-sent step %s: %s, want already", ps.Name, ps.Status)
		}
	}
	if e := fx.effects(t); len(e) != 1 {
		t.Fatalf("effects after re-send %v", e)
	}
	fr, err := fx.db.Finding(ctx, f.Key().String())
	if err != nil || fr.Revision != 2 || fr.Count != 99 {
		t.Fatalf("finding record %+v %v", fr, err)
	}
}

func TestDryRunAndSamples(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, mode, samples string
		sample              bool
		wantStatus          string
	}{
		{"dry-run", "dry-run", "", false, store.DecisionDryRun},
		{"enforce sample default", "enforce", "", true, store.DecisionDryRun},
		{"enforce sample ignore", "enforce", "ignore", true, store.DecisionNothing},
		{"enforce sample act", "enforce", "act", true, store.DecisionApproved},
		{"approve", "approve", "", false, store.DecisionPending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fmt.Sprintf(ec2Config, tc.mode)
			if tc.samples != "" {
				cfg = strings.Replace(cfg, "guards:\n", "guards:\n  samples: "+tc.samples+"\n", 1)
			}
			fx := newFixture(t, cfg)
			mut := real("b2")
			if tc.sample {
				mut = nil
			}
			f := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", mut)
			pl, err := fx.eng.Decide(ctx, f, Options{Explain: true})
			if err != nil {
				t.Fatal(err)
			}
			if pl.Status != tc.wantStatus {
				t.Fatalf("status %s, want %s (%s; guards %+v)", pl.Status, tc.wantStatus, pl.Summary, pl.Guards)
			}
			if _, err := fx.eng.Decide(ctx, f, Options{}); err != nil {
				t.Fatal(err)
			}
			if len(fx.effects(t)) != 0 {
				t.Fatal("decide had a side effect")
			}
		})
	}
}

func TestApproveDenyExpire(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t, fmt.Sprintf(ec2Config, "approve"))
	fa := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("c1"))
	fd := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("c2"))
	fe := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("c3"))
	res, _, err := fx.eng.Run(ctx, []*finding.Finding{fa, fd, fe}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Plan.Status != store.DecisionPending || r.Outcome != nil {
			t.Fatalf("%s: %s", r.Plan.DecisionID, r.Plan.Status)
		}
	}
	if len(fx.effects(t)) != 0 {
		t.Fatal("pending plan ran")
	}
	if _, err := fx.eng.Answer(ctx, res[0].Plan.DecisionID, true, "", "", true); err == nil {
		t.Fatal("approval without --by accepted")
	}
	o, err := fx.eng.Answer(ctx, res[0].Plan.DecisionID, true, "alice", "confirmed compromise", true)
	if err != nil || o == nil || o.Status != store.DecisionDone {
		t.Fatalf("approve: %+v %v", o, err)
	}
	if _, err := fx.eng.Answer(ctx, res[1].Plan.DecisionID, false, "bob", "false positive", true); err != nil {
		t.Fatal(err)
	}
	steps, _ := fx.db.DecisionSteps(ctx, res[1].Plan.DecisionID)
	for _, s := range steps {
		if s.State != store.StepCancelled {
			t.Errorf("denied step %s: %s", s.Name, s.State)
		}
	}
	if _, err := fx.eng.Answer(ctx, res[1].Plan.DecisionID, true, "bob", "", true); err == nil {
		t.Fatal("approving a denied decision worked")
	}
	fx.now = fx.now.Add(25 * time.Hour)
	if _, err := fx.eng.Answer(ctx, res[2].Plan.DecisionID, true, "carol", "", true); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("approving an expired decision: %v", err)
	}
	if e := fx.effects(t); len(e) != 1 {
		t.Fatalf("effects %v", e)
	}
	as, _ := fx.db.Approvals(ctx, store.Filter{})
	if len(as) != 2 || as[0].By != "alice" || as[1].Verdict != store.DecisionDenied || as[1].Reason != "false positive" {
		t.Fatalf("approvals %+v", as)
	}
}

func TestBudgetTurnsEnforceIntoApprove(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t, fmt.Sprintf(ec2Config, "enforce"))
	var fs []*finding.Finding
	for i := range 4 {
		fs = append(fs, loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real(fmt.Sprintf("e%d", i))))
	}
	res, _, err := fx.eng.Run(ctx, fs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, r := range res {
		statuses = append(statuses, r.Plan.Status)
	}
	want := []string{"approved", "approved", "pending-approval", "pending-approval"}
	if strings.Join(statuses, ",") != strings.Join(want, ",") {
		t.Fatalf("statuses %v, want %v (per_account 2)", statuses, want)
	}
	if len(fx.effects(t)) != 2 {
		t.Fatalf("effects %v", fx.effects(t))
	}
	evs, _ := fx.db.Events(ctx, store.Filter{Status: "budget.tripped"})
	if len(evs) != 2 {
		t.Fatalf("budget trips recorded: %d", len(evs))
	}
	// the next window has a fresh budget
	fx.now = fx.now.Add(time.Hour)
	f := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("e9"))
	pl, err := fx.eng.Decide(ctx, f, Options{})
	if err != nil || pl.Status != store.DecisionApproved {
		t.Fatalf("next window: %v %v", pl.Status, err)
	}
}

func TestRetriesFailureAndStop(t *testing.T) {
	ctx := context.Background()
	cfg := `
rules:
  - name: r
    pattern: {detail: {resource: {resourceType: [Instance]}}}
    mode: enforce
    steps:
      - step: test.effect
        params: {dir: $DIR, fail: 2}
      - step: test.effect
        params: {dir: $DIR/nope, fail_hard: true}
        on_failure: continue
execution: {backoff: 1ms, retries: 3}
`
	// two test.effect steps on one target would merge: use different dirs via a second rule instead
	fx := newFixture(t, cfg)
	f := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("f1"))
	res, _, err := fx.eng.Run(ctx, []*finding.Finding{f}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := res[0].Outcome
	if o == nil || len(o.Steps) != 1 {
		t.Fatalf("outcome %+v", o)
	}
	if s := o.Steps[0]; s.State != store.StepDone || s.Attempts != 3 {
		t.Fatalf("retried step: %s after %d attempts (%s)", s.State, s.Attempts, s.Reason)
	}

	cfg2 := `
rules:
  - name: r
    pattern: {detail: {resource: {resourceType: [Instance]}}}
    mode: enforce
    steps:
      - step: test.effect
        params: {dir: $DIR, fail_hard: true}
      - step: record
      - step: notify
execution: {backoff: 1ms}
`
	fx = newFixture(t, cfg2)
	res, _, err = fx.eng.Run(ctx, []*finding.Finding{f}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	o = res[0].Outcome
	if o.Status != store.DecisionFailed || o.Failed() != 1 {
		t.Fatalf("outcome %s, %d failed", o.Status, o.Failed())
	}
	if o.Steps[0].Attempts != 1 {
		t.Errorf("permanent failure retried: %d attempts", o.Steps[0].Attempts)
	}
	// on_failure: stop (the default) skips the rest of the sequence, saying
	// why; notify still runs, so that the failure is announced
	for _, s := range o.Steps[1:] {
		if s.Name == "notify" {
			if s.State != store.StepSkipped || !strings.Contains(s.Reason, "no notifications configured") {
				t.Errorf("notify after a failed step: %s %s", s.State, s.Reason)
			}
			continue
		}
		if s.State != store.StepSkipped || !strings.Contains(s.Reason, "test.effect failed (on_failure: stop)") {
			t.Errorf("after a failed step: %s %s %s", s.Name, s.State, s.Reason)
		}
	}
}

func TestStopSkipsRestOfResource(t *testing.T) {
	ctx := context.Background()
	cfg := `
rules:
  - name: r
    pattern: {detail: {resource: {resourceType: [Instance]}}}
    mode: approve
    steps:
      - step: ec2.capture-evidence
      - step: ec2.stop
execution: {backoff: 1ms}
`
	fx := newFixture(t, cfg)
	f := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("g1"))
	res, _, err := fx.eng.Run(ctx, []*finding.Finding{f}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	o, err := fx.eng.Answer(ctx, res[0].Plan.DecisionID, true, "alice", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if o.Steps[0].State != store.StepFailed || !strings.Contains(o.Steps[0].Reason, "not implemented") {
		t.Errorf("declared step: %s %s", o.Steps[0].State, o.Steps[0].Reason)
	}
	if o.Steps[1].State != store.StepSkipped || !strings.Contains(o.Steps[1].Reason, "ec2.capture-evidence failed") {
		t.Errorf("stop after failed evidence capture: %s %s", o.Steps[1].State, o.Steps[1].Reason)
	}
}

func TestProtectedAndMerge(t *testing.T) {
	ctx := context.Background()
	cfg := `
rules:
  - name: a
    pattern: {detail: {resource: {resourceType: [Instance]}}}
    mode: enforce
    steps:
      - step: ec2.isolate
      - step: ec2.capture-evidence
  - name: b
    pattern: {source: [aws.guardduty]}
    mode: approve
    steps:
      - step: ec2.isolate
      - step: notify
guards:
  protected:
    tags: {"reflex:protected": "true"}
`
	fx := newFixture(t, cfg)
	f := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("h1"))
	pl, err := fx.eng.Decide(ctx, f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Steps) != 3 || pl.Steps[0].Name != "ec2.isolate" || len(pl.Steps[0].AlsoFrom) != 1 {
		t.Fatalf("merged steps: %+v", pl.Steps)
	}
	if pl.Mode != policy.Approve {
		t.Fatalf("mode %s: the most cautious matched rule wins", pl.Mode)
	}
	prot := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", both(real("h2"), func(m map[string]any) {
		inst := m["resource"].(map[string]any)["instanceDetails"].(map[string]any)
		inst["tags"] = []any{map[string]any{"key": "reflex:protected", "value": "true"}}
	}))
	pl, err = fx.eng.Decide(ctx, prot, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if pl.Steps[0].Status != PlanDropped || !strings.Contains(pl.Steps[0].Reason, "protected by tag") {
		t.Fatalf("protected isolate: %s %s", pl.Steps[0].Status, pl.Steps[0].Reason)
	}
	if pl.Steps[1].Status != PlanPlanned {
		t.Fatalf("read-only capture on a protected resource: %s", pl.Steps[1].Status)
	}
}

func TestExplainSaysWhyNot(t *testing.T) {
	cfg := `
rules:
  - name: iam
    pattern: {detail: {resource: {resourceType: [AccessKey]}, severity: [{numeric: [">=", 7]}]}}
    steps: [{step: record}]
`
	fx := newFixture(t, cfg)
	f := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", nil)
	pl, err := fx.eng.Decide(context.Background(), f, Options{Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	why := pl.Rules[0].Why
	if pl.Rules[0].Matched || !strings.Contains(why, `detail.resource.resourceType: pattern wants ["AccessKey"], finding has "Instance"`) {
		t.Fatalf("why: %s", why)
	}
}

func TestRecordStream(t *testing.T) {
	fx := newFixture(t, fmt.Sprintf(ec2Config, "dry-run"))
	f := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("s1"))
	g := loadFinding(t, "UnauthorizedAccess_EC2_TorClient__elastic.json", real("s2"))
	in := make(chan *finding.Finding, 8)
	for _, x := range []*finding.Finding{f, g, f, f, g} {
		in <- x
	}
	close(in)
	var changes []store.Change
	err := fx.eng.RecordStream(context.Background(), in, 2, Options{}, func(rs []*Result) error {
		for _, r := range rs {
			changes = append(changes, r.Change)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Change{store.New, store.New, store.Unchanged, store.Unchanged, store.Unchanged}
	if fmt.Sprint(changes) != fmt.Sprint(want) {
		t.Fatalf("changes %v, want %v", changes, want)
	}
	decs, _ := fx.db.Decisions(context.Background(), store.Filter{})
	if len(decs) != 2 {
		t.Fatalf("%d decisions", len(decs))
	}
}
