package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/reflexsec/reflex/store"
)

func open(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "ledger.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fnd(key string, count int64, upd time.Time) *store.Finding {
	return &store.Finding{Key: key, AccountID: "123456789012", Region: "us-east-1", ID: key, Type: "T", Severity: 8,
		UpdatedAt: upd, Count: count, LastSeen: t0, Raw: []byte(`{"id":"` + key + `"}`)}
}

func TestMigrationsIdempotent(t *testing.T) {
	db, path := open(t)
	v, err := db.SchemaVersion(context.Background())
	if err != nil || v != len(migrations) {
		t.Fatalf("version %d %v", v, err)
	}
	db.Close()
	db2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if v, _ := db2.SchemaVersion(context.Background()); v != len(migrations) {
		t.Fatalf("reopened: version %d", v)
	}
	if err := db2.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ro.Close()
	if _, err := Open(filepath.Join(t.TempDir(), "missing.db"), Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only open created a ledger")
	}
}

func TestRecordRecognisesRedelivery(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	rec := func(f *store.Finding, id string) *store.Record {
		return &store.Record{Finding: f, Decision: &store.Decision{ID: id, FindingKey: f.Key, Mode: "enforce", Status: store.DecisionApproved, CreatedAt: t0},
			Steps: []*store.Step{{Key: f.Key + "|s", DecisionID: id, FindingKey: f.Key, Name: "s", State: store.StepPlanned}}}
	}
	chs, err := db.Record(ctx, []*store.Record{
		rec(fnd("a", 1, t0), "d1"),
		rec(fnd("a", 1, t0), "d1"),                 // same batch, same version
		rec(fnd("a", 3, t0), "d2"),                 // higher count
		rec(fnd("a", 2, t0.Add(-time.Hour)), "dx"), // older
		rec(fnd("a", 3, t0.Add(time.Hour)), "d3"),  // later updatedAt
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Change{store.New, store.Unchanged, store.Updated, store.Older, store.Updated}
	for i := range want {
		if chs[i] != want[i] {
			t.Errorf("record %d: %s, want %s", i, chs[i], want[i])
		}
	}
	f, err := db.Finding(ctx, "a")
	if err != nil || f.Revision != 3 || f.Count != 3 || string(f.Raw) != `{"id":"a"}` {
		t.Fatalf("%+v %v", f, err)
	}
	if _, err := db.Decision(ctx, "dx"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("older version decided: %v", err)
	}
	st, _ := db.Step(ctx, "a|s")
	if st.DecisionID != "d1" {
		t.Fatalf("an existing step was replaced: %s", st.DecisionID)
	}
	m, err := db.Lookup(ctx, []string{"a", "b"})
	if err != nil || len(m) != 1 || m["a"].Count != 3 || m["a"].Raw != nil {
		t.Fatalf("lookup %v %v", m, err)
	}
}

func TestStepJournalConditions(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	db.Record(ctx, []*store.Record{{Finding: fnd("a", 1, t0), Decision: &store.Decision{ID: "d", FindingKey: "a", Status: store.DecisionApproved},
		Steps: []*store.Step{{Key: "k", DecisionID: "d", FindingKey: "a", Name: "s", State: store.StepPlanned}}}})
	if err := db.EndStep(ctx, &store.Step{Key: "k", State: store.StepDone}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("end before start: %v", err)
	}
	s, err := db.StartStep(ctx, "k", t0)
	if err != nil || s.Attempts != 1 || s.State != store.StepStarted {
		t.Fatalf("%+v %v", s, err)
	}
	if s, err = db.StartStep(ctx, "k", t0); err != nil || s.Attempts != 2 {
		t.Fatalf("restart after a crash: %+v %v", s, err)
	}
	if err := db.EndStep(ctx, &store.Step{Key: "k", State: store.StepDone, Prior: []byte(`{"sg":"x"}`), EndedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := db.EndStep(ctx, &store.Step{Key: "k", State: store.StepFailed}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("ended twice: %v", err)
	}
	if _, err := db.StartStep(ctx, "k", t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("started after end: %v", err)
	}
	s, _ = db.Step(ctx, "k")
	if s.State != store.StepDone || string(s.Prior) != `{"sg":"x"}` {
		t.Fatalf("%+v", s)
	}
}

func TestApproveOnce(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	db.Record(ctx, []*store.Record{{Finding: fnd("a", 1, t0), Decision: &store.Decision{ID: "d", FindingKey: "a", Status: store.DecisionPending},
		Steps: []*store.Step{{Key: "k", DecisionID: "d", FindingKey: "a", Name: "s", State: store.StepPlanned}}}})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := store.DecisionApproved
			if i%2 == 1 {
				v = store.DecisionDenied
			}
			errs[i] = db.Approve(ctx, &store.Approval{DecisionID: "d", Verdict: v, By: "x", At: t0})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, store.ErrConflict) {
			t.Fatal(err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d answers accepted, want 1", ok)
	}
	as, _ := db.Approvals(ctx, store.Filter{})
	if len(as) != 1 {
		t.Fatalf("%d approvals recorded", len(as))
	}
}

func TestBudgetAndExpire(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	keys := []store.BudgetKey{{Scope: "account:1", Window: t0, Limit: 2}, {Scope: "total", Window: t0, Limit: 3}}
	other := []store.BudgetKey{{Scope: "account:2", Window: t0, Limit: 2}, {Scope: "total", Window: t0, Limit: 3}}
	for i, tc := range []struct {
		keys []store.BudgetKey
		ok   bool
	}{{keys, true}, {keys, true}, {keys, false}, {other, true}, {other, false}} {
		ok, full, err := db.TakeBudget(ctx, tc.keys)
		if err != nil || ok != tc.ok {
			t.Fatalf("take %d: %v %v %v", i, ok, full, err)
		}
	}
	if n, _ := db.BudgetUsed(ctx, keys[1]); n != 3 {
		t.Fatalf("total used %d", n)
	}
	db.Record(ctx, []*store.Record{{Finding: fnd("a", 1, t0), Decision: &store.Decision{ID: "d", FindingKey: "a", Status: store.DecisionPending, ExpiresAt: t0},
		Steps: []*store.Step{{Key: "k", DecisionID: "d", FindingKey: "a", Name: "s", State: store.StepPlanned}}}})
	if ds, _ := db.Expire(ctx, t0.Add(-time.Second)); len(ds) != 0 {
		t.Fatal("expired early")
	}
	ds, err := db.Expire(ctx, t0.Add(time.Second))
	if err != nil || len(ds) != 1 {
		t.Fatalf("%v %v", ds, err)
	}
	if s, _ := db.Step(ctx, "k"); s.State != store.StepCancelled {
		t.Fatalf("step of an expired plan: %s", s.State)
	}
}

// A batch that breaks a constraint writes nothing, and the ledger takes the
// next batch: Record is all or nothing.
func TestRecordAllOrNothing(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	if _, err := db.Record(ctx, []*store.Record{{Finding: fnd("old", 1, t0), Decision: &store.Decision{ID: "d0", FindingKey: "old", Status: store.DecisionDryRun}}}); err != nil {
		t.Fatal(err)
	}
	bad := []*store.Record{
		{Finding: fnd("a", 1, t0), Decision: &store.Decision{ID: "same", FindingKey: "a", Status: store.DecisionDryRun},
			Events: []*store.Event{{At: t0, Kind: "k", FindingKey: "a"}}},
		{Finding: fnd("old", 2, t0), Decision: &store.Decision{ID: "d1", FindingKey: "old", Status: store.DecisionDryRun}},
		{Finding: fnd("b", 1, t0), Decision: &store.Decision{ID: "same", FindingKey: "b", Status: store.DecisionDryRun}},
	}
	if _, err := db.Record(ctx, bad); err == nil {
		t.Fatal("two decisions with one id were recorded")
	}
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil || len(fs) != 1 || fs[0].Key != "old" || fs[0].Count != 1 || fs[0].Revision != 1 {
		t.Fatalf("after a failed batch: %d findings %v", len(fs), err)
	}
	if decs, _ := db.Decisions(ctx, store.Filter{}); len(decs) != 1 {
		t.Fatalf("after a failed batch: %d decisions", len(decs))
	}
	if es, _ := db.Events(ctx, store.Filter{}); len(es) != 0 {
		t.Fatalf("after a failed batch: %d events", len(es))
	}
	bad[2].Decision.ID = "other"
	chs, err := db.Record(ctx, bad)
	if err != nil || chs[0] != store.New || chs[1] != store.Updated || chs[2] != store.New {
		t.Fatalf("next batch: %v %v", chs, err)
	}
	if f, err := db.Finding(ctx, "old"); err != nil || f.Count != 2 || f.Revision != 2 || !f.FirstSeen.Equal(t0) {
		t.Fatalf("updated finding: %+v %v", f, err)
	}
}

// A Record stopped by its context (or by a failed statement) leaves the
// writer's connection out of its transaction: the next Record works.
func TestRecordAfterCancel(t *testing.T) {
	db, _ := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Record(ctx, []*store.Record{{Finding: fnd("a", 1, t0)}}); err == nil {
		t.Fatal("a canceled Record wrote")
	}
	dup := &store.Decision{ID: "same", FindingKey: "b", Status: store.DecisionDryRun}
	if _, err := db.Record(context.Background(), []*store.Record{{Finding: fnd("b", 1, t0), Decision: dup}, {Finding: fnd("c", 1, t0), Decision: dup}}); err == nil {
		t.Fatal("two decisions with one id were recorded")
	}
	chs, err := db.Record(context.Background(), []*store.Record{{Finding: fnd("a", 1, t0)}, {Finding: fnd("b", 1, t0)}})
	if err != nil || chs[0] != store.New || chs[1] != store.New {
		t.Fatalf("after a canceled and a failed Record: %v %v", chs, err)
	}
}
