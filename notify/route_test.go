package notify

import (
	"fmt"
	"testing"
)

func TestTargetsNamedRoutesAndDryRuns(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"channels":{
		"a":{"type":"slack","webhook_url":"env:A"},
		"b":{"type":"slack","webhook_url":"env:B"},
		"c":{"type":"slack","webhook_url":"env:C"}},
		"routes":[
		  {"name":"team","channels":["a"],"match":{"rules":["nothing-matches-this"]}},
		  {"name":"by-rule","channels":["b"],"match":{"rules":["ec2-*"]}},
		  {"name":"reviews","channels":["c"],"match":{"modes":["dry-run"]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ev   Event
		want string
	}{
		{"match by rule", Event{Kind: KindDecision, Rule: "ec2-high", Mode: "enforce"}, "[by-rule/b]"},
		{"match by another rule that fired", Event{Kind: KindDecision, Rule: "record", AlsoRules: []string{"ec2-high"}, Mode: "enforce"}, "[by-rule/b]"},
		{"named by the notify step", Event{Kind: KindDecision, Rule: "iam", Mode: "approve", Routes: []string{"team"}}, "[team/a]"},
		{"named and matched: each channel once", Event{Kind: KindDecision, Rule: "ec2-x", Mode: "enforce", Routes: []string{"team"}}, "[team/a by-rule/b]"},
		{"dry-run only where modes lists it", Event{Kind: KindDecision, Rule: "ec2-high", Mode: "dry-run", Routes: []string{"team"}}, "[reviews/c]"},
		{"release is not a dry-run decision", Event{Kind: KindRelease, Rule: "ec2-high", Mode: "dry-run"}, "[by-rule/b reviews/c]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, tg := range cfg.Targets(&tc.ev) {
				got = append(got, tg.Route.Name+"/"+tg.Channel)
			}
			if fmt.Sprint(got) != tc.want {
				t.Errorf("targets %v, want %s", got, tc.want)
			}
		})
	}
}
