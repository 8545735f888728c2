package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reflexsec/reflex/finding"
)

// TestDecisionIDUnchanged checks DecisionID against its definition.
func TestDecisionIDUnchanged(t *testing.T) {
	ref := func(f *finding.Finding) string {
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00%s\x00%d", f.Key().String(), f.UpdatedAt.Time.UTC().Format(time.RFC3339Nano), f.Service.Count)
		return "d-" + hex.EncodeToString(h.Sum(nil)[:8])
	}
	files, _ := filepath.Glob("../testdata/findings/*.json")
	var fs []*finding.Finding
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		x, _ := finding.ParseBytes(p, data)
		fs = append(fs, x...)
	}
	odd := &finding.Finding{AccountID: "é", Region: "%d", ID: string(make([]byte, 300)), Service: finding.Service{Count: -5}}
	odd.UpdatedAt.Time = time.Date(2026, 1, 2, 3, 4, 5, 123, time.FixedZone("x", 7200))
	fs = append(fs, odd, &finding.Finding{})
	for _, f := range fs {
		if got, want := DecisionID(f), ref(f); got != want {
			t.Fatalf("DecisionID(%s) = %s, want %s", f.Key(), got, want)
		}
	}
}
