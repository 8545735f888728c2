package setup

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/reflexsec/reflex/internal/fakeaws"
)

const responsePolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"ReflexEc2","Effect":"Allow","Action":["ec2:CreateSnapshots","ec2:ModifyInstanceAttribute"],"Resource":"*"}]}`

// fakeELF returns the headers of a static 64-bit Linux executable.
func fakeELF(machine elf.Machine) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT), 0, 0, 0, 0, 0, 0, 0, 0, 0})
	for _, v := range []any{uint16(elf.ET_EXEC), uint16(machine), uint32(elf.EV_CURRENT), uint64(0x400000), uint64(64), uint64(0),
		uint32(0), uint16(64), uint16(56), uint16(0), uint16(64), uint16(0), uint16(0)} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	return b.Bytes()
}

// testPackage is a deployment package whose bootstrap is a fake arm64
// executable with the given version text appended.
func testPackage(t *testing.T, version string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(append(fakeELF(elf.EM_AARCH64), version...))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// newRuntimeSetup is a Setup with every client, against the default
// scenario in eu-west-1; its waits are recorded, not slept.
func newRuntimeSetup(t *testing.T) (*Setup, *fakeaws.Server, *[]time.Duration) {
	t.Helper()
	srv := fakeaws.NewTestServer(t, nil)
	ak, sk, _ := srv.Cloud.Credentials(account)
	cfg := srv.ConfigFor(ak, sk, "", "eu-west-1")
	var slept []time.Duration
	s := &Setup{GuardDuty: guardduty.NewFromConfig(cfg), EventBridge: eventbridge.NewFromConfig(cfg), SQS: sqs.NewFromConfig(cfg),
		STS: sts.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg), Lambda: lambda.NewFromConfig(cfg), Logs: cloudwatchlogs.NewFromConfig(cfg),
		SNS: sns.NewFromConfig(cfg), DynamoDB: dynamodb.NewFromConfig(cfg), Region: "eu-west-1",
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }}
	return s, srv, &slept
}

func lambdaWant(t *testing.T) Want {
	f := DefaultFunction()
	f.Zip = testPackage(t, "v1")
	f.Env = map[string]string{"REFLEX_CONFIG": "reflex.yaml"}
	return Want{Frequency: "FIFTEEN_MINUTES", Features: []string{"S3_DATA_EVENTS"}, Patterns: []string{highSev, iamKeys}, RulePrefix: "reflex",
		Runtime: RuntimeLambda, Name: "reflex", Function: f, ResponsePolicy: responsePolicy,
		MemberRoleARNs: []string{"arn:aws:iam::*:role/reflex-responder"}, Ledger: true, LedgerTTLDays: 400,
		Topic: true, NotificationEmails: []string{"soc@example.com"}, Tags: map[string]string{"team": "soc"}}
}

// firstRun is what a first `reflex setup --runtime lambda` does, in order.
var firstRun = []string{
	"CreateDetector detector",
	"CreateQueue reflex-dlq",
	"CreateTopic reflex", "Subscribe reflex soc@example.com",
	"CreateTable reflex-ledger", "UpdateTimeToLive reflex-ledger", "UpdateContinuousBackups reflex-ledger",
	"CreateRole reflex", "PutRolePolicy reflex/reflex-response", "PutRolePolicy reflex/reflex-runtime",
	"CreateLogGroup /aws/lambda/reflex", "PutRetentionPolicy /aws/lambda/reflex",
	"CreateFunction reflex", "PutFunctionConcurrency reflex", "PutFunctionEventInvokeConfig reflex",
	"PutRule reflex-findings-00", "AddPermission reflex AllowEventBridge-reflex-findings-00", "PutTargets reflex-findings-00",
	"PutRule reflex-findings-01", "AddPermission reflex AllowEventBridge-reflex-findings-01", "PutTargets reflex-findings-01",
}

// TestLambdaRuntime: a dry run makes no change and plans exactly what the
// first run does; the first run deploys every resource as the Terraform
// module does; the second run makes no change and no mutating call.
func TestLambdaRuntime(t *testing.T) {
	s, srv, _ := newRuntimeSetup(t)
	ctx := context.Background()
	want := lambdaWant(t)

	s.DryRun = true
	dry, err := s.Apply(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if got := mutating(srv); len(got) != 0 {
		t.Fatalf("dry run made mutating calls: %v", got)
	}
	s.DryRun = false
	srv.Cloud.ResetCalls()
	first, err := s.Apply(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(first); strings.Join(got, "\n") != strings.Join(firstRun, "\n") {
		t.Errorf("first run:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(firstRun, "\n"))
	}
	if strings.Join(actions(dry), "|") != strings.Join(actions(first), "|") {
		t.Errorf("dry run planned\n%v\nthe run did\n%v", actions(dry), actions(first))
	}
	for i := range dry.Changes {
		if a, b := dry.Changes[i].Input, first.Changes[i].Input; !sameInput(a, b) {
			t.Errorf("%s: dry run input %v, run input %v", first.Changes[i].Action, a, b)
		}
	}
	if n := len(mutating(srv)); n != len(firstRun) {
		t.Errorf("%d mutating calls for %d changes: %v", n, len(firstRun), mutating(srv))
	}

	// The function, as the module's aws_lambda_function.
	lc := s.Lambda.(*lambda.Client)
	fn, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("reflex")})
	if err != nil {
		t.Fatal(err)
	}
	c := fn.Configuration
	wantEnv := map[string]string{"REFLEX_CONFIG": "reflex.yaml", "REFLEX_LEDGER": "dynamodb://reflex-ledger", "GOGC": "400", "GOMEMLIMIT": "204MiB"}
	if c.Runtime != lambdatypes.RuntimeProvidedal2023 || aws.ToString(c.Handler) != "bootstrap" || c.Architectures[0] != lambdatypes.ArchitectureArm64 ||
		aws.ToInt32(c.MemorySize) != 256 || aws.ToInt32(c.Timeout) != 120 || aws.ToString(c.Role) != "arn:aws:iam::111111111111:role/reflex" ||
		aws.ToString(c.CodeSha256) != CodeSha256(want.Function.Zip) || aws.ToString(c.DeadLetterConfig.TargetArn) != dlqARN ||
		!mapsEqual(c.Environment.Variables, wantEnv) || aws.ToInt32(fn.Concurrency.ReservedConcurrentExecutions) != 10 || fn.Tags["team"] != "soc" {
		t.Errorf("function = %+v, concurrency %+v", c, fn.Concurrency)
	}
	ic, err := lc.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("reflex")})
	if err != nil || aws.ToInt32(ic.MaximumRetryAttempts) != 2 || aws.ToInt32(ic.MaximumEventAgeInSeconds) != 21600 ||
		aws.ToString(ic.DestinationConfig.OnFailure.Destination) != dlqARN {
		t.Errorf("invoke config = %+v, %v", ic, err)
	}
	pol, err := lc.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("reflex")})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), `"AWS:SourceArn":"arn:aws:events:eu-west-1:111111111111:rule/reflex-findings-01"`) {
		t.Errorf("function policy = %v, %v", aws.ToString(pol.Policy), err)
	}
	// The rules' targets: the function, EventBridge's retries, the DLQ.
	ts, err := s.EventBridge.(*eventbridge.Client).ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("reflex-findings-00")})
	if err != nil || len(ts.Targets) != 1 || aws.ToString(ts.Targets[0].Arn) != "arn:aws:lambda:eu-west-1:111111111111:function:reflex" ||
		aws.ToInt32(ts.Targets[0].RetryPolicy.MaximumRetryAttempts) != 185 || aws.ToString(ts.Targets[0].DeadLetterConfig.Arn) != dlqARN {
		t.Errorf("targets = %+v, %v", ts, err)
	}
	// The role: trust and both policies.
	ic2 := s.IAM.(*iam.Client)
	role, err := ic2.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("reflex")})
	if err != nil {
		t.Fatal(err)
	}
	trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if !strings.Contains(trust, `"Service":"lambda.amazonaws.com"`) || !strings.Contains(trust, `"aws:SourceAccount":"111111111111"`) {
		t.Errorf("trust = %s", trust)
	}
	rp, err := ic2.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("reflex"), PolicyName: aws.String("reflex-response")})
	if doc, _ := url.QueryUnescape(aws.ToString(rp.PolicyDocument)); err != nil || !sameJSON(doc, responsePolicy) {
		t.Errorf("response policy = %s, %v", doc, err)
	}
	rt, err := ic2.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("reflex"), PolicyName: aws.String("reflex-runtime")})
	doc, _ := url.QueryUnescape(aws.ToString(rt.PolicyDocument))
	for _, s := range []string{`"Sid":"Logs"`, `arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/reflex:*`, `"Sid":"DeadLetters"`,
		`"Sid":"Ledger"`, `arn:aws:dynamodb:eu-west-1:111111111111:table/reflex-ledger/index/*`, `"Sid":"Notify"`, `arn:aws:sns:eu-west-1:111111111111:reflex`,
		`"Sid":"MemberAccounts"`, `arn:aws:iam::*:role/reflex-responder`} {
		if err != nil || !strings.Contains(doc, s) {
			t.Errorf("runtime policy lacks %s: %s %v", s, doc, err)
		}
	}
	if strings.Contains(doc, "DrainFindings") || strings.Contains(doc, "ssm:") {
		t.Errorf("runtime policy grants more than the Lambda runtime needs: %s", doc)
	}
	// Log retention, the table, the topic.
	lg, err := s.Logs.(*cloudwatchlogs.Client).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/reflex")})
	if err != nil || len(lg.LogGroups) != 1 || aws.ToInt32(lg.LogGroups[0].RetentionInDays) != 365 {
		t.Errorf("log groups = %+v, %v", lg, err)
	}
	dc := s.DynamoDB.(*dynamodb.Client)
	tb, err := dc.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("reflex-ledger")})
	if err != nil || tb.Table.BillingModeSummary.BillingMode != ddbtypes.BillingModePayPerRequest || !aws.ToBool(tb.Table.DeletionProtectionEnabled) ||
		tb.Table.SSEDescription == nil || len(tb.Table.GlobalSecondaryIndexes) != 2 {
		t.Errorf("table = %+v, %v", tb, err)
	}
	attrs, err := s.SNS.(*sns.Client).GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String("arn:aws:sns:eu-west-1:111111111111:reflex")})
	if err != nil || attrs.Attributes["KmsMasterKeyId"] != "alias/aws/sns" || attrs.Attributes["SubscriptionsPending"] != "1" {
		t.Errorf("topic = %v, %v", attrs, err)
	}

	// The second run changes nothing and calls nothing that would.
	srv.Cloud.ResetCalls()
	second, err := s.Apply(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Changes) != 0 || len(mutating(srv)) != 0 {
		t.Errorf("second run changed %v (calls %v)", actions(second), mutating(srv))
	}
	if len(srv.Cloud.Calls()) > 30 {
		t.Errorf("second run made %d read calls", len(srv.Cloud.Calls()))
	}
}

const dlqARN = "arn:aws:sqs:eu-west-1:111111111111:reflex-dlq"

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sameInput(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestLambdaDriftIsRepaired: changes made by hand are put back, each by the
// one call that repairs it, and the run after that changes nothing.
func TestLambdaDriftIsRepaired(t *testing.T) {
	s, srv, _ := newRuntimeSetup(t)
	ctx := context.Background()
	want := lambdaWant(t)
	if _, err := s.Apply(ctx, want); err != nil {
		t.Fatal(err)
	}
	lc, ic, dc := s.Lambda.(*lambda.Client), s.IAM.(*iam.Client), s.DynamoDB.(*dynamodb.Client)
	drift := []func() error{
		func() error {
			_, err := s.Logs.(*cloudwatchlogs.Client).PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/reflex"), RetentionInDays: aws.Int32(7)})
			return err
		},
		func() error {
			_, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("reflex"), PolicyName: aws.String("reflex-response"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)})
			return err
		},
		func() error {
			_, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("reflex"),
				Environment: &lambdatypes.Environment{Variables: map[string]string{"REFLEX_CONFIG": "other.yaml"}}, MemorySize: aws.Int32(128)})
			if err == nil {
				_, err = lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("reflex")})
			}
			return err
		},
		func() error {
			_, err := lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("reflex"), ZipFile: testPackage(t, "tampered")})
			if err == nil {
				_, err = lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("reflex")})
			}
			return err
		},
		func() error {
			_, err := lc.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("reflex")})
			return err
		},
		func() error {
			_, err := lc.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("reflex"), StatementId: aws.String("AllowEventBridge-reflex-findings-01")})
			return err
		},
		func() error {
			_, err := dc.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String("reflex-ledger"), DeletionProtectionEnabled: aws.Bool(false)})
			return err
		},
		func() error {
			_, err := dc.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("reflex-ledger"),
				TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(false)}})
			return err
		},
		func() error {
			_, err := ic.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("reflex"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`)})
			return err
		},
	}
	for i, d := range drift {
		if err := d(); err != nil {
			t.Fatalf("drift %d: %v", i, err)
		}
	}
	srv.Cloud.ResetCalls()
	fix, err := s.Apply(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	wantFix := []string{
		"UpdateTable reflex-ledger", "UpdateTimeToLive reflex-ledger",
		"UpdateAssumeRolePolicy reflex", "PutRolePolicy reflex/reflex-response",
		"PutRetentionPolicy /aws/lambda/reflex",
		"UpdateFunctionCode reflex", "UpdateFunctionConfiguration reflex", "PutFunctionConcurrency reflex",
		"AddPermission reflex AllowEventBridge-reflex-findings-01",
	}
	if got := actions(fix); strings.Join(got, "\n") != strings.Join(wantFix, "\n") {
		t.Errorf("repair:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantFix, "\n"))
	}
	for _, c := range fix.Changes {
		if c.Action == "UpdateFunctionConfiguration" && (!strings.Contains(c.Why, "memory (MB) is 128, want 256") || !strings.Contains(c.Why, "environment differs (GOGC, GOMEMLIMIT, REFLEX_CONFIG, REFLEX_LEDGER)")) {
			t.Errorf("why = %q", c.Why)
		}
	}
	fn, _ := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("reflex")})
	if aws.ToString(fn.Configuration.CodeSha256) != CodeSha256(want.Function.Zip) || aws.ToInt32(fn.Configuration.MemorySize) != 256 {
		t.Errorf("function after repair = %+v", fn.Configuration)
	}
	srv.Cloud.ResetCalls()
	again, err := s.Apply(ctx, want)
	if err != nil || len(again.Changes) != 0 || len(mutating(srv)) != 0 {
		t.Errorf("after repair: %v %v (calls %v)", actions(again), err, mutating(srv))
	}

	// New code is uploaded, and only the code; a rule fewer takes its
	// permission with it.
	want.Function.Zip = testPackage(t, "v2")
	want.Patterns = want.Patterns[:1]
	up, err := s.Apply(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	wantUp := []string{"UpdateFunctionCode reflex", "RemovePermission reflex AllowEventBridge-reflex-findings-01",
		"RemoveTargets reflex-findings-01", "DeleteRule reflex-findings-01"}
	if got := actions(up); strings.Join(got, "|") != strings.Join(wantUp, "|") {
		t.Errorf("new code: %v, want %v", got, wantUp)
	}
}

// TestLambdaRolePropagation: CreateFunction right after CreateRole fails
// on AWS until IAM has propagated the role; setup retries it.
func TestLambdaRolePropagation(t *testing.T) {
	s, srv, slept := newRuntimeSetup(t)
	srv.Cloud.InjectFault(fakeaws.Fault{Service: "lambda", Operation: "CreateFunction", Nth: 1, Times: 2,
		Code: "InvalidParameterValueException", Message: "The role defined for the function cannot be assumed by Lambda."})
	srv.Cloud.InjectFault(fakeaws.Fault{Service: "lambda", Operation: "PutFunctionEventInvokeConfig", Nth: 1,
		Code: "InvalidParameterValueException", Message: "The function's execution role does not have permissions to call SendMessage on " + dlqARN})
	if _, err := s.Apply(context.Background(), lambdaWant(t)); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Cloud.CallsTo("lambda", "CreateFunction")); n != 3 {
		t.Errorf("%d CreateFunction calls, want 3", n)
	}
	if n := len(srv.Cloud.CallsTo("lambda", "PutFunctionEventInvokeConfig")); n != 2 {
		t.Errorf("%d PutFunctionEventInvokeConfig calls, want 2", n)
	}
	if len(*slept) < 3 {
		t.Errorf("waits = %v", *slept)
	}
}

// TestRuntimeErrors: failures name the call and what to fix.
func TestRuntimeErrors(t *testing.T) {
	tests := []struct {
		name  string
		fault fakeaws.Fault
		mod   func(*Want)
		want  string
	}{
		{"denied", fakeaws.Fault{Service: "iam", Operation: "CreateRole", Code: "AccessDenied", Status: 403,
			Message: "User: arn:aws:iam::111111111111:user/ci is not authorized to perform: iam:CreateRole"}, nil,
			"iam:CreateRole reflex: "},
		{"pass role", fakeaws.Fault{Service: "lambda", Operation: "CreateFunction", Code: "AccessDeniedException", Status: 403,
			Message: "User: arn:aws:iam::111111111111:user/ci is not authorized to perform: iam:PassRole on resource: arn:aws:iam::111111111111:role/reflex"}, nil,
			"need iam:PassRole"},
		{"concurrency quota", fakeaws.Fault{}, func(w *Want) { w.Function.ReservedConcurrency = 950 }, "lower --reserved-concurrency"},
		{"role never usable", fakeaws.Fault{Service: "lambda", Operation: "CreateFunction",
			Code: "InvalidParameterValueException", Message: "The role defined for the function cannot be assumed by Lambda."}, nil, "run setup again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv, _ := newRuntimeSetup(t)
			if tt.fault.Code != "" {
				srv.Cloud.InjectFault(tt.fault)
			}
			w := lambdaWant(t)
			if tt.mod != nil {
				tt.mod(&w)
			}
			_, err := s.Apply(context.Background(), w)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if tt.name == "denied" && !strings.Contains(err.Error(), "need iam:CreateRole") {
				t.Errorf("err = %v: does not name the permission", err)
			}
		})
	}
	// A table of that name that is not a ledger is refused, not changed.
	s, srv, _ := newRuntimeSetup(t)
	_, err := s.DynamoDB.(*dynamodb.Client).CreateTable(context.Background(), &dynamodb.CreateTableInput{TableName: aws.String("reflex-ledger"),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(context.Background(), lambdaWant(t)); err == nil || !strings.Contains(err.Error(), "not reflex's ledger") {
		t.Errorf("foreign table: %v", err)
	}
	if n := len(srv.Cloud.CallsTo("dynamodb", "UpdateTable")); n != 0 {
		t.Errorf("foreign table updated")
	}

	invalid := []struct {
		mod  func(*Want)
		want string
	}{
		{func(w *Want) { w.Function.Zip = nil }, "no Lambda package"},
		{func(w *Want) { w.Function.LogRetentionDays = 366 }, "log retention 366 days"},
		{func(w *Want) { w.Function.MaxRetryAttempts = 3 }, "retry attempts 3"},
		{func(w *Want) { w.Name = "re flex" }, `name "re flex"`},
		{func(w *Want) { w.TargetARN = "arn:aws:sqs:eu-west-1:111111111111:q" }, "not both"},
		{func(w *Want) { w.Runtime = "ecs" }, `runtime "ecs"`},
	}
	for _, tt := range invalid {
		w := lambdaWant(t)
		tt.mod(&w)
		if err := w.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v, want %q", err, tt.want)
		}
	}
}

// The function's garbage-collector settings follow its memory, and a value
// the user gives in Function.Env wins.
func TestFunctionEnvGC(t *testing.T) {
	tests := []struct {
		name     string
		memory   int
		env      map[string]string
		wantGOGC string
		wantLim  string
	}{
		{"default memory", 256, nil, "400", "204MiB"},
		{"more memory", 1024, nil, "400", "819MiB"},
		{"user's GOGC", 256, map[string]string{"GOGC": "100"}, "100", "204MiB"},
		{"user's limit", 512, map[string]string{"GOMEMLIMIT": "300MiB"}, "400", "300MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &run{w: &Want{Function: Function{MemoryMB: tt.memory, Env: tt.env}}}
			env := u.functionEnv()
			if env["GOGC"] != tt.wantGOGC || env["GOMEMLIMIT"] != tt.wantLim {
				t.Errorf("GOGC=%s GOMEMLIMIT=%s, want %s %s", env["GOGC"], env["GOMEMLIMIT"], tt.wantGOGC, tt.wantLim)
			}
		})
	}
}
