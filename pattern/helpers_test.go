package pattern

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// loadEvents returns the bundled findings as compact EventBridge events,
// sorted by file name. Bare findings are wrapped in the envelope EventBridge
// puts around GuardDuty findings.
func loadEvents(tb testing.TB) (names []string, events [][]byte) {
	tb.Helper()
	files, err := filepath.Glob("testdata/findings/*.json")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no findings in testdata/findings: %v", err)
	}
	sort.Strings(files)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(raw, &probe); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		if _, ok := probe["detail"]; !ok {
			var fd struct {
				ID        string `json:"id"`
				AccountID string `json:"accountId"`
				Region    string `json:"region"`
				UpdatedAt string `json:"updatedAt"`
			}
			if err := json.Unmarshal(raw, &fd); err != nil {
				tb.Fatal(err)
			}
			env := map[string]any{
				"version":     "0",
				"id":          "c8c4daa7-a20c-2f03-0070-b7393dd542ad",
				"detail-type": "GuardDuty Finding",
				"source":      "aws.guardduty",
				"account":     fd.AccountID,
				"time":        fd.UpdatedAt,
				"region":      fd.Region,
				"resources":   []string{},
				"detail":      json.RawMessage(raw),
			}
			if raw, err = json.Marshal(env); err != nil {
				tb.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			tb.Fatal(err)
		}
		names = append(names, filepath.Base(f))
		events = append(events, buf.Bytes())
	}
	return names, events
}

func sorted(s []string) []string {
	sort.Strings(s)
	return s
}
