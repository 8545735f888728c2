package intake_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/intake"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/store/sqlite"
)

// BenchmarkHTTPIntake posts distinct findings to the HTTP intake over
// loopback from several clients at once, on a SQLite ledger with its full
// sync, and reports findings/s. "record" is the intake path alone (a
// dry-run rule: each 202 means the decision is durable); "enforce" adds
// the execution of one step per finding, which the benchmark waits for.
// With and without group commit:
//
//	go test ./intake -run '^$' -bench HTTPIntake -benchtime 2000x
func BenchmarkHTTPIntake(b *testing.B) {
	for _, mode := range []string{"record", "enforce"} {
		for _, grouped := range []bool{true, false} {
			for _, clients := range []int{1, 16} {
				name := fmt.Sprintf("%s/group=%v/clients=%d", mode, grouped, clients)
				b.Run(name, func(b *testing.B) { benchHTTP(b, mode, grouped, clients) })
			}
		}
	}
}

var benchRun atomic.Int64

func benchHTTP(b *testing.B, mode string, grouped bool, clients int) {
	dir := b.TempDir()
	m := policy.DryRun
	if mode == "enforce" {
		m = policy.Enforce
	}
	path := filepath.Join(dir, "reflex.yaml")
	os.WriteFile(path, fmt.Appendf(nil, `version: 1
rules:
  - name: contain
    pattern: {source: [aws.guardduty]}
    mode: %s
    samples: act
    steps:
      - step: test.effect
        params: {dir: %q}
guards:
  budget: {per_account: 100000000, total: 100000000}
`, m, dir), 0o600)
	pol, err := policy.Load(path, action.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	db, err := sqlite.Open(filepath.Join(dir, "ledger.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	p := &intake.Processor{Engine: &engine.Engine{Policy: pol, Registry: action.NewRegistry(), Ledger: db},
		Log: slog.New(slog.DiscardHandler), NoGroupCommit: !grouped}
	srv := newLoopback(b, &intake.HTTP{Proc: p, Auth: &intake.Auth{Keys: []string{testKey}}, ExecCtx: context.Background()})
	run := benchRun.Add(1)
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = event(fmt.Sprintf("bench-%d-%d", run, i), 1)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				if code := post(b, srv, bodies[i]); code != 202 {
					b.Errorf("status %d", code)
				}
			}
		}()
	}
	wg.Wait()
	p.Drain(context.Background())
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "findings/s")
	if mode == "enforce" {
		lines, err := action.TestEffects(dir)
		if err != nil || len(lines) != b.N {
			b.Errorf("%d effects for %d findings (%v)", len(lines), b.N, err)
		}
	}
}
