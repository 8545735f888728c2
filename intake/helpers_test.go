package intake_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/intake"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/store"
	"github.com/reflexsec/reflex/store/sqlite"
)

var baseFinding map[string]any

func init() {
	b, err := os.ReadFile("../engine/testdata/UnauthorizedAccess_EC2_TorClient__elastic.json")
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(b, &baseFinding); err != nil {
		panic(err)
	}
}

// event returns an EventBridge event of a finding with this id and version.
func event(id string, count int) []byte {
	return eventAt(id, count, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

// eventAt is event with updatedAt at.
func eventAt(id string, count int, at time.Time) []byte {
	f := map[string]any{}
	b, _ := json.Marshal(baseFinding)
	json.Unmarshal(b, &f)
	f["id"] = id
	f["updatedAt"] = at.Format("2006-01-02T15:04:05.000Z")
	svc := f["service"].(map[string]any)
	svc["count"] = count
	if ai, ok := svc["additionalInfo"].(map[string]any); ok {
		delete(ai, "sample")
	}
	ev := map[string]any{"version": "0", "id": "ev-" + id, "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
		"account": f["accountId"], "region": f["region"], "time": "2026-03-01T12:00:01Z", "resources": []string{}, "detail": f}
	out, _ := json.Marshal(ev)
	return out
}

// config writes an enforce configuration whose one step (test.effect)
// appends the step key to dir/effects.log once.
func config(t testing.TB, dir string) *policy.Policy {
	t.Helper()
	path := filepath.Join(dir, "reflex.yaml")
	os.WriteFile(path, fmt.Appendf(nil, `version: 1
rules:
  - name: contain
    pattern: {source: [aws.guardduty]}
    mode: enforce
    samples: act
    steps:
      - step: test.effect
        params: {dir: %q}
guards:
  budget: {per_account: 1000000, total: 1000000}
`, dir), 0o600)
	p, err := policy.Load(path, action.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newProc returns a processor on a new SQLite ledger and the directory
// of its effects.
func newProc(t testing.TB) (*intake.Processor, store.Ledger, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "ledger.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return procOn(t, db, dir), db, dir
}

func procOn(t testing.TB, led store.Ledger, dir string) *intake.Processor {
	eng := &engine.Engine{Policy: config(t, dir), Registry: action.NewRegistry(), Ledger: led}
	return &intake.Processor{Engine: eng, Log: slog.New(slog.DiscardHandler)}
}

// checkOnce asserts every finding id in ids has exactly one effect and one
// step attempt.
func checkOnce(t testing.TB, led store.Ledger, dir string, ids map[string]bool) {
	t.Helper()
	lines, err := action.TestEffects(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, l := range lines {
		seen[l]++
	}
	if len(lines) != len(ids) || len(seen) != len(ids) {
		t.Errorf("%d effects (%d distinct) for %d findings", len(lines), len(seen), len(ids))
	}
	for l, n := range seen {
		if n > 1 {
			t.Errorf("step %s ran %d times", l, n)
		}
	}
	steps, err := led.Steps(t.Context(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != len(ids) {
		t.Errorf("%d journal entries for %d findings", len(steps), len(ids))
	}
	for _, s := range steps {
		if s.State != store.StepDone || s.Attempts != 1 {
			t.Errorf("step %s: %s after %d attempts", s.Key, s.State, s.Attempts)
		}
	}
	fs, err := led.Findings(t.Context(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != len(ids) {
		t.Errorf("the ledger has %d findings, want %d", len(fs), len(ids))
	}
}
