package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reflexsec/reflex/action"
)

const bundled = "../../testdata/findings"

func TestValidateCmd(t *testing.T) {
	code, out, errOut := runCLI(t, "", "validate", "-c", "../../examples/reflex.yaml")
	if code != 0 || !strings.Contains(out, "valid: 5 rule(s)") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("rules:\n  - name: r\n    pattern: {source: x}\n    steps: [{step: nope}]\n    moed: enforce\n"), 0o600)
	code, _, errOut = runCLI(t, "", "validate", "-c", bad)
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, w := range []string{bad + ":3:14: rule \"r\": invalid event pattern:", bad + `:4:20: rule "r": unknown step "nope"; known steps:`, bad + `:5:5: unknown key "moed" in rules[1]: did you mean "mode"?`} {
		if !strings.Contains(errOut, w) {
			t.Errorf("missing %q in\n%s", w, errOut)
		}
	}
	code, out, _ = runCLI(t, "", "-o", "json", "validate", "-c", bad)
	var v struct {
		Valid  bool
		Errors []struct{ Line, Column int }
	}
	if code != 2 || json.Unmarshal([]byte(out), &v) != nil || v.Valid || len(v.Errors) != 3 {
		t.Fatalf("json: exit %d %s", code, out)
	}
	if code, _, errOut = runCLI(t, "", "validate"); code != 2 || !strings.Contains(errOut, "no configuration") {
		t.Fatalf("no -c: exit %d %s", code, errOut)
	}
}

func TestPlanCmd(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	code, out, errOut := runCLI(t, "", "plan", "-c", "../../examples/reflex.yaml", "--explain", bundled)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"✓ ec2-high-severity [dry-run]", "ec2.contain", "sample finding", "pattern does not match: detail."} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q", w)
		}
	}
	code, out, _ = runCLI(t, "", "-o", "json", "plan", "-c", "../../examples/reflex.yaml", bundled)
	var plans []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &plans) != nil || len(plans) < 30 {
		t.Fatalf("json plans: exit %d, %d plans", code, len(plans))
	}
	if code, _, errOut = runCLI(t, "{not json", "plan", "-c", "../../examples/reflex.yaml", "-"); code != 2 || !strings.Contains(errOut, "invalid findings") {
		t.Fatalf("bad finding: exit %d %s", code, errOut)
	}
}

func findingWithID(t *testing.T, id string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(bundled, "UnauthorizedAccess_EC2_TorClient__elastic.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	m["id"] = id
	out, _ := json.Marshal(m)
	return string(out)
}

func TestRunApproveHistory(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
rules:
  - name: now
    pattern: {detail: {id: [run1]}}
    mode: enforce
    samples: act
    steps: [{step: test.effect, params: {dir: %[1]q}}]
  - name: later
    pattern: {detail: {id: [ask1]}}
    mode: approve
    samples: act
    steps: [{step: test.effect, params: {dir: %[1]q}}]
  - name: broken
    pattern: {detail: {id: [bad1]}}
    mode: enforce
    samples: act
    steps: [{step: test.effect, params: {dir: %[1]q, fail_hard: true}}]
ledger: {path: %[2]q}
`, dir, filepath.Join(dir, "ledger.db"))), 0o600)

	code, out, errOut := runCLI(t, findingWithID(t, "run1"), "run", "-c", cfg, "-")
	if code != 0 || !strings.Contains(out, ": done") {
		t.Fatalf("run: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, findingWithID(t, "ask1"), "run", "-c", cfg, "-")
	if code != 0 || !strings.Contains(out, "pending-approval") {
		t.Fatalf("approve mode: exit %d\n%s", code, out)
	}
	id := strings.TrimSuffix(strings.Fields(out)[1], ":")
	code, out, errOut = runCLI(t, "", "approve", "-c", cfg, id, "--by", "alice", "--reason", "confirmed")
	if code != 0 || !strings.Contains(out, "approved by alice") || !strings.Contains(out, "executed: done") {
		t.Fatalf("approve: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "", "deny", "-c", cfg, id, "--by", "bob")
	if code != 1 || !strings.Contains(errOut, "not pending approval") {
		t.Fatalf("deny after approve: exit %d %s", code, errOut)
	}
	code, out, errOut = runCLI(t, findingWithID(t, "bad1"), "run", "-c", cfg, "-")
	if code != 1 || !strings.Contains(errOut, "step(s) failed") || !strings.Contains(out, "planned permanent failure") {
		t.Fatalf("failed step: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "-o", "json", "history", "-c", cfg)
	var decs []struct {
		ID     string
		Status string
		Steps  []struct{ State string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &decs) != nil || len(decs) != 3 {
		t.Fatalf("history: exit %d %s", code, out)
	}
	code, out, _ = runCLI(t, "", "history", "approvals", "-c", cfg)
	if code != 0 || !strings.Contains(out, "approved by alice  confirmed") {
		t.Fatalf("approvals: %s", out)
	}
	code, out, _ = runCLI(t, "", "history", "events", "-c", cfg, "--decision", id)
	if code != 0 || !strings.Contains(out, "approval.approved") || !strings.Contains(out, "step.done") {
		t.Fatalf("events: %s", out)
	}
}

func TestConcurrentRunsActOnce(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
rules:
  - name: now
    pattern: {source: [aws.guardduty]}
    mode: enforce
    samples: act
    steps: [{step: test.effect, params: {dir: %q, sleep: 20ms}}]
ledger: {path: %q}
`, dir, filepath.Join(dir, "ledger.db"))), 0o600)
	var stream strings.Builder
	for i := range 5 {
		stream.WriteString(findingWithID(t, fmt.Sprintf("conc%d", i)) + "\n")
	}
	codes := make(chan int, 4)
	for range 4 {
		go func() {
			code, _, errOut := runCLI(t, stream.String(), "run", "-c", cfg, "-")
			if code != 0 {
				t.Log(errOut)
			}
			codes <- code
		}()
	}
	for range 4 {
		if c := <-codes; c != 0 {
			t.Errorf("exit %d", c)
		}
	}
	lines, _ := action.TestEffects(dir)
	if len(lines) != 5 {
		t.Fatalf("%d effects for 5 findings run 4 times at once: %v", len(lines), lines)
	}
}
