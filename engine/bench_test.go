package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/store/sqlite"
)

// benchFindings are the bundled findings (testdata/findings at the
// repository root), else this package's.
func benchFindings(b testing.TB) []*finding.Finding {
	files, _ := filepath.Glob("../testdata/findings/*.json")
	if len(files) == 0 {
		files, _ = filepath.Glob("testdata/*.json")
	}
	var out []*finding.Finding
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		fs, _ := finding.ParseBytes(f, data)
		out = append(out, fs...)
	}
	if len(out) == 0 {
		b.Fatal("no findings")
	}
	return out
}

// benchEngine is an engine on a new SQLite ledger with the example
// configuration, planning sample findings (the bundled ones are samples)
// instead of ignoring them.
func benchEngine(b testing.TB) *Engine {
	b.Helper()
	src, err := os.ReadFile("../examples/reflex.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cfg := strings.Replace(string(src), "samples: ignore", "samples: dry-run", 1)
	reg := action.NewRegistry()
	p, err := policy.Parse("reflex.yaml", []byte(cfg), reg)
	if err != nil {
		b.Fatal(err)
	}
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "ledger.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return &Engine{Policy: p, Registry: reg, Ledger: db}
}

// BenchmarkRecordDryRun measures Decide + ledger write with the example
// configuration in dry-run, batched 500 findings per transaction, every
// finding new (ids made unique). Reports findings/s.
func BenchmarkRecordDryRun(b *testing.B) {
	eng := benchEngine(b)
	base := benchFindings(b)
	const batch = 500
	ctx := context.Background()
	buf := make([]*finding.Finding, 0, batch)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, w0 := cpuTime(), written()
	n := 0
	for i := 0; i < b.N; i++ {
		f := *base[i%len(base)]
		f.ID = fmt.Sprintf("%s-%d", f.ID, i)
		buf = append(buf, &f)
		if len(buf) == batch || i == b.N-1 {
			rs, err := eng.Record(ctx, buf, Options{})
			if err != nil {
				b.Fatal(err)
			}
			n += len(rs)
			buf = buf[:0]
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "findings/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "findings/cpu-s")
	}
	b.ReportMetric(float64(written()-w0)/float64(n), "wbytes/finding")
}

// BenchmarkRecordStreamDryRun is BenchmarkRecordDryRun through RecordStream:
// the next batch is decided while the previous one is written.
func BenchmarkRecordStreamDryRun(b *testing.B) {
	eng := benchEngine(b)
	base := benchFindings(b)
	fs := make([]*finding.Finding, b.N)
	for i := range fs {
		f := *base[i%len(base)]
		f.ID = fmt.Sprintf("%s-%d", f.ID, i)
		fs[i] = &f
	}
	in := make(chan *finding.Finding, 1024)
	go func() {
		for _, f := range fs {
			in <- f
		}
		close(in)
	}()
	b.ResetTimer()
	cpu0, w0 := cpuTime(), written()
	n := 0
	err := eng.RecordStream(context.Background(), in, 500, Options{}, func(rs []*Result) error {
		n += len(rs)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if n != b.N {
		b.Fatalf("%d results for %d findings", n, b.N)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "findings/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(n)/cpu.Seconds(), "findings/cpu-s")
	}
	b.ReportMetric(float64(written()-w0)/float64(n), "wbytes/finding")
}

// BenchmarkWriteOnly is the writer stage of BenchmarkRecordStreamDryRun
// alone: every batch is decided before the timer starts, and only the
// ledger writes (commitBatch: one transaction per batch of 500) are timed.
// RecordStream can go no faster than this.
func BenchmarkWriteOnly(b *testing.B) {
	eng := benchEngine(b)
	base := benchFindings(b)
	const size = 500
	ctx := context.Background()
	var batches []*batch
	for i := 0; i < b.N; i += size {
		fs := make([]*finding.Finding, 0, size)
		for j := i; j < min(i+size, b.N); j++ {
			f := *base[j%len(base)]
			f.ID = fmt.Sprintf("%s-%d", f.ID, j)
			fs = append(fs, &f)
		}
		bt, err := eng.prepareBatch(ctx, fs, Options{})
		if err != nil {
			b.Fatal(err)
		}
		batches = append(batches, bt)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, w0 := cpuTime(), written()
	n := 0
	for _, bt := range batches {
		rs, err := eng.commitBatch(ctx, bt)
		if err != nil {
			b.Fatal(err)
		}
		n += len(rs)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "findings/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(n)/cpu.Seconds(), "findings/cpu-s")
	}
	b.ReportMetric(float64(written()-w0)/float64(n), "wbytes/finding")
}
