package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/store"
	"github.com/reflexsec/reflex/store/sqlite"
)

// TestCrashResume kills `reflex run` (SIGKILL) at many points and runs it
// again until it completes: the ledger stays consistent, every planned step
// ends exactly once, every side effect happens exactly once, and nothing
// recorded is lost between runs.
func TestCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL")
	}
	dir := t.TempDir()
	bin := reflexBinary(t)
	effects := filepath.Join(dir, "effects")
	if err := os.Mkdir(effects, 0o700); err != nil {
		t.Fatal(err)
	}
	ledger := filepath.Join(dir, "ledger.db")
	cfg := filepath.Join(dir, "reflex.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
rules:
  - name: contain
    pattern: {source: [aws.guardduty]}
    mode: enforce
    samples: act
    steps:
      - step: test.effect
        params: {dir: %q, sleep: 40ms}
      - step: record
ledger: {path: %q}
guards:
  budget: {per_account: 1000, total: 1000}
`, effects, ledger)), 0o600)

	// N findings, distinct ids, one stream
	src, err := os.ReadFile("../../engine/testdata/UnauthorizedAccess_EC2_TorClient__elastic.json")
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	var stream bytes.Buffer
	for i := range n {
		var m map[string]any
		json.Unmarshal(src, &m)
		m["id"] = fmt.Sprintf("crash%02d", i)
		b, _ := json.Marshal(m)
		stream.Write(b)
		stream.WriteByte('\n')
	}
	findings := filepath.Join(dir, "findings.ndjson")
	os.WriteFile(findings, stream.Bytes(), 0o600)

	ctx := context.Background()
	ended := map[string]string{} // step key → final state once seen
	recorded := 0
	kills, finished := 0, false
	// Kill the first runs at points spread over a run; then let one run to
	// the end (bounded generously): on a slow or loaded machine a run may
	// take longer than every kill point, and the test must still finish.
	const killRuns = 30
	for attempt := 0; attempt <= killRuns && !finished; attempt++ {
		cmd := exec.Command(bin, "run", "-c", cfg, findings)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// kill points spread over a run (~12×15ms×2 of step sleeps plus start-up)
		delay := time.Duration(5+(attempt*53)%250) * time.Millisecond
		if attempt == killRuns {
			delay = 5 * time.Minute // the last run is not killed
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run %d: %v\n%s", attempt, err, stderr.String())
			}
			finished = true
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
		}
		// after every run: consistent, nothing lost
		db, err := sqlite.Open(ledger, sqlite.Options{})
		if err != nil {
			if attempt == 0 && strings.Contains(err.Error(), "no such file") {
				continue
			}
			t.Fatalf("after run %d: %v", attempt, err)
		}
		if err := db.Check(ctx); err != nil {
			t.Fatal(err)
		}
		fs, err := db.Findings(ctx, store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) < recorded {
			t.Fatalf("after run %d: %d findings recorded, %d before", attempt, len(fs), recorded)
		}
		recorded = len(fs)
		steps, err := db.Steps(ctx, store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if prev, ok := ended[s.Key]; ok && prev != s.State {
				t.Fatalf("after run %d: step %s was %s, now %s", attempt, s.Key, prev, s.State)
			}
			if store.Ended(s.State) {
				ended[s.Key] = s.State
			}
		}
		db.Close()
	}
	if !finished {
		t.Fatalf("reflex run did not finish (%d kills, then one run given 5 minutes)", kills)
	}
	t.Logf("%d kills before a run completed", kills)
	if kills < 10 {
		t.Errorf("only %d kills: the test did not exercise crashes", kills)
	}

	db, err := sqlite.Open(ledger, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	decs, _ := db.Decisions(ctx, store.Filter{})
	if len(decs) != n {
		t.Fatalf("%d decisions, want %d", len(decs), n)
	}
	for _, d := range decs {
		if d.Status != store.DecisionDone {
			t.Errorf("decision %s: %s", d.ID, d.Status)
		}
	}
	steps, _ := db.Steps(ctx, store.Filter{})
	if len(steps) != 2*n {
		t.Fatalf("%d steps, want %d", len(steps), 2*n)
	}
	for _, s := range steps {
		if s.State != store.StepDone {
			t.Errorf("step %s: %s (%s)", s.Key, s.State, s.Reason)
		}
	}
	lines, err := action.TestEffects(effects)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, l := range lines {
		seen[l]++
	}
	if len(seen) != n {
		t.Errorf("%d distinct effects, want %d", len(seen), n)
	}
	for l, c := range seen {
		if c != 1 {
			t.Errorf("effect %s happened %d times", l, c)
		}
	}
}
