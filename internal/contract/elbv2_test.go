package contract

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

const (
	docDescribeTargetGroups = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTargetGroups.html"
	docDescribeTargetHealth = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTargetHealth.html"
	docDeregisterTargets    = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DeregisterTargets.html"
	docTargetHealth         = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html"
)

func elbv2Checks() []check {
	return []check{
		{name: "elbv2/DescribeTargetGroups of a missing name fails TargetGroupNotFound", doc: docDescribeTargetGroups,
			kumo: "kumo answers an empty list for a target group name that does not exist", run: func(t *testing.T, e *env) {
				_, err := elbv2Client(e.cfg).DescribeTargetGroups(t.Context(), &elbv2.DescribeTargetGroupsInput{Names: []string{unique("nosuchtg")}})
				wantAs[*elbv2types.TargetGroupNotFoundException](t, err)
			}},
		{name: "elbv2/DescribeTargetHealth lists the registered instances", doc: docDescribeTargetHealth, run: func(t *testing.T, e *env) {
			vpc, subnet := e.fix.network(t)
			i1, i2 := e.fix.instance(t, subnet), e.fix.instance(t, subnet)
			name := tgName("health")
			arn := e.fix.targetGroup(t, name, vpc, []string{i1, i2})
			if got := targetGroupARN(t, e.cfg, name); got != arn {
				t.Errorf("DescribeTargetGroups(%s) ARN = %q, want %q", name, got, arn)
			}
			states := targetStates(t, e, arn)
			for _, id := range []string{i1, i2} {
				st, ok := states[id]
				if !ok {
					t.Errorf("target %s not listed (have %v)", id, states)
					continue
				}
				if st == elbv2types.TargetHealthStateEnumDraining || st == elbv2types.TargetHealthStateEnumUnused {
					t.Errorf("registered target %s is %q", id, st)
				}
			}
		}},
		{name: "elbv2/DeregisterTargets takes the instance out of the group", doc: docTargetHealth, run: func(t *testing.T, e *env) {
			vpc, subnet := e.fix.network(t)
			i1, i2 := e.fix.instance(t, subnet), e.fix.instance(t, subnet)
			arn := e.fix.targetGroup(t, tgName("dereg"), vpc, []string{i1, i2})
			_, err := elbv2Client(e.cfg).DeregisterTargets(t.Context(), &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(arn),
				Targets: []elbv2types.TargetDescription{{Id: aws.String(i1)}}})
			must(t, "DeregisterTargets", err)
			states := targetStates(t, e, arn)
			// AWS keeps a deregistered target listed as draining for the
			// deregistration delay; an emulator may drop it at once.
			if st, ok := states[i1]; ok && st != elbv2types.TargetHealthStateEnumDraining {
				t.Errorf("deregistered target %s is %q, want draining or not listed", i1, st)
			}
			if st, ok := states[i2]; !ok || st == elbv2types.TargetHealthStateEnumDraining {
				t.Errorf("target %s, still registered, is %q (listed %v)", i2, st, ok)
			}
		}},
		{name: "elbv2/DeregisterTargets on a missing target group fails TargetGroupNotFound", doc: docDeregisterTargets, run: func(t *testing.T, e *env) {
			arn := "arn:aws:elasticloadbalancing:" + region + ":" + e.account + ":targetgroup/" + tgName("gone") + "/0123456789abcdef"
			_, err := elbv2Client(e.cfg).DeregisterTargets(t.Context(), &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(arn),
				Targets: []elbv2types.TargetDescription{{Id: aws.String("i-0123456789abcdef0")}}})
			wantAs[*elbv2types.TargetGroupNotFoundException](t, err)
		}},
	}
}

// tgName is a unique target group name (at most 32 characters).
func tgName(prefix string) string {
	n := unique(prefix)
	if len(n) > 32 {
		n = n[len(n)-32:]
	}
	return n
}

// targetStates maps each listed target id to its health state.
func targetStates(t *testing.T, e *env, arn string) map[string]elbv2types.TargetHealthStateEnum {
	t.Helper()
	out, err := elbv2Client(e.cfg).DescribeTargetHealth(t.Context(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	must(t, "DescribeTargetHealth", err)
	m := map[string]elbv2types.TargetHealthStateEnum{}
	for _, d := range out.TargetHealthDescriptions {
		if d.Target == nil || d.TargetHealth == nil {
			t.Fatalf("DescribeTargetHealth: description without target or health: %+v", d)
		}
		m[aws.ToString(d.Target.Id)] = d.TargetHealth.State
	}
	return m
}
