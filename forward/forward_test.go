package forward

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/pattern"
)

// events returns the EventBridge events of every bundled finding, plus
// variations of them (other severities, types, resource types) and events
// that are not findings.
func events(t *testing.T) [][]byte {
	t.Helper()
	files, _ := filepath.Glob("../testdata/findings/*.json")
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fs, _ := finding.ParseBytes(f, b)
		for _, fd := range fs {
			out = append(out, fd.Event())
			for _, sev := range []string{"2", "5.5", "8", "9.5"} {
				var ev map[string]any
				_ = json.Unmarshal(fd.Event(), &ev)
				ev["detail"].(map[string]any)["severity"] = json.Number(sev)
				v, _ := json.Marshal(ev)
				out = append(out, v)
			}
		}
	}
	out = append(out,
		[]byte(`{"source":"aws.guardduty","detail-type":"AWS API Call via CloudTrail","detail":{"severity":9,"type":"Backdoor:EC2/Spambot"}}`),
		[]byte(`{"source":"aws.ec2","detail-type":"GuardDuty Finding","detail":{"severity":9}}`),
	)
	return out
}

// forwarded says whether any group's pattern matches the event.
func forwarded(t *testing.T, gs []Group, ev []byte) bool {
	for _, g := range gs {
		p, err := pattern.Parse([]byte(g.Pattern))
		if err != nil {
			t.Fatalf("group pattern %s: %v", g.Pattern, err)
		}
		if ok, _ := p.Match(ev); ok {
			return true
		}
	}
	return false
}

// wanted says whether any rule matches the event and the event is a finding.
func wanted(t *testing.T, rules []Rule, ev []byte) bool {
	var env struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
	}
	_ = json.Unmarshal(ev, &env)
	if env.Source != "aws.guardduty" || env.DetailType != "GuardDuty Finding" {
		return false
	}
	for _, r := range rules {
		p, err := pattern.Parse([]byte(r.Pattern))
		if err != nil {
			t.Fatalf("rule %s: %v", r.Name, err)
		}
		if ok, _ := p.Match(ev); ok {
			return true
		}
	}
	return false
}

func TestCompute(t *testing.T) {
	highEC2 := Rule{"ec2-high", `{"source":["aws.guardduty"],"detail":{"severity":[{"numeric":[">=",7]}],"resource":{"resourceType":["Instance"]}}}`}
	iam := Rule{"iam", `{"detail":{"type":[{"prefix":"UnauthorizedAccess:IAMUser/"},{"prefix":"PenTest:IAMUser/"}]}}`}
	s3 := Rule{"s3", `{"detail-type":["GuardDuty Finding"],"detail":{"resource":{"resourceType":["S3Bucket"]},"$or":[{"severity":[{"numeric":[">",7]}]},{"type":[{"wildcard":"*S3/Tor*"}]}]}}`}
	ec2Events := Rule{"ec2-events", `{"source":["aws.ec2"]}`}
	catchAll := Rule{"everything", `{"source":[{"prefix":"aws."}]}`}
	tests := []struct {
		name    string
		rules   []Rule
		groups  int
		skipped []string
	}{
		{"one rule", []Rule{highEC2}, 1, nil},
		{"several rules in one $or", []Rule{highEC2, iam, s3}, 1, nil},
		{"a rule that never sees findings is skipped", []Rule{highEC2, ec2Events}, 1, []string{"ec2-events"}},
		{"a catch-all rule makes one catch-all pattern", []Rule{highEC2, catchAll, iam}, 1, nil},
	}
	evs := events(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Compute(tt.rules, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Groups) != tt.groups {
				t.Fatalf("groups = %+v", res.Groups)
			}
			var skipped []string
			for _, s := range res.Skipped {
				skipped = append(skipped, s.Rule)
			}
			if !slices.Equal(skipped, tt.skipped) {
				t.Errorf("skipped = %v, want %v", skipped, tt.skipped)
			}
			for _, ev := range evs {
				if got, want := forwarded(t, res.Groups, ev), wanted(t, tt.rules, ev); got != want {
					t.Errorf("event %.120s: forwarded %v, a rule matches %v\npatterns: %v", ev, got, want, res.Patterns())
				}
			}
		})
	}
}

// TestPacking: many rules are split into several EventBridge rules, each a
// valid pattern within the size quota, together forwarding exactly what the
// rules match.
func TestPacking(t *testing.T) {
	var rules []Rule
	for i := range 60 {
		rules = append(rules, Rule{fmt.Sprintf("rule-%02d", i),
			fmt.Sprintf(`{"detail":{"type":[{"prefix":"Type%02d:"}],"severity":[{"numeric":[">=",%d]}]}}`, i, i%10)})
	}
	// One of the findings' types, so some events match.
	rules = append(rules, Rule{"tor", `{"detail":{"type":[{"suffix":"/TorIPCaller"}]}}`})
	res, err := Compute(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Groups) < 2 {
		t.Fatalf("%d groups: the union should exceed 2,048 characters", len(res.Groups))
	}
	var covered []string
	for _, g := range res.Groups {
		if n := len([]rune(g.Pattern)); n > 2048 {
			t.Errorf("group pattern has %d characters", n)
		}
		covered = append(covered, g.Rules...)
	}
	if len(covered) != len(rules) {
		t.Errorf("%d rules covered, want %d", len(covered), len(rules))
	}
	for _, ev := range events(t) {
		if got, want := forwarded(t, res.Groups, ev), wanted(t, rules, ev); got != want {
			t.Errorf("event %.80s: forwarded %v, wanted %v", ev, got, want)
		}
	}
	// $or combinations also bound a group.
	var combos []Rule
	for i := range 30 { // 30 × 36 = 1,080 combinations: over the 1,000 limit
		combos = append(combos, Rule{fmt.Sprintf("c%d", i),
			`{"detail":{"$or":[{"a":["1"]},{"b":["2"]},{"c":["3"]}],"resource":{"$or":[{"x":["1"]},{"y":["2"]},{"z":["3"]}]},"service":{"$or":[{"p":["1"]},{"q":["2"]},{"r":["3"]},{"s":["4"]}]}}}`})
	}
	res, err = Compute(combos, Options{MaxSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Groups) < 2 {
		t.Errorf("%d groups for %d rules of 36 combinations each", len(res.Groups), len(combos))
	}
}

func TestErrors(t *testing.T) {
	huge := Rule{"huge", `{"detail":{"type":["` + strings.Repeat("x", 3000) + `"]}}`}
	if _, err := Compute([]Rule{huge}, Options{}); err == nil || !strings.Contains(err.Error(), `rule "huge"`) {
		t.Errorf("err = %v", err)
	}
	if _, err := Compute([]Rule{{"bad", `{`}}, Options{}); err == nil {
		t.Error("bad JSON accepted")
	}
	res, err := Compute(nil, Options{})
	if err != nil || len(res.Groups) != 0 {
		t.Errorf("no rules: %v %v", res, err)
	}
}
