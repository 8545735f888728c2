package main

import (
	"encoding/json"
	"github.com/reflexsec/reflex/finding"
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

// TestForwardedPatternWithPatternTest: the generated EventBridge pattern,
// checked with `reflex pattern test` like TestEventPattern, forwards every
// bundled finding some rule matches and drops the rest — for the example
// configuration and for a narrower one.
func TestForwardedPatternWithPatternTest(t *testing.T) {
	dir := t.TempDir()
	narrow := filepath.Join(dir, "narrow.yaml")
	if err := os.WriteFile(narrow, []byte(`version: 1
rules:
  - name: high-ec2
    pattern: {source: [aws.guardduty], detail: {severity: [{numeric: [">=", 7]}], resource: {resourceType: [Instance]}}}
    steps: [{step: record}]
  - name: iam-tor
    pattern: {detail: {type: [{wildcard: "*IAMUser/Tor*"}]}}
    steps: [{step: record}]
  - name: s3
    pattern: {detail: {resource: {resourceType: [S3Bucket]}, service: {count: [{numeric: [">", 1]}]}}}
    steps: [{step: record}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	events, _ := filepath.Glob("../../testdata/findings/*.json")
	events = append(events, "../../testdata/findings/non-finding-events/AWS_API_Call_via_CloudTrail__sumologic.json")
	for _, cfg := range []string{"../../examples/reflex.yaml", narrow} {
		code, out, errOut := runCLI(t, "", "eventbridge-pattern", "-c", cfg, "-o", "json")
		if code != 0 {
			t.Fatalf("%s: exit %d %s", cfg, code, errOut)
		}
		var res struct{ Patterns []string }
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		p, err := policyRules(cfg)
		if err != nil {
			t.Fatal(err)
		}
		forwardedCount, matchedCount := 0, 0
		for _, ev := range events {
			ev = eventFile(t, dir, ev)
			forwarded := false
			for _, pat := range res.Patterns {
				if code, _, _ := runCLI(t, "", "pattern", "test", "--pattern", pat, "--event", ev); code == 0 {
					forwarded = true
				}
			}
			matched := false
			for _, rp := range p {
				if code, _, _ := runCLI(t, "", "pattern", "test", "--pattern", rp, "--event", ev); code == 0 {
					matched = true
				}
			}
			isFinding := !strings.Contains(ev, "non-finding")
			if forwarded != (matched && isFinding) {
				t.Errorf("%s, %s: forwarded %v, a rule matches %v", filepath.Base(cfg), filepath.Base(ev), forwarded, matched)
			}
			if forwarded {
				forwardedCount++
			}
			if matched && isFinding {
				matchedCount++
			}
		}
		t.Logf("%s: %d of %d events forwarded", filepath.Base(cfg), forwardedCount, len(events))
		if cfg == narrow && (forwardedCount == 0 || forwardedCount == len(events)-1) {
			t.Errorf("narrow configuration forwards %d of %d: the test does not discriminate", forwardedCount, len(events))
		}
	}
}

// policyRules returns the configuration's rule patterns.
func policyRules(cfg string) ([]string, error) {
	g := &globals{config: cfg}
	p, err := loadPolicy(g)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range p.Rules {
		out = append(out, r.PatternJSON)
	}
	return out, nil
}

// eventFile writes the finding's EventBridge event (the original event, or
// an envelope around a bare finding) to a file for `reflex pattern test`.
func eventFile(t *testing.T, dir, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := finding.ParseBytes(path, b)
	if len(fs) == 0 {
		return path // not a finding: give the event as it is
	}
	out := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(out, fs[0].Event(), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTerraformExamplesReadTheGeneratedJSON: the Terraform modules' README
// examples read `reflex eventbridge-pattern -o json` and `reflex iam-policy
// -o json` output by these paths; the paths must exist in the output.
func TestTerraformExamplesReadTheGeneratedJSON(t *testing.T) {
	readme, err := os.ReadFile("../../deploy/terraform/reflex/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`jsondecode(file("patterns.json")).patterns`, `jsondecode(file("policy.json")).member_role.permissions_policy`} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README no longer reads %s: update this test with it", want)
		}
	}
	code, out, errOut := runCLI(t, "", "eventbridge-pattern", "-c", "../../examples/reflex.yaml", "-o", "json")
	var pats struct {
		Patterns []string `json:"patterns"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &pats) != nil || len(pats.Patterns) == 0 {
		t.Fatalf("eventbridge-pattern: exit %d %s %s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "iam-policy", "-c", "../../examples/reflex.yaml", "-o", "json")
	var pol struct {
		MemberRole struct {
			PermissionsPolicy struct {
				Version   string
				Statement []struct{ Effect string }
			} `json:"permissions_policy"`
		} `json:"member_role"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &pol) != nil || pol.MemberRole.PermissionsPolicy.Version != "2012-10-17" || len(pol.MemberRole.PermissionsPolicy.Statement) == 0 {
		t.Fatalf("iam-policy: exit %d %s %s", code, out, errOut)
	}
}
