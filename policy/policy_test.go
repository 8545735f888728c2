package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/reflexsec/reflex/action"
)

func TestExampleConfiguration(t *testing.T) {
	p, err := Load("../examples/reflex.yaml", action.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) != 5 || len(p.Playbooks) != 2 {
		t.Fatalf("%d rules, %d playbooks", len(p.Rules), len(p.Playbooks))
	}
	for _, r := range p.Rules {
		if r.Mode != DryRun {
			t.Errorf("rule %s: mode %s: the example must be dry-run", r.Name, r.Mode)
		}
		if r.Pattern == nil || len(r.Steps) == 0 {
			t.Errorf("rule %s not compiled", r.Name)
		}
	}
	if p.Guards.Protected.Tags["reflex:protected"] != "true" {
		t.Errorf("protected tags %v", p.Guards.Protected.Tags)
	}
	if p.Rules[3].ContinueAfter() {
		t.Error("low-severity-recon has continue: false")
	}
}

func TestDefaultsAreSafe(t *testing.T) {
	p, err := Parse("min.yaml", []byte("rules:\n  - name: r\n    pattern: {source: [aws.guardduty]}\n    steps: [{step: record}]\n"), action.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if p.Rules[0].Mode != DryRun {
		t.Errorf("default mode %s", p.Rules[0].Mode)
	}
	if p.Guards.Samples != SamplesDryRun {
		t.Errorf("default samples %s", p.Guards.Samples)
	}
	if p.Guards.Protected.Tags[DefaultProtectedTag] != "true" {
		t.Errorf("default protected tags %v", p.Guards.Protected.Tags)
	}
	if p.Guards.Budget.PerAccount != DefaultPerAccount || time.Duration(p.Guards.Budget.Window) != time.Hour {
		t.Errorf("budget %+v", p.Guards.Budget)
	}
	if p.Rules[0].Steps[0].OnFailure != OnFailureStop || p.Execution.Retries != DefaultRetries {
		t.Errorf("on_failure %s, retries %d", p.Rules[0].Steps[0].OnFailure, p.Execution.Retries)
	}
}

func TestJSONAccepted(t *testing.T) {
	src := `{"rules": [{"name": "r", "pattern": {"source": ["aws.guardduty"]}, "steps": [{"step": "notify", "params": {"route": "x"}}], "mode": "enforce"}]}`
	p, err := Parse("c.json", []byte(src), action.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if p.Rules[0].Steps[0].Params.String("route") != "x" || p.Rules[0].Mode != Enforce {
		t.Fatalf("%+v", p.Rules[0])
	}
}

func TestErrors(t *testing.T) {
	const head = "rules:\n  - name: r\n    pattern: {source: [aws.guardduty]}\n"
	for _, tc := range []struct {
		name, src string
		want      []string // "line:col: substring"
	}{
		{"unknown top key", "rulez: []\n", []string{`1:1: unknown key "rulez" at the top level: did you mean "rules"?`}},
		{"unknown rule key", head + "    steps: [{step: record}]\n    mod: enforce\n", []string{`5:5: unknown key "mod" in rules[1]: did you mean "mode"?`}},
		{"bad mode", head + "    steps: [{step: record}]\n    mode: enforced\n", []string{`5:11: rule "r": mode "enforced": want dry-run, approve or enforce`}},
		{"invalid pattern", "rules:\n  - name: r\n    pattern: {source: aws.guardduty}\n    steps: [{step: record}]\n", []string{`3:14: rule "r": invalid event pattern:`}},
		{"pattern JSON text", "rules:\n  - name: r\n    pattern: '{\"source\": [}'\n    steps: [{step: record}]\n", []string{`3:14: rule "r": invalid event pattern:`}},
		{"unknown step", head + "    steps:\n      - step: ec2.isolat\n", []string{`5:15: rule "r": unknown step "ec2.isolat": did you mean "ec2.isolate"?`}},
		{"missing param", head + "    steps:\n      - step: test.effect\n", []string{`5:9: rule "r": step test.effect: parameter "dir": required`}},
		{"wrong param type", head + "    steps:\n      - step: test.effect\n        params: {dir: /tmp, sleep: 5}\n", []string{`6:36: rule "r": step test.effect: parameter "sleep": want a duration`}},
		{"unknown param", head + "    steps:\n      - step: notify\n        params: {channel: x}\n", []string{`6:18: rule "r": step notify: parameter "channel": unknown parameter of notify; it takes route, message`}},
		{"no playbook", head + "    playbook: nope\n", []string{`4:15: rule "r": playbook "nope" is not defined`}},
		{"neither", head, []string{`2:5: rule "r" has neither playbook nor steps`}},
		{"irreversible in enforce", head + "    mode: enforce\n    steps: [{step: ec2.stop}]\n", []string{`4:11: rule "r": step ec2.stop (line 5) cannot be undone: irreversible steps are allowed only in approve mode`}},
		{"duplicate rule", head + "    steps: [{step: record}]\n  - name: r\n    pattern: {source: [x]}\n    steps: [{step: record}]\n", []string{`5:11: rule name "r" is used twice (also at line 2)`}},
		{"bad guards", head + "    steps: [{step: record}]\nguards:\n  samples: sometimes\n  budget: {window: soon, per_account: -1}\n  protected: {accounts: [\"12\"]}\n",
			[]string{`6:12: guards.samples "sometimes"`, `7:20: guards.budget.window: "soon" is not a duration`, `7:39: guards.budget.per_account -1`, `8:25: guards.protected.accounts: "12" is not a 12-digit account id`}},
		{"bad account", head + "    steps: [{step: record}]\naccounts:\n  - id: \"1234\"\n    role: \"arn:aws:iam::x:role/r\"\n    regions: [mars-1]\n",
			[]string{`6:9: accounts: "1234" is not a 12-digit account id`, `7:11: accounts: role "arn:aws:iam::x:role/r"`, `8:14: accounts: region "mars-1"`}},
		{"bad on_failure", head + "    steps:\n      - step: record\n        on_failure: retry\n", []string{`6:21: rule "r": step record: on_failure "retry": want stop or continue`}},
		{"yaml syntax", "rules:\n  - name: r\n   pattern: [\n", []string{`not valid YAML`}},
		{"empty", "", []string{`the configuration is empty`}},
		{"not a mapping", "- a\n- b\n", []string{`the configuration must be a mapping`}},
		{"notification route", head + "    steps: [{step: notify, params: {route: pagr}}]\nnotifications:\n  channels: {soc: {type: slack, webhook_url: \"env:X\"}}\n  routes: [{name: pager, channels: [soc]}]\n",
			[]string{`4:44: rule "r": step notify: route "pagr" is not in notifications.routes: did you mean "pager"?`}},
		{"notifications", head + "    steps: [{step: record}]\nnotifications:\n  queue: many\n", []string{`6:3: notifications: cannot unmarshal`}},
		{"repeated key", head + "    steps: [{step: record}]\n    name: s\n", []string{`5:5: not valid YAML: mapping key "name" already defined at [2:5]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.src), action.NewRegistry())
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("missing %q in:\n%s", w, msg)
				}
			}
		})
	}
}

func TestAllErrorsReported(t *testing.T) {
	src := "rules:\n  - name: a\n    pattern: {source: x}\n    steps: [{step: nope}]\n    mode: fast\n"
	_, err := Parse("c.yaml", []byte(src), action.NewRegistry())
	es, ok := err.(*Errors)
	if !ok || len(es.List) != 3 {
		t.Fatalf("want 3 errors, got %v", err)
	}
	for i := 1; i < len(es.List); i++ {
		if es.List[i].Line < es.List[i-1].Line {
			t.Error("errors not in file order")
		}
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"arn:aws:iam::*:role/Org*", "arn:aws:iam::123456789012:role/OrgAdmin", true},
		{"arn:aws:iam::*:role/Org*", "arn:aws:iam::123456789012:user/OrgAdmin", false},
		{"*", "", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"exact", "exact", true},
	} {
		if got := Glob(tc.p, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte("rules:\n  - name: r\n    pattern: {source: [aws.guardduty]}\n    steps: [{step: record}]\n"))
	f.Add([]byte("rules: [{name: r, pattern: '{\"detail\": {\"severity\": [{\"numeric\": [\">\", 7]}]}}', playbook: p}]\nplaybooks: {p: {steps: [{step: notify, params: {route: a}}]}}\n"))
	f.Add([]byte("a: &x {b: 1}\nc: *x\n<<: *x\n"))
	f.Add([]byte("{\"rules\": [{\"name\": 1}]}"))
	f.Add([]byte("guards: {budget: {window: 1h, total: 99999999999999999999}}"))
	if ex, err := readExample(); err == nil {
		f.Add(ex)
	}
	reg := action.NewRegistry()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data, reg)
		if err == nil && p == nil {
			t.Fatal("nil policy without error")
		}
		if err != nil && strings.TrimSpace(err.Error()) == "" {
			t.Fatal("empty error")
		}
	})
}
