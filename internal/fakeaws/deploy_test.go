package fakeaws_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// testZip is a deployment package holding one file.
func testZip(t *testing.T, content string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("bootstrap")
	must(t, err)
	_, err = w.Write([]byte(content))
	must(t, err)
	must(t, zw.Close())
	return b.Bytes()
}

// status returns the HTTP status of an API error (0 if none).
func status(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestIAMCreateRole(t *testing.T) {
	srv := newServer(t)
	c := iam.NewFromConfig(srv.Config(prod))
	ctx := context.Background()
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("reflex"), AssumeRolePolicyDocument: aws.String(lambdaTrust),
		Description: aws.String("reflex responder"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("soc")}}})
	must(t, err)
	if aws.ToString(out.Role.Arn) != "arn:aws:iam::111111111111:role/reflex" || !strings.HasPrefix(aws.ToString(out.Role.RoleId), "AROA") {
		t.Fatalf("role = %+v", out.Role)
	}
	got, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("reflex")})
	must(t, err)
	doc, _ := url.QueryUnescape(aws.ToString(got.Role.AssumeRolePolicyDocument))
	if doc != lambdaTrust || aws.ToString(got.Role.Description) != "reflex responder" {
		t.Fatalf("GetRole = %q %q", doc, aws.ToString(got.Role.Description))
	}
	tags, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("reflex")})
	must(t, err)
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "soc" {
		t.Fatalf("tags = %+v", tags.Tags)
	}
	other := strings.Replace(lambdaTrust, "lambda", "ec2", 1)
	_, err = c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("reflex"), PolicyDocument: aws.String(other)})
	must(t, err)
	_, err = c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("reflex"), Description: aws.String("changed")})
	must(t, err)
	got, _ = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("reflex")})
	if doc, _ := url.QueryUnescape(aws.ToString(got.Role.AssumeRolePolicyDocument)); doc != other || aws.ToString(got.Role.Description) != "changed" {
		t.Fatalf("after updates: %q %q", doc, aws.ToString(got.Role.Description))
	}

	tests := []struct {
		name string
		call func() error
		code string
		http int
	}{
		{"exists", func() error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("reflex"), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
			return err
		}, "EntityAlreadyExists", 409},
		{"bad name", func() error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("a b"), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
			return err
		}, "ValidationError", 400},
		{"bad trust", func() error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String("{")})
			return err
		}, "MalformedPolicyDocument", 400},
		{"update unknown", func() error {
			_, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("nope"), PolicyDocument: aws.String(lambdaTrust)})
			return err
		}, "NoSuchEntity", 404},
	}
	for _, tt := range tests {
		err := tt.call()
		if code(t, err) != tt.code || status(err) != tt.http {
			t.Errorf("%s: %v (status %d), want %s %d", tt.name, err, status(err), tt.code, tt.http)
		}
	}
}

func TestLambdaFunctions(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	cfg := srv.Config(prod)
	_, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("fn"), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
	must(t, err)
	lc := lambda.NewFromConfig(cfg)
	role := "arn:aws:iam::111111111111:role/fn"
	code1 := testZip(t, "v1")
	sum := sha256.Sum256(code1)
	create := &lambda.CreateFunctionInput{FunctionName: aws.String("reflex"), Role: aws.String(role), Runtime: lambdatypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: code1}, Architectures: []lambdatypes.Architecture{lambdatypes.ArchitectureArm64},
		MemorySize: aws.Int32(256), Timeout: aws.Int32(120), Environment: &lambdatypes.Environment{Variables: map[string]string{"REFLEX_LEDGER": "dynamodb://t"}},
		DeadLetterConfig: &lambdatypes.DeadLetterConfig{TargetArn: aws.String("arn:aws:sqs:us-east-1:111111111111:dlq")}}
	fc, err := lc.CreateFunction(ctx, create)
	must(t, err)
	if fc.State != lambdatypes.StatePending || aws.ToString(fc.CodeSha256) != base64.StdEncoding.EncodeToString(sum[:]) ||
		aws.ToString(fc.FunctionArn) != "arn:aws:lambda:us-east-1:111111111111:function:reflex" || fc.Architectures[0] != lambdatypes.ArchitectureArm64 {
		t.Fatalf("created = %+v", fc)
	}
	// Pending: an update before the function is looked at conflicts.
	_, err = lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("reflex"), MemorySize: aws.Int32(512)})
	wantCode(t, err, "ResourceConflictException")
	gf, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("reflex")})
	must(t, err)
	if gf.Configuration.State != lambdatypes.StateActive || gf.Configuration.Environment.Variables["REFLEX_LEDGER"] != "dynamodb://t" ||
		aws.ToString(gf.Configuration.DeadLetterConfig.TargetArn) == "" || gf.Concurrency != nil {
		t.Fatalf("GetFunction = %+v", gf.Configuration)
	}
	up, err := lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:111111111111:function:reflex"), ZipFile: testZip(t, "v2")})
	must(t, err)
	if up.LastUpdateStatus != lambdatypes.LastUpdateStatusInProgress || aws.ToString(up.CodeSha256) == aws.ToString(fc.CodeSha256) {
		t.Fatalf("UpdateFunctionCode = %+v", up)
	}
	_, err = lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("reflex"), MemorySize: aws.Int32(512)})
	wantCode(t, err, "ResourceConflictException")
	_, err = lambda.NewFunctionUpdatedV2Waiter(lc).WaitForOutput(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("reflex")}, 10e9)
	must(t, err)
	_, err = lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("reflex"), MemorySize: aws.Int32(512)})
	must(t, err)

	// Reserved concurrency, permissions, asynchronous invocation.
	_, err = lc.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("reflex"), ReservedConcurrentExecutions: aws.Int32(10)})
	must(t, err)
	conc, err := lc.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("reflex")})
	must(t, err)
	if aws.ToInt32(conc.ReservedConcurrentExecutions) != 10 {
		t.Fatalf("concurrency = %v", conc.ReservedConcurrentExecutions)
	}
	_, err = lc.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("reflex"), ReservedConcurrentExecutions: aws.Int32(901)})
	wantCode(t, err, "InvalidParameterValueException")
	_, err = lc.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("reflex")})
	must(t, err)
	if conc, _ := lc.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("reflex")}); conc.ReservedConcurrentExecutions != nil {
		t.Fatalf("concurrency after delete = %v", *conc.ReservedConcurrentExecutions)
	}

	_, err = lc.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("reflex")})
	wantCode(t, err, "ResourceNotFoundException")
	perm := &lambda.AddPermissionInput{FunctionName: aws.String("reflex"), StatementId: aws.String("AllowEventBridge-r"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("events.amazonaws.com"), SourceArn: aws.String("arn:aws:events:us-east-1:111111111111:rule/r")}
	ap, err := lc.AddPermission(ctx, perm)
	must(t, err)
	var st map[string]any
	must(t, json.Unmarshal([]byte(aws.ToString(ap.Statement)), &st))
	if st["Principal"].(map[string]any)["Service"] != "events.amazonaws.com" || st["Condition"].(map[string]any)["ArnLike"].(map[string]any)["AWS:SourceArn"] != "arn:aws:events:us-east-1:111111111111:rule/r" {
		t.Fatalf("statement = %v", st)
	}
	_, err = lc.AddPermission(ctx, perm)
	wantCode(t, err, "ResourceConflictException")
	if status(err) != 409 {
		t.Fatalf("duplicate statement: status %d", status(err))
	}
	pol, err := lc.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("reflex")})
	must(t, err)
	if !strings.Contains(aws.ToString(pol.Policy), `"Sid":"AllowEventBridge-r"`) {
		t.Fatalf("policy = %s", aws.ToString(pol.Policy))
	}
	_, err = lc.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("reflex"), StatementId: aws.String("AllowEventBridge-r")})
	must(t, err)
	_, err = lc.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("reflex"), StatementId: aws.String("AllowEventBridge-r")})
	wantCode(t, err, "ResourceNotFoundException")

	_, err = lc.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("reflex")})
	wantCode(t, err, "ResourceNotFoundException")
	_, err = lc.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("reflex"), MaximumRetryAttempts: aws.Int32(2),
		MaximumEventAgeInSeconds: aws.Int32(21600), DestinationConfig: &lambdatypes.DestinationConfig{OnFailure: &lambdatypes.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:111111111111:dlq")}}})
	must(t, err)
	ic, err := lc.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("reflex")})
	must(t, err)
	if aws.ToInt32(ic.MaximumRetryAttempts) != 2 || aws.ToString(ic.DestinationConfig.OnFailure.Destination) != "arn:aws:sqs:us-east-1:111111111111:dlq" || ic.LastModified == nil {
		t.Fatalf("invoke config = %+v", ic)
	}

	// Errors, with Lambda's codes, statuses and X-Amzn-ErrorType header.
	tests := []struct {
		name string
		call func() error
		code string
		http int
	}{
		{"exists", func() error { _, err := lc.CreateFunction(ctx, create); return err }, "ResourceConflictException", 409},
		{"unknown", func() error {
			_, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", 404},
		{"not a zip", func() error {
			in := *create
			in.FunctionName, in.Code = aws.String("bad-zip"), &lambdatypes.FunctionCode{ZipFile: []byte("not a zip")}
			_, err := lc.CreateFunction(ctx, &in)
			return err
		}, "InvalidParameterValueException", 400},
		{"role cannot be assumed", func() error {
			in := *create
			in.FunctionName, in.Role = aws.String("no-role"), aws.String("arn:aws:iam::111111111111:role/missing")
			_, err := lc.CreateFunction(ctx, &in)
			return err
		}, "InvalidParameterValueException", 400},
		{"reserved env", func() error {
			in := *create
			in.FunctionName, in.Environment = aws.String("env"), &lambdatypes.Environment{Variables: map[string]string{"AWS_REGION": "x"}}
			_, err := lc.CreateFunction(ctx, &in)
			return err
		}, "InvalidParameterValueException", 400},
		{"retries", func() error {
			_, err := lc.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("reflex"), MaximumRetryAttempts: aws.Int32(3)})
			return err
		}, "ValidationException", 400},
	}
	for _, tt := range tests {
		err := tt.call()
		if code(t, err) != tt.code || status(err) != tt.http {
			t.Errorf("%s: %v (status %d), want %s %d", tt.name, err, status(err), tt.code, tt.http)
		}
	}
	if n := len(srv.Cloud.CallsTo("lambda", "CreateFunction")); n != 5 {
		t.Errorf("call log: %d CreateFunction calls, want 5", n)
	}
}

func TestLogGroups(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	c := cloudwatchlogs.NewFromConfig(srv.Config(prod))
	_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/aws/lambda/reflex")})
	must(t, err)
	_, err = c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/aws/lambda/reflex")})
	wantCode(t, err, "ResourceAlreadyExistsException")
	_, err = c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/reflex"), RetentionInDays: aws.Int32(365)})
	must(t, err)
	_, err = c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/reflex"), RetentionInDays: aws.Int32(366)})
	wantCode(t, err, "InvalidParameterException")
	_, err = c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/nope"), RetentionInDays: aws.Int32(7)})
	wantCode(t, err, "ResourceNotFoundException")
	_, err = c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/aws/lambda/reflex-2")})
	must(t, err)
	out, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/reflex"), Limit: aws.Int32(1)})
	must(t, err)
	if len(out.LogGroups) != 1 || aws.ToString(out.LogGroups[0].LogGroupName) != "/aws/lambda/reflex" || aws.ToInt32(out.LogGroups[0].RetentionInDays) != 365 ||
		aws.ToString(out.LogGroups[0].Arn) != "arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/reflex:*" || out.NextToken == nil {
		t.Fatalf("DescribeLogGroups = %+v", out)
	}
	out, err = c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/reflex"), NextToken: out.NextToken})
	must(t, err)
	if len(out.LogGroups) != 1 || out.LogGroups[0].RetentionInDays != nil {
		t.Fatalf("second page = %+v", out.LogGroups)
	}
	// Another region has its own groups.
	west := cloudwatchlogs.NewFromConfig(srv.Config(prod), func(o *cloudwatchlogs.Options) { o.Region = "eu-west-1" })
	if out, _ := west.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{}); len(out.LogGroups) != 0 {
		t.Fatalf("eu-west-1 groups = %+v", out.LogGroups)
	}
}

func TestDynamoDBTables(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	c := dynamodb.NewFromConfig(srv.Config(prod))
	s := func(n string) ddbtypes.AttributeDefinition {
		return ddbtypes.AttributeDefinition{AttributeName: aws.String(n), AttributeType: ddbtypes.ScalarAttributeTypeS}
	}
	key := func(h, r string) []ddbtypes.KeySchemaElement {
		return []ddbtypes.KeySchemaElement{{AttributeName: aws.String(h), KeyType: ddbtypes.KeyTypeHash}, {AttributeName: aws.String(r), KeyType: ddbtypes.KeyTypeRange}}
	}
	in := &dynamodb.CreateTableInput{TableName: aws.String("ledger"), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{s("pk"), s("sk"), s("wk"), s("wt")}, KeySchema: key("pk", "sk"),
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{IndexName: aws.String("work"), KeySchema: key("wk", "wt"),
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll}}},
		SSESpecification: &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms}, DeletionProtectionEnabled: aws.Bool(true)}
	out, err := c.CreateTable(ctx, in)
	must(t, err)
	if out.TableDescription.TableStatus != ddbtypes.TableStatusCreating {
		t.Fatalf("status = %s", out.TableDescription.TableStatus)
	}
	must(t, dynamodb.NewTableExistsWaiter(c).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("ledger")}, 10e9))
	d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("ledger")})
	must(t, err)
	tb := d.Table
	if tb.BillingModeSummary.BillingMode != ddbtypes.BillingModePayPerRequest || tb.SSEDescription.Status != ddbtypes.SSEStatusEnabled ||
		!aws.ToBool(tb.DeletionProtectionEnabled) || len(tb.GlobalSecondaryIndexes) != 1 || tb.GlobalSecondaryIndexes[0].IndexStatus != ddbtypes.IndexStatusActive {
		t.Fatalf("table = %+v", tb)
	}
	_, err = c.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String("ledger"), DeletionProtectionEnabled: aws.Bool(false)})
	must(t, err)
	ttl := func(on bool) error {
		_, err := c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("ledger"),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(on)}})
		return err
	}
	must(t, ttl(true))
	wantCode(t, ttl(true), "ValidationException")
	dt, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("ledger")})
	must(t, err)
	if dt.TimeToLiveDescription.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled || aws.ToString(dt.TimeToLiveDescription.AttributeName) != "ttl" {
		t.Fatalf("ttl = %+v", dt.TimeToLiveDescription)
	}
	_, err = c.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("ledger"),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}})
	must(t, err)
	cb, err := c.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String("ledger")})
	must(t, err)
	if cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus != ddbtypes.PointInTimeRecoveryStatusEnabled {
		t.Fatalf("backups = %+v", cb.ContinuousBackupsDescription)
	}

	bad := func(mod func(*dynamodb.CreateTableInput)) *dynamodb.CreateTableInput {
		c := *in
		c.TableName = aws.String("other")
		mod(&c)
		return &c
	}
	tests := []struct {
		name string
		in   *dynamodb.CreateTableInput
		code string
	}{
		{"exists", in, "ResourceInUseException"},
		{"undefined key", bad(func(c *dynamodb.CreateTableInput) { c.AttributeDefinitions = c.AttributeDefinitions[:3] }), "ValidationException"},
		{"unused definition", bad(func(c *dynamodb.CreateTableInput) { c.AttributeDefinitions = append(c.AttributeDefinitions, s("x")) }), "ValidationException"},
		{"throughput on demand", bad(func(c *dynamodb.CreateTableInput) {
			c.ProvisionedThroughput = &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(1), WriteCapacityUnits: aws.Int64(1)}
		}), "ValidationException"},
		{"short name", bad(func(c *dynamodb.CreateTableInput) { c.TableName = aws.String("ab") }), "ValidationException"},
	}
	for _, tt := range tests {
		_, err := c.CreateTable(ctx, tt.in)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
	_, err = c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("nope")})
	var nf *ddbtypes.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "Table: nope not found") {
		t.Fatalf("unknown table: %v", err)
	}
}

func TestSNSTopicAttributes(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	c := sns.NewFromConfig(srv.Config(prod))
	kms := map[string]string{"KmsMasterKeyId": "alias/aws/sns"}
	out, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("reflex"), Attributes: kms})
	must(t, err)
	again, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("reflex"), Attributes: kms})
	must(t, err)
	if aws.ToString(again.TopicArn) != aws.ToString(out.TopicArn) {
		t.Fatalf("second CreateTopic = %s", aws.ToString(again.TopicArn))
	}
	_, err = c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("reflex"), Attributes: map[string]string{"KmsMasterKeyId": "alias/other"}})
	wantCode(t, err, "InvalidParameter")
	_, err = c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: out.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("soc@example.com")})
	must(t, err)
	attrs, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: out.TopicArn})
	must(t, err)
	if attrs.Attributes["KmsMasterKeyId"] != "alias/aws/sns" || attrs.Attributes["SubscriptionsPending"] != "1" || attrs.Attributes["Owner"] != prod {
		t.Fatalf("attributes = %v", attrs.Attributes)
	}
	_, err = c.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: out.TopicArn, AttributeName: aws.String("KmsMasterKeyId"), AttributeValue: aws.String("alias/k")})
	must(t, err)
	_, err = c.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: out.TopicArn, AttributeName: aws.String("Owner"), AttributeValue: aws.String("x")})
	wantCode(t, err, "InvalidParameter")
	subs, err := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: out.TopicArn})
	must(t, err)
	if len(subs.Subscriptions) != 1 || aws.ToString(subs.Subscriptions[0].SubscriptionArn) != "PendingConfirmation" {
		t.Fatalf("subscriptions = %+v", subs.Subscriptions)
	}
}
