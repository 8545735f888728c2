package finding

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse reads the bundled findings (events and bare findings, 4.7 KB
// each on average) as one stream, the way an export file or stdin is read,
// and reports findings per second and allocations per finding.
//
//	go test -run '^$' -bench Parse -benchmem ./finding/
func BenchmarkParse(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(findingsDir, "*.json"))
	var stream []byte
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		stream = append(append(stream, data...), '\n')
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		rd := NewReader("bench", bytes.NewReader(stream))
		for {
			_, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	if n != b.N*len(files) {
		b.Fatalf("read %d findings, want %d", n, b.N*len(files))
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "findings/s")
	b.ReportMetric(allocsPerFinding(stream, len(files)), "allocs/finding")
}

func allocsPerFinding(stream []byte, per int) float64 {
	allocs := testing.AllocsPerRun(5, func() {
		rd := NewReader("bench", bytes.NewReader(stream))
		for {
			if _, err := rd.Next(); err != nil {
				return
			}
		}
	})
	return allocs / float64(per)
}
