package contract

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

const (
	docPutRule      = "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html"
	docDescribeRule = "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeRule.html"
	docPutTargets   = "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html"
	docDeleteRule   = "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DeleteRule.html"
	docRuleARN      = "https://docs.amazonaws.cn/cdk/api/v2/dotnet/api/Amazon.CDK.AWS.Events.IRule.html" // RuleArn: "such as arn:aws:events:us-east-2:123456789012:rule/example"
)

// guardDutyPattern is the kind of pattern `reflex setup` forwards findings
// with.
const guardDutyPattern = `{"source":["aws.guardduty"],"detail-type":["GuardDuty Finding"],"detail":{"severity":[{"numeric":[">=",7]}]}}`

func eventsChecks() []check {
	return []check{
		{name: "events/a rule on the default bus has the ARN rule/NAME", doc: docRuleARN,
			kumo: "kumo puts the bus name in the ARN of a rule on the default bus (rule/default/NAME); AWS writes rule/NAME " +
				"and adds the bus name only for other buses",
			run: func(t *testing.T, e *env) {
				name := unique("arn")
				if arn, want := putRule(t, e, name, guardDutyPattern, ""), "arn:aws:events:"+region+":"+e.account+":rule/"+name; arn != want {
					t.Errorf("RuleArn = %q, want %q", arn, want)
				}
			}},
		{name: "events/PutRule creates an enabled rule on the default bus that DescribeRule returns", doc: docPutRule, run: func(t *testing.T, e *env) {
			name := unique("reflex-findings")
			arn := putRule(t, e, name, guardDutyPattern, "")
			r := describeRule(t, e, name)
			if aws.ToString(r.Name) != name || aws.ToString(r.Arn) != arn || r.State != ebtypes.RuleStateEnabled ||
				aws.ToString(r.EventBusName) != "default" || aws.ToString(r.Description) != "contract check" {
				t.Errorf("rule = %s %s %s bus %q %q, want %s %s ENABLED bus default %q", aws.ToString(r.Name), aws.ToString(r.Arn), r.State,
					aws.ToString(r.EventBusName), aws.ToString(r.Description), name, arn, "contract check")
			}
			wantSameJSON(t, "EventPattern", aws.ToString(r.EventPattern), guardDutyPattern)
		}},
		{name: "events/PutRule on an existing rule updates it in place", doc: docPutRule, run: func(t *testing.T, e *env) {
			name := unique("update")
			arn := putRule(t, e, name, guardDutyPattern, "")
			newPattern := `{"source":["aws.guardduty"]}`
			if again := putRule(t, e, name, newPattern, ebtypes.RuleStateDisabled); again != arn {
				t.Errorf("second PutRule ARN = %q, want %q", again, arn)
			}
			r := describeRule(t, e, name)
			if r.State != ebtypes.RuleStateDisabled {
				t.Errorf("State = %s, want DISABLED", r.State)
			}
			wantSameJSON(t, "EventPattern", aws.ToString(r.EventPattern), newPattern)
		}},
		{name: "events/DescribeRule of a missing rule fails ResourceNotFoundException", doc: docDescribeRule, run: func(t *testing.T, e *env) {
			_, err := eventbridge.NewFromConfig(e.cfg).DescribeRule(t.Context(), &eventbridge.DescribeRuleInput{Name: aws.String(unique("norule"))})
			wantAs[*ebtypes.ResourceNotFoundException](t, err)
		}},
		{name: "events/PutRule with an invalid pattern fails InvalidEventPatternException", doc: docPutRule,
			kumo: "kumo accepts a pattern whose leaf is not an array", run: func(t *testing.T, e *env) {
				// A pattern's leaf values must be arrays.
				_, err := eventbridge.NewFromConfig(e.cfg).PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String(unique("badpattern")),
					EventPattern: aws.String(`{"source":"aws.guardduty"}`)})
				wantAs[*ebtypes.InvalidEventPatternException](t, err)
			}},
		{name: "events/PutTargets adds targets and replaces one with the same Id", doc: docPutTargets, run: func(t *testing.T, e *env) {
			c := eventbridge.NewFromConfig(e.cfg)
			name := unique("targets")
			putRule(t, e, name, guardDutyPattern, "")
			q1 := "arn:aws:sqs:" + region + ":" + e.account + ":" + unique("q1")
			q2 := "arn:aws:sqs:" + region + ":" + e.account + ":" + unique("q2")
			q3 := "arn:aws:sqs:" + region + ":" + e.account + ":" + unique("q3")
			for _, targets := range [][]ebtypes.Target{
				{{Id: aws.String("reflex"), Arn: aws.String(q1)}, {Id: aws.String("audit"), Arn: aws.String(q2)}},
				{{Id: aws.String("reflex"), Arn: aws.String(q3)}},
			} {
				out, err := c.PutTargets(t.Context(), &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: targets})
				must(t, "PutTargets", err)
				if out.FailedEntryCount != 0 || len(out.FailedEntries) != 0 {
					t.Fatalf("PutTargets failed entries: %d %+v", out.FailedEntryCount, out.FailedEntries)
				}
			}
			out, err := c.ListTargetsByRule(t.Context(), &eventbridge.ListTargetsByRuleInput{Rule: aws.String(name)})
			must(t, "ListTargetsByRule", err)
			got := map[string]string{}
			for _, tg := range out.Targets {
				got[aws.ToString(tg.Id)] = aws.ToString(tg.Arn)
			}
			if want := map[string]string{"reflex": q3, "audit": q2}; !reflect.DeepEqual(got, want) {
				t.Errorf("targets = %v, want %v", got, want)
			}
		}},
		{name: "events/DeleteRule of a rule with targets fails ValidationException", doc: docDeleteRule,
			kumo: "kumo deletes a rule that still has targets; AWS refuses with ValidationException \"Rule can't be deleted since " +
				"it has targets.\" (the documented order is RemoveTargets first; the error as observed in getmoto/moto#5056)", run: func(t *testing.T, e *env) {
				c := eventbridge.NewFromConfig(e.cfg)
				name := unique("busy")
				putRule(t, e, name, guardDutyPattern, "")
				_, err := c.PutTargets(t.Context(), &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: []ebtypes.Target{
					{Id: aws.String("reflex"), Arn: aws.String("arn:aws:sqs:" + region + ":" + e.account + ":" + unique("q"))}}})
				must(t, "PutTargets", err)
				_, err = c.DeleteRule(t.Context(), &eventbridge.DeleteRuleInput{Name: aws.String(name)})
				wantCode(t, err, "ValidationException")
				describeRule(t, e, name) // still there
			}},
	}
}

// putRule puts a rule with the pattern (and a state when given) and
// returns its ARN.
func putRule(t *testing.T, e *env, name, pattern string, state ebtypes.RuleState) string {
	t.Helper()
	out, err := eventbridge.NewFromConfig(e.cfg).PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String(name),
		EventPattern: aws.String(pattern), Description: aws.String("contract check"), State: state})
	must(t, "PutRule", err)
	return aws.ToString(out.RuleArn)
}

func describeRule(t *testing.T, e *env, name string) *eventbridge.DescribeRuleOutput {
	t.Helper()
	out, err := eventbridge.NewFromConfig(e.cfg).DescribeRule(t.Context(), &eventbridge.DescribeRuleInput{Name: aws.String(name)})
	must(t, "DescribeRule", err)
	return out
}

// wantSameJSON compares two JSON documents by value.
func wantSameJSON(t *testing.T, field, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s is not JSON: %v: %s", field, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", field, got, want)
	}
}
