package setup

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/reflexsec/reflex/internal/fakeaws"
)

const (
	account = "111111111111"
	queue   = "arn:aws:sqs:eu-west-1:111111111111:reflex-findings"
	dlq     = "arn:aws:sqs:eu-west-1:111111111111:reflex-findings-dlq"
)

var (
	highSev = `{"detail":{"severity":[{"numeric":[">=",7]}]},"detail-type":["GuardDuty Finding"],"source":["aws.guardduty"]}`
	iamKeys = `{"detail":{"resource":{"resourceType":["AccessKey"]}},"detail-type":["GuardDuty Finding"],"source":["aws.guardduty"]}`
)

// newSetup serves the default scenario; eu-west-1 has no detector yet.
func newSetup(t *testing.T) (*Setup, *fakeaws.Server) {
	t.Helper()
	srv := fakeaws.NewTestServer(t, nil)
	ak, sk, _ := srv.Cloud.Credentials(account)
	cfg := srv.ConfigFor(ak, sk, "", "eu-west-1")
	return &Setup{GuardDuty: guardduty.NewFromConfig(cfg), EventBridge: eventbridge.NewFromConfig(cfg)}, srv
}

func actions(r *Report) []string {
	var out []string
	for _, c := range r.Changes {
		out = append(out, c.Action+" "+c.Target)
	}
	return out
}

// mutating counts the calls that change state in the call log.
func mutating(srv *fakeaws.Server) []string {
	var out []string
	for _, c := range srv.Cloud.Calls() {
		switch {
		case strings.HasPrefix(c.Operation, "Describe"), strings.HasPrefix(c.Operation, "List"), strings.HasPrefix(c.Operation, "Get"):
		default:
			out = append(out, c.Operation)
		}
	}
	return out
}

func TestApplyIsIdempotent(t *testing.T) {
	s, srv := newSetup(t)
	ctx := context.Background()
	want := Want{Frequency: "FIFTEEN_MINUTES", Features: []string{"S3_DATA_EVENTS", "EKS_AUDIT_LOGS", "EBS_MALWARE_PROTECTION", "RUNTIME_MONITORING"},
		Patterns: []string{highSev, iamKeys}, RulePrefix: "reflex", TargetARN: queue, DeadLetterARN: dlq}

	// A dry run first: it reads, plans, and changes nothing.
	s.DryRun = true
	dry, err := s.Apply(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if got := mutating(srv); len(got) != 0 {
		t.Fatalf("dry run made mutating calls: %v", got)
	}
	s.DryRun = false

	first, err := s.Apply(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	wantActions := []string{"CreateDetector detector", "PutRule reflex-findings-00", "PutTargets reflex-findings-00", "PutRule reflex-findings-01", "PutTargets reflex-findings-01"}
	if got := actions(first); strings.Join(got, "|") != strings.Join(wantActions, "|") {
		t.Errorf("first run: %v\nwant %v", got, wantActions)
	}
	if strings.Join(actions(dry), "|") != strings.Join(actions(first), "|") {
		t.Errorf("dry run planned %v, the run did %v", actions(dry), actions(first))
	}
	// The state is what was asked for.
	gd := s.GuardDuty.(*guardduty.Client)
	ids, _ := gd.ListDetectors(ctx, &guardduty.ListDetectorsInput{})
	d, err := gd.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(ids.DetectorIds[0])})
	if err != nil {
		t.Fatal(err)
	}
	enabled := map[string]bool{}
	for _, f := range d.Features {
		enabled[string(f.Name)] = f.Status == gdtypes.FeatureStatusEnabled
	}
	if d.FindingPublishingFrequency != "FIFTEEN_MINUTES" || !enabled["S3_DATA_EVENTS"] || !enabled["RUNTIME_MONITORING"] || enabled["RDS_LOGIN_EVENTS"] {
		t.Errorf("detector = %s %v", d.FindingPublishingFrequency, enabled)
	}
	eb := s.EventBridge.(*eventbridge.Client)
	ts, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("reflex-findings-01")})
	if err != nil || len(ts.Targets) != 1 || aws.ToString(ts.Targets[0].Arn) != queue || aws.ToString(ts.Targets[0].DeadLetterConfig.Arn) != dlq {
		t.Errorf("targets = %+v, %v", ts, err)
	}

	// The second run changes nothing.
	srv.Cloud.ResetCalls()
	second, err := s.Apply(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Changes) != 0 || len(mutating(srv)) != 0 {
		t.Errorf("second run changed %v (calls %v)", actions(second), mutating(srv))
	}
	if len(second.Unchanged) != 5 {
		t.Errorf("unchanged = %v", second.Unchanged)
	}

	// Drift is repaired: another frequency, a plan turned off, a rule's
	// pattern edited by hand, and one rule fewer in the configuration.
	if _, err := gd.UpdateDetector(ctx, &guardduty.UpdateDetectorInput{DetectorId: aws.String(ids.DetectorIds[0]), FindingPublishingFrequency: "SIX_HOURS",
		Features: []gdtypes.DetectorFeatureConfiguration{{Name: "S3_DATA_EVENTS", Status: gdtypes.FeatureStatusDisabled}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("reflex-findings-00"), EventPattern: aws.String(`{"source":["aws.guardduty"]}`)}); err != nil {
		t.Fatal(err)
	}
	want.Patterns = want.Patterns[:1]
	third, err := s.Apply(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	wantActions = []string{"UpdateDetector detector " + ids.DetectorIds[0], "PutRule reflex-findings-00", "RemoveTargets reflex-findings-01", "DeleteRule reflex-findings-01"}
	if got := actions(third); strings.Join(got, "|") != strings.Join(wantActions, "|") {
		t.Errorf("repair: %v\nwant %v", got, wantActions)
	}
	if !strings.Contains(third.Changes[0].Why, "publishing frequency is SIX_HOURS, want FIFTEEN_MINUTES") || !strings.Contains(third.Changes[0].Why, "S3_DATA_EVENTS is disabled, want enabled") {
		t.Errorf("why = %q", third.Changes[0].Why)
	}
	if _, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("reflex-findings-01")}); !isNotFound(err) {
		t.Errorf("stale rule still there: %v", err)
	}
}

func TestOrg(t *testing.T) {
	s, srv := newSetup(t)
	ctx := context.Background()
	if _, err := s.Apply(ctx, Want{Frequency: "SIX_HOURS", RulePrefix: "reflex"}); err != nil {
		t.Fatal(err)
	}
	o := Org{AdminAccount: "222222222222", AutoEnable: "ALL", Features: []string{"S3_DATA_EVENTS", "EKS_AUDIT_LOGS"}}
	first, err := s.ApplyOrg(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(first); len(got) != 2 || got[0] != "EnableOrganizationAdminAccount 222222222222" || !strings.HasPrefix(got[1], "UpdateOrganizationConfiguration") {
		t.Errorf("first = %v", got)
	}
	srv.Cloud.ResetCalls()
	second, err := s.ApplyOrg(ctx, o)
	if err != nil || len(second.Changes) != 0 || len(mutating(srv)) != 0 {
		t.Errorf("second = %v %v (calls %v)", actions(second), err, mutating(srv))
	}
	if _, err := s.ApplyOrg(ctx, Org{AdminAccount: "333333333333"}); err == nil || !strings.Contains(err.Error(), "already GuardDuty's delegated administrator") {
		t.Errorf("another admin: %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		want Want
		err  string
	}{
		{Want{Frequency: "HOURLY", RulePrefix: "r"}, "want FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS"},
		{Want{Frequency: "ONE_HOUR", RulePrefix: "r", Features: []string{"S3"}}, `protection plan "S3"`},
		{Want{Frequency: "ONE_HOUR"}, "rule prefix"},
		{Want{Frequency: "ONE_HOUR", RulePrefix: "r", Patterns: []string{highSev}}, "--target-arn"},
	}
	for _, tt := range tests {
		if err := tt.want.Validate(); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%+v: %v, want %q", tt.want, err, tt.err)
		}
	}
	s := &Setup{}
	if _, err := s.ApplyOrg(context.Background(), Org{AdminAccount: "12"}); err == nil {
		t.Error("bad admin account accepted")
	}
}

// TestQueue: --queue creates the queue of reflex serve with its dead-letter
// queue NAME-dlq, their policies and reflex's role, targets it, and a
// second run changes nothing.
func TestQueue(t *testing.T) {
	s, srv, _ := newRuntimeSetup(t)
	ctx := context.Background()
	want := Want{Frequency: "SIX_HOURS", Patterns: []string{highSev}, RulePrefix: "reflex", Queue: "reflex-serve"}

	s.DryRun = true
	dry, err := s.Apply(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if got := mutating(srv); len(got) != 0 {
		t.Fatalf("dry run made mutating calls: %v", got)
	}
	wantActions := "CreateDetector detector|CreateQueue reflex-dlq|CreateQueue reflex-serve|CreateRole reflex|PutRolePolicy reflex/reflex-runtime|PutRule reflex-findings-00|PutTargets reflex-findings-00"
	if got := actions(dry); strings.Join(got, "|") != wantActions {
		t.Errorf("dry run: %v", got)
	}
	s.DryRun = false
	first, err := s.Apply(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(first); strings.Join(got, "|") != wantActions {
		t.Errorf("first run: %v", got)
	}
	eb := s.EventBridge.(*eventbridge.Client)
	ts, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("reflex-findings-00")})
	if err != nil || len(ts.Targets) != 1 || aws.ToString(ts.Targets[0].Arn) != "arn:aws:sqs:eu-west-1:111111111111:reflex-serve" ||
		aws.ToString(ts.Targets[0].DeadLetterConfig.Arn) != dlqARN || ts.Targets[0].RetryPolicy != nil {
		t.Errorf("targets = %+v %v", ts, err)
	}
	q, _ := s.SQS.(*sqs.Client).GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("reflex-serve")})
	attrs, _ := s.SQS.(*sqs.Client).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	if !strings.Contains(attrs.Attributes["RedrivePolicy"], "reflex-dlq") || !strings.Contains(attrs.Attributes["Policy"], "rule/reflex-findings-*") ||
		attrs.Attributes["ReceiveMessageWaitTimeSeconds"] != "20" || attrs.Attributes["SqsManagedSseEnabled"] != "true" {
		t.Errorf("queue attributes = %v", attrs.Attributes)
	}
	rt, err := s.IAM.(*iam.Client).GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("reflex"), PolicyName: aws.String("reflex-runtime")})
	if err != nil || !strings.Contains(aws.ToString(rt.PolicyDocument), "DrainFindings") {
		t.Errorf("runtime policy = %v %v", rt, err)
	}
	srv.Cloud.ResetCalls()
	second, err := s.Apply(ctx, want)
	if err != nil || len(second.Changes) != 0 || len(mutating(srv)) != 0 {
		t.Errorf("second run: %v %v (calls %v)", actions(second), err, mutating(srv))
	}
	// A changed queue attribute is put back.
	if _, err := s.SQS.(*sqs.Client).SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: q.QueueUrl, Attributes: map[string]string{"VisibilityTimeout": "30"}}); err != nil {
		t.Fatal(err)
	}
	fix, err := s.Apply(ctx, want)
	if err != nil || strings.Join(actions(fix), "|") != "SetQueueAttributes reflex-serve" || !strings.Contains(fix.Changes[0].Why, `VisibilityTimeout is "30", want "300"`) {
		t.Errorf("repair: %v %v", actions(fix), err)
	}
	if err := (&Want{Frequency: "SIX_HOURS", RulePrefix: "r", Queue: "q", TargetARN: "arn:x"}).Validate(); err == nil {
		t.Error("--queue with --target-arn accepted")
	}
}
