// Package storetest is the ledger contract as a test suite: every
// store.Ledger backend runs it (store/sqlite, store/dynamodb), so the
// backends make the same promises — dedup of re-deliveries, exactly-once
// steps under concurrency, conditional status moves, budgets, the audit
// trail and the listings.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reflexsec/reflex/store"
)

// Factory returns a new, empty ledger for one test; the suite closes it.
type Factory func(t *testing.T) store.Ledger

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Run runs the contract against ledgers made by newLedger.
func Run(t *testing.T, newLedger Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Ledger)
	}{
		{"RecordDedup", testRecordDedup},
		{"RecordSteps", testRecordSteps},
		{"StepLifecycle", testStepLifecycle},
		{"StepCheckpoint", testStepCheckpoint},
		{"DecisionStatus", testDecisionStatus},
		{"Approve", testApprove},
		{"Expire", testExpire},
		{"Unfinished", testUnfinished},
		{"Budget", testBudget},
		{"Events", testEvents},
		{"Listings", testListings},
		{"Lookup", testLookup},
		{"ConcurrentRecord", testConcurrentRecord},
		{"ConcurrentSteps", testConcurrentSteps},
		{"ConcurrentBudget", testConcurrentBudget},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(t)
			t.Cleanup(func() { l.Close() })
			tc.fn(t, l)
		})
	}
}

// Finding returns a ledger finding for account/region/id at version
// (updatedAt = t0 + upd minutes, count).
func Finding(id string, upd, count int) *store.Finding {
	return &store.Finding{Key: "111122223333/us-east-1/" + id, AccountID: "111122223333", Region: "us-east-1", ID: id,
		Type: "Recon:EC2/Portscan", Severity: 5, UpdatedAt: t0.Add(time.Duration(upd) * time.Minute), Count: int64(count),
		FirstSeen: t0.Add(time.Hour), LastSeen: t0.Add(time.Hour + time.Duration(upd)*time.Minute),
		Raw: []byte(fmt.Sprintf(`{"id":%q,"updatedAt":%d,"count":%d}`, id, upd, count))}
}

// Rec is a record with a decision in status and one step per name.
func Rec(f *store.Finding, status string, steps ...string) *store.Record {
	id := fmt.Sprintf("d-%s-%d-%d", f.ID, f.UpdatedAt.Unix(), f.Count)
	at := f.LastSeen
	r := &store.Record{Finding: f, Decision: &store.Decision{ID: id, FindingKey: f.Key, AccountID: f.AccountID, CreatedAt: at, UpdatedAt: at,
		Mode: "enforce", Status: status, Summary: "test", Plan: json.RawMessage(`{"steps":[]}`)}}
	if status == store.DecisionPending {
		r.Decision.ExpiresAt = at.Add(time.Hour)
	}
	for i, s := range steps {
		r.Steps = append(r.Steps, &store.Step{Key: f.Key + "|" + s + "|i-1", DecisionID: id, FindingKey: f.Key, Seq: i + 1, Name: s, Target: "i-1",
			Params: json.RawMessage(`{"x":1}`), State: store.StepPlanned, PlannedAt: at})
	}
	r.Events = []*store.Event{{At: at, Kind: "decision." + status, FindingKey: f.Key, DecisionID: id, Message: "decided"}}
	return r
}

func ctx(t *testing.T) context.Context { return t.Context() }

func record(t *testing.T, l store.Ledger, recs ...*store.Record) []store.Change {
	t.Helper()
	ch, err := l.Record(ctx(t), recs)
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	if len(ch) != len(recs) {
		t.Fatalf("Record: %d changes for %d records", len(ch), len(recs))
	}
	return ch
}

func testRecordDedup(t *testing.T, l store.Ledger) {
	f1 := Finding("f1", 0, 1)
	cases := []struct {
		name string
		rec  *store.Record
		want store.Change
		rev  int
	}{
		{"first delivery", Rec(f1, store.DecisionDryRun), store.New, 1},
		{"same occurrence again", Rec(Finding("f1", 0, 1), store.DecisionDryRun), store.Unchanged, 1},
		{"higher count", Rec(Finding("f1", 0, 2), store.DecisionDryRun), store.Updated, 2},
		{"later updatedAt", Rec(Finding("f1", 5, 2), store.DecisionDryRun), store.Updated, 3},
		{"an older version", Rec(Finding("f1", 1, 9), store.DecisionDryRun), store.Older, 3},
		{"older count", Rec(Finding("f1", 5, 1), store.DecisionDryRun), store.Older, 3},
	}
	for _, c := range cases {
		got := record(t, l, c.rec)[0]
		if got != c.want {
			t.Fatalf("%s: change %s, want %s", c.name, got, c.want)
		}
		f, err := l.Finding(ctx(t), f1.Key)
		if err != nil {
			t.Fatal(err)
		}
		if f.Revision != c.rev {
			t.Errorf("%s: revision %d, want %d", c.name, f.Revision, c.rev)
		}
		if !f.FirstSeen.Equal(f1.FirstSeen) {
			t.Errorf("%s: first seen %v, want the first delivery's %v", c.name, f.FirstSeen, f1.FirstSeen)
		}
		if c.want == store.New || c.want == store.Updated {
			if string(f.Raw) != string(c.rec.Finding.Raw) || f.Count != c.rec.Finding.Count || !f.UpdatedAt.Equal(c.rec.Finding.UpdatedAt) {
				t.Errorf("%s: recorded %s count %d at %v, want the delivered version", c.name, f.Raw, f.Count, f.UpdatedAt)
			}
			if c.rec.Decision.Revision != c.rev {
				t.Errorf("%s: decision revision %d, want %d", c.name, c.rec.Decision.Revision, c.rev)
			}
			if _, err := l.Decision(ctx(t), c.rec.Decision.ID); err != nil {
				t.Errorf("%s: decision: %v", c.name, err)
			}
		}
		if ds, err := l.Decisions(ctx(t), store.Filter{FindingKey: f1.Key}); err != nil || len(ds) != c.rev {
			t.Errorf("%s: %d decisions (%v), want one per version: %d", c.name, len(ds), err, c.rev)
		}
	}
	if f, err := l.Finding(ctx(t), f1.Key); err != nil || f.AccountID != "111122223333" || f.Region != "us-east-1" || f.ID != "f1" ||
		f.Type != "Recon:EC2/Portscan" || f.Severity != 5 {
		t.Errorf("finding fields: %+v, %v", f, err)
	}
	if _, err := l.Finding(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing finding: %v, want ErrNotFound", err)
	}
	// a batch with two versions of one finding and a duplicate
	ch := record(t, l, Rec(Finding("f2", 0, 1), store.DecisionNothing), Rec(Finding("f2", 0, 1), store.DecisionNothing), Rec(Finding("f2", 1, 1), store.DecisionNothing))
	if want := []store.Change{store.New, store.Unchanged, store.Updated}; fmt.Sprint(ch) != fmt.Sprint(want) {
		t.Errorf("batch changes %v, want %v", ch, want)
	}
	d, err := l.LatestDecision(ctx(t), Finding("f2", 0, 0).Key)
	if err != nil || d.Revision != 2 {
		t.Errorf("latest decision %+v, %v; want revision 2", d, err)
	}
	if _, err := l.LatestDecision(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("latest decision of a missing finding: %v", err)
	}
}

func testRecordSteps(t *testing.T, l store.Ledger) {
	r1 := Rec(Finding("f1", 0, 1), store.DecisionApproved, "ec2.tag", "ec2.isolate")
	record(t, l, r1)
	steps, err := l.DecisionSteps(ctx(t), r1.Decision.ID)
	if err != nil || len(steps) != 2 || steps[0].Name != "ec2.tag" || steps[1].Name != "ec2.isolate" {
		t.Fatalf("decision steps %v, %v", steps, err)
	}
	s := steps[0]
	if s.State != store.StepPlanned || s.Seq != 1 || s.Target != "i-1" || string(s.Params) != `{"x":1}` || !s.PlannedAt.Equal(r1.Decision.CreatedAt) || s.FindingKey != r1.Finding.Key {
		t.Errorf("step fields %+v", s)
	}
	// the update plans the same steps: the existing ones are kept
	r2 := Rec(Finding("f1", 1, 1), store.DecisionApproved, "ec2.tag", "ec2.snapshot")
	record(t, l, r2)
	s1, _ := l.Step(ctx(t), r1.Steps[0].Key)
	if s1.DecisionID != r1.Decision.ID {
		t.Errorf("an existing step moved to the new decision: %s", s1.DecisionID)
	}
	steps2, _ := l.DecisionSteps(ctx(t), r2.Decision.ID)
	if len(steps2) != 1 || steps2[0].Name != "ec2.snapshot" {
		t.Errorf("second decision's steps %v, want only the new ec2.snapshot", names(steps2))
	}
	// cancelled steps are planned again by a later decision
	if err := l.CancelSteps(ctx(t), r1.Decision.ID, "test", t0); err != nil {
		t.Fatal(err)
	}
	for _, st := range []*store.Step{r1.Steps[0], r1.Steps[1]} {
		if got, _ := l.Step(ctx(t), st.Key); got.State != store.StepCancelled || got.Reason != "test" {
			t.Errorf("after CancelSteps: %+v", got)
		}
	}
	r3 := Rec(Finding("f1", 2, 1), store.DecisionApproved, "ec2.tag")
	record(t, l, r3)
	if got, _ := l.Step(ctx(t), r3.Steps[0].Key); got.DecisionID != r3.Decision.ID || got.State != store.StepPlanned || got.Reason != "" {
		t.Errorf("a cancelled step was not planned again: %+v", got)
	}
	if _, err := l.Step(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing step: %v", err)
	}
}

// testStepCheckpoint: a started step's prior state is journaled before its
// side effect, survives a crashed attempt (the next StartStep returns it),
// is replaced by a later checkpoint, is kept by EndStep's own prior, and
// cannot be written on a step that is not started.
func testStepCheckpoint(t *testing.T, l store.Ledger) {
	r := Rec(Finding("f1", 0, 1), store.DecisionApproved, "iam.deactivate-key", "iam.deny-all")
	record(t, l, r)
	k, other := r.Steps[0].Key, r.Steps[1].Key
	at := t0.Add(time.Hour)
	if err := l.CheckpointStep(ctx(t), k, json.RawMessage(`{"status":"Active"}`)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("checkpoint of a planned step: %v, want ErrConflict", err)
	}
	if err := l.CheckpointStep(ctx(t), "nope", json.RawMessage(`{}`)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("checkpoint of a missing step: %v, want ErrConflict", err)
	}
	if _, err := l.StartStep(ctx(t), k, at); err != nil {
		t.Fatal(err)
	}
	for i, prior := range []string{`{"status":"Active"}`, `{"status":"Active","user":"alice"}`} {
		if err := l.CheckpointStep(ctx(t), k, json.RawMessage(prior)); err != nil {
			t.Fatalf("checkpoint %d: %v", i, err)
		}
		if got, _ := l.Step(ctx(t), k); got.State != store.StepStarted || string(got.Prior) != prior {
			t.Errorf("after checkpoint %d: %s %s", i, got.State, got.Prior)
		}
	}
	// a crash, then a new attempt: the checkpoint comes back with it
	s, err := l.StartStep(ctx(t), k, at.Add(time.Minute))
	if err != nil || s.Attempts != 2 || string(s.Prior) != `{"status":"Active","user":"alice"}` {
		t.Fatalf("StartStep after a crash: %+v, %v", s, err)
	}
	if got, _ := l.Step(ctx(t), other); len(got.Prior) != 0 {
		t.Errorf("another step got the checkpoint: %s", got.Prior)
	}
	end := &store.Step{Key: k, State: store.StepFailed, Prior: s.Prior, Reason: "AccessDenied", EndedAt: at.Add(2 * time.Minute)}
	if err := l.EndStep(ctx(t), end); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.Step(ctx(t), k); got.State != store.StepFailed || string(got.Prior) != `{"status":"Active","user":"alice"}` {
		t.Errorf("after EndStep: %s %s", got.State, got.Prior)
	}
	if err := l.CheckpointStep(ctx(t), k, json.RawMessage(`{}`)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("checkpoint of an ended step: %v, want ErrConflict", err)
	}
	if got, _ := l.Step(ctx(t), k); string(got.Prior) != `{"status":"Active","user":"alice"}` {
		t.Errorf("a refused checkpoint changed the prior state: %s", got.Prior)
	}
}

func names(ss []*store.Step) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func testStepLifecycle(t *testing.T, l store.Ledger) {
	r := Rec(Finding("f1", 0, 1), store.DecisionApproved, "ec2.tag")
	record(t, l, r)
	k := r.Steps[0].Key
	at := t0.Add(2 * time.Hour)
	if err := l.EndStep(ctx(t), &store.Step{Key: k, State: store.StepDone, EndedAt: at}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("EndStep of a planned step: %v, want ErrConflict", err)
	}
	s, err := l.StartStep(ctx(t), k, at)
	if err != nil || s.State != store.StepStarted || s.Attempts != 1 || !s.StartedAt.Equal(at) {
		t.Fatalf("StartStep: %+v, %v", s, err)
	}
	// a crashed attempt: started again
	if s, err = l.StartStep(ctx(t), k, at.Add(time.Second)); err != nil || s.Attempts != 2 {
		t.Fatalf("StartStep again: %+v, %v", s, err)
	}
	if err := l.EndStep(ctx(t), &store.Step{Key: k, State: store.StepStarted}); err == nil {
		t.Error("EndStep to a state that is not final succeeded")
	}
	end := &store.Step{Key: k, State: store.StepDone, Prior: json.RawMessage(`{"sg":["sg-1"]}`), Result: json.RawMessage(`{"ok":true}`), Reason: "", EndedAt: at.Add(time.Minute)}
	if err := l.EndStep(ctx(t), end); err != nil {
		t.Fatal(err)
	}
	got, _ := l.Step(ctx(t), k)
	if got.State != store.StepDone || string(got.Prior) != `{"sg":["sg-1"]}` || string(got.Result) != `{"ok":true}` || !got.EndedAt.Equal(end.EndedAt) || got.Attempts != 2 {
		t.Errorf("after EndStep: %+v", got)
	}
	if _, err := l.StartStep(ctx(t), k, at); !errors.Is(err, store.ErrConflict) {
		t.Errorf("StartStep of an ended step: %v, want ErrConflict", err)
	}
	if err := l.EndStep(ctx(t), end); !errors.Is(err, store.ErrConflict) {
		t.Errorf("EndStep twice: %v, want ErrConflict", err)
	}
	for _, st := range []string{store.StepPlanned, store.StepStarted} {
		if store.Ended(st) {
			t.Errorf("Ended(%s)", st)
		}
	}
}

func testDecisionStatus(t *testing.T, l store.Ledger) {
	r := Rec(Finding("f1", 0, 1), store.DecisionApproved, "ec2.tag")
	record(t, l, r)
	id := r.Decision.ID
	at := t0.Add(3 * time.Hour)
	if err := l.SetDecisionStatus(ctx(t), id, []string{store.DecisionApproved}, store.DecisionRunning, at); err != nil {
		t.Fatal(err)
	}
	if err := l.SetDecisionStatus(ctx(t), id, []string{store.DecisionApproved}, store.DecisionRunning, at); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second move from approved: %v, want ErrConflict", err)
	}
	if err := l.SetDecisionStatus(ctx(t), "nope", []string{store.DecisionApproved}, store.DecisionRunning, at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing decision: %v, want ErrNotFound", err)
	}
	if err := l.SetDecisionStatus(ctx(t), id, []string{store.DecisionPending, store.DecisionRunning}, store.DecisionDone, at); err != nil {
		t.Fatal(err)
	}
	d, err := l.Decision(ctx(t), id)
	if err != nil || d.Status != store.DecisionDone || !d.UpdatedAt.Equal(at) || d.Mode != "enforce" || d.Summary != "test" ||
		string(d.Plan) != `{"steps":[]}` || d.FindingKey != r.Finding.Key || d.AccountID != "111122223333" || d.Revision != 1 {
		t.Errorf("decision %+v, %v", d, err)
	}
}

func testApprove(t *testing.T, l store.Ledger) {
	ra := Rec(Finding("fa", 0, 1), store.DecisionPending, "ec2.isolate")
	rd := Rec(Finding("fd", 0, 1), store.DecisionPending, "ec2.isolate")
	record(t, l, ra, rd)
	at := t0.Add(4 * time.Hour)
	if err := l.Approve(ctx(t), &store.Approval{DecisionID: ra.Decision.ID, Verdict: "maybe", By: "ann", At: at}); err == nil {
		t.Error("a verdict other than approved/denied was accepted")
	}
	if err := l.Approve(ctx(t), &store.Approval{DecisionID: ra.Decision.ID, Verdict: store.DecisionApproved, By: "ann", Reason: "ok", At: at}); err != nil {
		t.Fatal(err)
	}
	if err := l.Approve(ctx(t), &store.Approval{DecisionID: ra.Decision.ID, Verdict: store.DecisionDenied, By: "bob", At: at}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second answer: %v, want ErrConflict", err)
	}
	if err := l.Approve(ctx(t), &store.Approval{DecisionID: "nope", Verdict: store.DecisionApproved, By: "ann", At: at}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing decision: %v, want ErrNotFound", err)
	}
	if err := l.Approve(ctx(t), &store.Approval{DecisionID: rd.Decision.ID, Verdict: store.DecisionDenied, By: "bob", At: at.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if d, _ := l.Decision(ctx(t), ra.Decision.ID); d.Status != store.DecisionApproved {
		t.Errorf("approved decision is %s", d.Status)
	}
	if d, _ := l.Decision(ctx(t), rd.Decision.ID); d.Status != store.DecisionDenied {
		t.Errorf("denied decision is %s", d.Status)
	}
	if s, _ := l.Step(ctx(t), ra.Steps[0].Key); s.State != store.StepPlanned {
		t.Errorf("approved decision's step is %s", s.State)
	}
	if s, _ := l.Step(ctx(t), rd.Steps[0].Key); s.State != store.StepCancelled || s.Reason != "denied by bob" {
		t.Errorf("denied decision's step: %s %q", s.State, s.Reason)
	}
	all, err := l.Approvals(ctx(t), store.Filter{})
	if err != nil || len(all) != 2 || all[0].By != "ann" || all[0].Reason != "ok" || !all[0].At.Equal(at) || all[1].Verdict != store.DecisionDenied {
		t.Errorf("approvals %v, %v", all, err)
	}
	one, err := l.Approvals(ctx(t), store.Filter{DecisionID: rd.Decision.ID})
	if err != nil || len(one) != 1 || one[0].By != "bob" {
		t.Errorf("approvals of one decision %v, %v", one, err)
	}
	denied, _ := l.Approvals(ctx(t), store.Filter{Status: store.DecisionDenied})
	if len(denied) != 1 {
		t.Errorf("denials %d, want 1", len(denied))
	}
}

func testExpire(t *testing.T, l store.Ledger) {
	r1 := Rec(Finding("f1", 0, 1), store.DecisionPending, "ec2.isolate") // expires at LastSeen+1h
	r2 := Rec(Finding("f2", 90, 1), store.DecisionPending, "ec2.isolate")
	record(t, l, r1, r2)
	exp, err := l.Expire(ctx(t), r1.Decision.ExpiresAt) // not before: nothing
	if err != nil || len(exp) != 0 {
		t.Fatalf("expire at the deadline: %v, %v", exp, err)
	}
	now := r1.Decision.ExpiresAt.Add(time.Second)
	exp, err = l.Expire(ctx(t), now)
	if err != nil || len(exp) != 1 || exp[0].ID != r1.Decision.ID || exp[0].Status != store.DecisionExpired {
		t.Fatalf("expire: %v, %v", exp, err)
	}
	if s, _ := l.Step(ctx(t), r1.Steps[0].Key); s.State != store.StepCancelled {
		t.Errorf("an expired decision's step is %s", s.State)
	}
	if d, _ := l.Decision(ctx(t), r2.Decision.ID); d.Status != store.DecisionPending {
		t.Errorf("a later decision is %s", d.Status)
	}
	if exp, _ := l.Expire(ctx(t), now); len(exp) != 0 {
		t.Errorf("expired twice: %v", exp)
	}
	if err := l.Approve(ctx(t), &store.Approval{DecisionID: r1.Decision.ID, Verdict: store.DecisionApproved, By: "ann", At: now}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("approving an expired decision: %v", err)
	}
}

func testUnfinished(t *testing.T, l store.Ledger) {
	ra := Rec(Finding("fa", 0, 1), store.DecisionApproved, "ec2.tag")
	rb := Rec(Finding("fb", 1, 1), store.DecisionApproved, "ec2.tag")
	rc := Rec(Finding("fc", 2, 1), store.DecisionDryRun)
	rd := Rec(Finding("fd", 3, 1), store.DecisionPending, "ec2.tag")
	record(t, l, ra, rb, rc, rd)
	if err := l.SetDecisionStatus(ctx(t), rb.Decision.ID, []string{store.DecisionApproved}, store.DecisionRunning, t0); err != nil {
		t.Fatal(err)
	}
	u, err := l.Unfinished(ctx(t))
	if err != nil || len(u) != 2 || u[0].ID != ra.Decision.ID || u[1].ID != rb.Decision.ID {
		t.Fatalf("unfinished %v, %v", u, err)
	}
	for _, id := range []string{ra.Decision.ID, rb.Decision.ID} {
		if err := l.SetDecisionStatus(ctx(t), id, []string{store.DecisionApproved, store.DecisionRunning}, store.DecisionDone, t0); err != nil {
			t.Fatal(err)
		}
	}
	if u, _ := l.Unfinished(ctx(t)); len(u) != 0 {
		t.Errorf("unfinished after done: %v", u)
	}
}

func testBudget(t *testing.T, l store.Ledger) {
	w := t0.Truncate(time.Hour)
	acct := store.BudgetKey{Scope: "account:1", Window: w, Limit: 2}
	total := store.BudgetKey{Scope: "total", Window: w, Limit: 3}
	acct2 := store.BudgetKey{Scope: "account:2", Window: w, Limit: 5}
	steps := []struct {
		keys []store.BudgetKey
		ok   bool
		full string
	}{
		{[]store.BudgetKey{acct, total}, true, ""},
		{[]store.BudgetKey{acct, total}, true, ""},
		{[]store.BudgetKey{acct, total}, false, "account:1"},
		{[]store.BudgetKey{acct2, total}, true, ""},
		{[]store.BudgetKey{acct2, total}, false, "total"},
		{[]store.BudgetKey{{Scope: "zero", Window: w, Limit: 0}}, false, "zero"},
	}
	for i, s := range steps {
		ok, full, err := l.TakeBudget(ctx(t), s.keys)
		if err != nil {
			t.Fatal(err)
		}
		if ok != s.ok || (full == nil) != (s.full == "") || (full != nil && full.Scope != s.full) {
			t.Errorf("take %d: ok %v full %v, want %v %q", i, ok, full, s.ok, s.full)
		}
	}
	for _, c := range []struct {
		k    store.BudgetKey
		want int
	}{{acct, 2}, {total, 3}, {acct2, 1}, {store.BudgetKey{Scope: "total", Window: w.Add(time.Hour)}, 0}} {
		if n, err := l.BudgetUsed(ctx(t), c.k); err != nil || n != c.want {
			t.Errorf("used %s@%v: %d, %v; want %d", c.k.Scope, c.k.Window, n, err, c.want)
		}
	}
}

func testEvents(t *testing.T, l store.Ledger) {
	r := Rec(Finding("f1", 0, 1), store.DecisionApproved, "ec2.tag")
	record(t, l, r)
	e1 := &store.Event{At: t0.Add(time.Minute), Kind: "step.started", FindingKey: r.Finding.Key, DecisionID: r.Decision.ID, StepKey: r.Steps[0].Key, Actor: "reflex", Message: "m1", Data: json.RawMessage(`{"a":1}`)}
	e2 := &store.Event{At: t0.Add(2 * time.Minute), Kind: "intake.rejected", Message: "bad input"}
	if err := l.Append(ctx(t), e1, e2); err != nil {
		t.Fatal(err)
	}
	if e1.Seq == 0 || e1.Seq >= e2.Seq {
		t.Errorf("Append's sequence numbers %d %d are not assigned and increasing", e1.Seq, e2.Seq)
	}
	all, err := l.Events(ctx(t), store.Filter{})
	if err != nil || len(all) != 3 || all[0].Kind != "decision.approved" || all[1].Kind != "step.started" || all[2].Message != "bad input" || all[0].Seq >= all[1].Seq {
		t.Fatalf("events %v, %v", all, err)
	}
	g := all[1]
	if g.StepKey != e1.StepKey || g.Actor != "reflex" || string(g.Data) != `{"a":1}` || !g.At.Equal(e1.At) || g.Seq != e1.Seq || g.DecisionID != r.Decision.ID {
		t.Errorf("event fields %+v", g)
	}
	for _, c := range []struct {
		f    store.Filter
		want int
	}{
		{store.Filter{FindingKey: r.Finding.Key}, 2},
		{store.Filter{DecisionID: r.Decision.ID}, 2},
		{store.Filter{Status: "intake.rejected"}, 1},
		{store.Filter{Since: t0.Add(90 * time.Second)}, 2}, // e2 and the decision event (at LastSeen = t0+1h)
		{store.Filter{Limit: 1}, 1},
	} {
		got, err := l.Events(ctx(t), c.f)
		if err != nil || len(got) != c.want {
			t.Errorf("events %+v: %d, %v; want %d", c.f, len(got), err, c.want)
		}
	}
}

func testListings(t *testing.T, l store.Ledger) {
	ra := Rec(Finding("fa", 0, 1), store.DecisionApproved, "ec2.tag", "ec2.isolate")
	rb := Rec(Finding("fb", 10, 1), store.DecisionDryRun)
	rb.Finding.AccountID = "444455556666"
	rb.Decision.AccountID = "444455556666"
	record(t, l, ra, rb)
	fs, err := l.Findings(ctx(t), store.Filter{})
	if err != nil || len(fs) != 2 || fs[0].ID != "fb" || fs[0].Raw != nil {
		t.Fatalf("findings (newest first, no raw): %v, %v", fs, err)
	}
	one, _ := l.Findings(ctx(t), store.Filter{FindingKey: ra.Finding.Key})
	if len(one) != 1 || len(one[0].Raw) == 0 {
		t.Errorf("one finding with raw: %v", one)
	}
	if fs, _ := l.Findings(ctx(t), store.Filter{AccountID: "444455556666"}); len(fs) != 1 {
		t.Errorf("findings of an account: %d", len(fs))
	}
	if fs, _ := l.Findings(ctx(t), store.Filter{Since: rb.Finding.LastSeen}); len(fs) != 1 {
		t.Errorf("findings since: %d", len(fs))
	}
	if fs, _ := l.Findings(ctx(t), store.Filter{Limit: 1}); len(fs) != 1 {
		t.Errorf("findings limit: %d", len(fs))
	}
	ds, err := l.Decisions(ctx(t), store.Filter{})
	if err != nil || len(ds) != 2 || ds[0].ID != rb.Decision.ID {
		t.Errorf("decisions newest first: %v, %v", ds, err)
	}
	for _, c := range []struct {
		f    store.Filter
		want int
	}{
		{store.Filter{Status: store.DecisionDryRun}, 1},
		{store.Filter{FindingKey: ra.Finding.Key}, 1},
		{store.Filter{DecisionID: ra.Decision.ID}, 1},
		{store.Filter{AccountID: "444455556666"}, 1},
		{store.Filter{Since: rb.Decision.CreatedAt}, 1},
	} {
		if got, err := l.Decisions(ctx(t), c.f); err != nil || len(got) != c.want {
			t.Errorf("decisions %+v: %d, %v; want %d", c.f, len(got), err, c.want)
		}
	}
	ss, err := l.Steps(ctx(t), store.Filter{})
	if err != nil || len(ss) != 2 || ss[0].Seq != 1 || ss[1].Seq != 2 {
		t.Errorf("steps in plan order: %v, %v", ss, err)
	}
	if ss, _ := l.Steps(ctx(t), store.Filter{Status: store.StepDone}); len(ss) != 0 {
		t.Errorf("done steps: %d", len(ss))
	}
	if ss, _ := l.Steps(ctx(t), store.Filter{DecisionID: ra.Decision.ID, Limit: 1}); len(ss) != 1 {
		t.Errorf("steps of a decision, limit 1: %d", len(ss))
	}
}

// Lookuper is the batch read some ledgers offer.
type Lookuper interface {
	Lookup(ctx context.Context, keys []string) (map[string]*store.Finding, error)
}

func testLookup(t *testing.T, l store.Ledger) {
	lk, ok := l.(Lookuper)
	if !ok {
		t.Skip("this ledger has no Lookup")
	}
	record(t, l, Rec(Finding("fa", 0, 3), store.DecisionNothing), Rec(Finding("fb", 0, 1), store.DecisionNothing))
	got, err := lk.Lookup(ctx(t), []string{Finding("fa", 0, 0).Key, Finding("fb", 0, 0).Key, "nope", Finding("fa", 0, 0).Key})
	if err != nil || len(got) != 2 {
		t.Fatalf("lookup: %v, %v", got, err)
	}
	if f := got[Finding("fa", 0, 0).Key]; f == nil || f.Count != 3 || f.Raw != nil {
		t.Errorf("lookup fa: %+v", f)
	}
}

// concurrency: many workers, one finding

const workers = 10

func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

func testConcurrentRecord(t *testing.T, l store.Ledger) {
	var news, others atomic.Int32
	var errs sync.Map
	parallel(workers, func(i int) {
		ch, err := l.Record(context.Background(), []*store.Record{Rec(Finding("f1", 0, 1), store.DecisionApproved, "ec2.isolate")})
		if err != nil {
			errs.Store(i, err)
			return
		}
		if ch[0] == store.New {
			news.Add(1)
		} else {
			others.Add(1)
		}
	})
	errs.Range(func(k, v any) bool { t.Errorf("worker %v: %v", k, v); return true })
	if news.Load() != 1 || others.Load() != workers-1 {
		t.Errorf("%d new and %d duplicates, want 1 and %d", news.Load(), others.Load(), workers-1)
	}
	ev, _ := l.Events(ctx(t), store.Filter{FindingKey: Finding("f1", 0, 0).Key})
	if len(ev) != 1 {
		t.Errorf("%d decision events, want 1", len(ev))
	}
}

func testConcurrentSteps(t *testing.T, l store.Ledger) {
	r := Rec(Finding("f1", 0, 1), store.DecisionApproved, "ec2.isolate")
	record(t, l, r)
	k := r.Steps[0].Key
	var ran atomic.Int32
	parallel(workers, func(int) {
		// each worker: start, "do", end; a worker whose end conflicts lost
		// the race, and one whose start conflicts found it ended
		if _, err := l.StartStep(context.Background(), k, t0); err != nil {
			return
		}
		if err := l.EndStep(context.Background(), &store.Step{Key: k, State: store.StepDone, EndedAt: t0}); err == nil {
			ran.Add(1)
		}
	})
	if ran.Load() != 1 {
		t.Errorf("%d workers ended the step, want exactly 1", ran.Load())
	}
	if s, _ := l.Step(ctx(t), k); s.State != store.StepDone {
		t.Errorf("step is %s", s.State)
	}
}

func testConcurrentBudget(t *testing.T, l store.Ledger) {
	k := store.BudgetKey{Scope: "total", Window: t0, Limit: 3}
	var took atomic.Int32
	parallel(workers, func(int) {
		if ok, _, err := l.TakeBudget(context.Background(), []store.BudgetKey{k}); err == nil && ok {
			took.Add(1)
		}
	})
	if took.Load() != 3 {
		t.Errorf("%d containments taken from a budget of 3", took.Load())
	}
	if n, _ := l.BudgetUsed(ctx(t), k); n != 3 {
		t.Errorf("used %d, want 3", n)
	}
}
