package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEventBridgePattern(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "reflex.yaml")
	if err := os.WriteFile(cfg, []byte(`version: 1
rules:
  - name: high
    pattern: {source: [aws.guardduty], detail: {severity: [{numeric: [">=", 7]}]}}
    steps: [{step: record}]
  - name: tor
    pattern: {detail: {type: [{suffix: "/TorIPCaller"}]}}
    steps: [{step: record}]
  - name: not-findings
    pattern: {source: [aws.ec2]}
    steps: [{step: record}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "eventbridge-pattern", "-c", cfg, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		Patterns []string
		Groups   []struct{ Rules []string }
		Skipped  []struct{ Rule, Reason string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want := `{"$or":[{"detail":{"severity":[{"numeric":[">=",7]}]}},{"detail":{"type":[{"suffix":"/TorIPCaller"}]}}],"detail-type":["GuardDuty Finding"],"source":["aws.guardduty"]}`
	if len(got.Patterns) != 1 || got.Patterns[0] != want {
		t.Errorf("patterns = %q\nwant %q", got.Patterns, want)
	}
	if len(got.Skipped) != 1 || got.Skipped[0].Rule != "not-findings" {
		t.Errorf("skipped = %+v", got.Skipped)
	}
	code, out, errOut = runCLI(t, "", "eventbridge-pattern", "-c", cfg)
	if code != 0 || !strings.Contains(out, "for rules: high, tor") || !strings.Contains(errOut, `rule "not-findings" is not forwarded`) {
		t.Errorf("text: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "", "eventbridge-pattern"); code != 2 || !strings.Contains(errOut, "no configuration") {
		t.Errorf("without -c: exit %d %s", code, errOut)
	}
}
