package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/reflexsec/reflex/store"
)

// BenchmarkRecord measures the ledger alone: batches of 500 new findings
// (4 KB of raw JSON each) with a dry-run decision (1.5 KB of plan).
func BenchmarkRecord(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "ledger.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	raw := bytes.Repeat([]byte("x"), 4096)
	plan := bytes.Repeat([]byte("p"), 1500)
	ctx := context.Background()
	const batch = 500
	recs := make([]*store.Record, 0, batch)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		key := fmt.Sprintf("123456789012/us-east-1/%032d", i)
		recs = append(recs, &store.Record{
			Finding:  &store.Finding{Key: key, AccountID: "123456789012", Region: "us-east-1", ID: key, Type: "T", Count: 1, Raw: raw, LastSeen: t0},
			Decision: &store.Decision{ID: fmt.Sprintf("d-%016x", i), FindingKey: key, Mode: "dry-run", Status: "dry-run", Plan: plan, CreatedAt: t0},
		})
		if len(recs) == batch || i == b.N-1 {
			if _, err := db.Record(ctx, recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "findings/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "findings/cpu-s")
	}
}
