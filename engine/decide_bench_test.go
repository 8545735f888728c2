package engine

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/policy"
)

// BenchmarkPrepareOnly measures Decide and the stored plan's encoding, without
// the ledger.
func BenchmarkPrepareOnly(b *testing.B) {
	src, _ := os.ReadFile("../examples/reflex.yaml")
	cfg := strings.Replace(string(src), "samples: ignore", "samples: dry-run", 1)
	reg := action.NewRegistry()
	p, err := policy.Parse("reflex.yaml", []byte(cfg), reg)
	if err != nil {
		b.Fatal(err)
	}
	eng := &Engine{Policy: p, Registry: reg}
	base := benchFindings(b)
	b.ResetTimer()
	cpu0 := cpuTime()
	size := 0
	for i := 0; i < b.N; i++ {
		pl, err := eng.Decide(context.Background(), base[i%len(base)], Options{NoLedger: true})
		if err != nil {
			b.Fatal(err)
		}
		j, _ := marshalStored(pl)
		size += len(j)
	}
	b.ReportMetric(float64(size)/float64(b.N), "planbytes")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "findings/cpu-s")
	}
}
