package fakeaws_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/reflexsec/reflex/internal/fakeaws"
)

func TestS3PublicAccessBlock(t *testing.T) {
	srv := newServer(t)
	c := s3.NewFromConfig(srv.Config(prod))
	ctx := context.Background()
	const pub = "prod-public-assets-111111111111"

	_, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(pub)})
	wantCode(t, err, "NoSuchPublicAccessBlockConfiguration")
	_, err = c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(pub),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true),
			IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
	must(t, err)
	out, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(pub)})
	must(t, err)
	if !aws.ToBool(out.PublicAccessBlockConfiguration.RestrictPublicBuckets) || !aws.ToBool(out.PublicAccessBlockConfiguration.BlockPublicAcls) {
		t.Fatalf("config = %+v", out.PublicAccessBlockConfiguration)
	}
	if p, ok := srv.Cloud.PublicAccessBlock(pub); !ok || !p.BlockPublicPolicy {
		t.Fatalf("state = %+v %v", p, ok)
	}
	_, err = c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(pub)})
	must(t, err)
	if _, ok := srv.Cloud.PublicAccessBlock(pub); ok {
		t.Fatal("configuration still there after delete")
	}
	_, err = c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("no-such-bucket-x")})
	var nsb *s3types.NoSuchBucket
	if code(t, err) != "NoSuchBucket" && !errors.As(err, &nsb) {
		t.Fatalf("unknown bucket: %v", err)
	}
	// Another account's bucket.
	sec := s3.NewFromConfig(srv.Config(security))
	_, err = sec.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("prod-data-111111111111")})
	wantCode(t, err, "AccessDenied")
	// Path style, explicitly.
	ps := s3.NewFromConfig(srv.Config(prod), func(o *s3.Options) { o.UsePathStyle = true })
	_, err = ps.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("prod-data-111111111111")})
	must(t, err)
}

func gdFindingIDs(t *testing.T, c *guardduty.Client, in *guardduty.ListFindingsInput) []string {
	t.Helper()
	var ids []string
	p := guardduty.NewListFindingsPaginator(c, in)
	for p.HasMorePages() {
		pg, err := p.NextPage(context.Background())
		must(t, err)
		ids = append(ids, pg.FindingIds...)
	}
	return ids
}

func TestGuardDuty(t *testing.T) {
	srv := newServer(t)
	c := guardduty.NewFromConfig(srv.Config(prod))
	ctx := context.Background()

	ld, err := c.ListDetectors(ctx, &guardduty.ListDetectorsInput{})
	must(t, err)
	if len(ld.DetectorIds) != 1 {
		t.Fatalf("detectors = %v", ld.DetectorIds)
	}
	det := ld.DetectorIds[0]
	_, err = c.CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true)})
	var bre *gdtypes.BadRequestException
	if !errors.As(err, &bre) {
		t.Fatalf("second detector: %v", err)
	}
	gd, err := c.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(det)})
	must(t, err)
	if gd.Status != gdtypes.DetectorStatusEnabled || gd.FindingPublishingFrequency != gdtypes.FindingPublishingFrequencySixHours {
		t.Fatalf("detector = %+v", gd)
	}
	_, err = c.UpdateDetector(ctx, &guardduty.UpdateDetectorInput{DetectorId: aws.String(det), FindingPublishingFrequency: gdtypes.FindingPublishingFrequencyFifteenMinutes})
	must(t, err)
	gd, _ = c.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(det)})
	if gd.FindingPublishingFrequency != gdtypes.FindingPublishingFrequencyFifteenMinutes {
		t.Fatalf("frequency = %v", gd.FindingPublishingFrequency)
	}
	_, err = c.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String("00000000000000000000000000000000")})
	wantCode(t, err, "BadRequestException")

	all := gdFindingIDs(t, c, &guardduty.ListFindingsInput{DetectorId: aws.String(det)})
	if len(all) != 6 {
		t.Fatalf("findings = %d, want 6", len(all))
	}
	// Pagination: 4 pages of 2.
	pages := 0
	p := guardduty.NewListFindingsPaginator(c, &guardduty.ListFindingsInput{DetectorId: aws.String(det), MaxResults: aws.Int32(2)})
	var paged []string
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		must(t, err)
		pages++
		paged = append(paged, pg.FindingIds...)
	}
	if pages != 3 || !slices.Equal(paged, all) {
		t.Fatalf("pages %d ids %v", pages, paged)
	}
	_, err = c.ListFindings(ctx, &guardduty.ListFindingsInput{DetectorId: aws.String(det), NextToken: aws.String("garbage")})
	wantCode(t, err, "BadRequestException")

	tests := []struct {
		name string
		crit map[string]gdtypes.Condition
		want int
	}{
		{"severity >= 7", map[string]gdtypes.Condition{"severity": {GreaterThanOrEqual: aws.Int64(7)}}, 1},
		{"type eq", map[string]gdtypes.Condition{"type": {Equals: []string{"PenTest:IAMUser/KaliLinux"}}}, 1},
		{"resource type", map[string]gdtypes.Condition{"resource.resourceType": {Eq: []string{"Instance"}}}, 3},
		{"instance id", map[string]gdtypes.Condition{"resource.instanceDetails.instanceId": {Equals: []string{web1}}}, 1},
		{"not archived", map[string]gdtypes.Condition{"service.archived": {Equals: []string{"false"}}}, 6},
		{"updated after", map[string]gdtypes.Condition{"updatedAt": {GreaterThan: aws.Int64(time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())}}, 5},
		{"not sample", map[string]gdtypes.Condition{"service.additionalInfo.sample": {NotEquals: []string{"true"}}}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids := gdFindingIDs(t, c, &guardduty.ListFindingsInput{DetectorId: aws.String(det), FindingCriteria: &gdtypes.FindingCriteria{Criterion: tc.crit}})
			if len(ids) != tc.want {
				t.Fatalf("got %d findings, want %d", len(ids), tc.want)
			}
		})
	}
	// Sorting.
	sorted, err := c.ListFindings(ctx, &guardduty.ListFindingsInput{DetectorId: aws.String(det),
		SortCriteria: &gdtypes.SortCriteria{AttributeName: aws.String("severity"), OrderBy: gdtypes.OrderByDesc}})
	must(t, err)

	// GetFindings deserializes every finding through the SDK's types.
	gf, err := c.GetFindings(ctx, &guardduty.GetFindingsInput{DetectorId: aws.String(det), FindingIds: all})
	must(t, err)
	if len(gf.Findings) != 6 {
		t.Fatalf("GetFindings = %d", len(gf.Findings))
	}
	var kali gdtypes.Finding
	for _, f := range gf.Findings {
		if aws.ToString(f.AccountId) != prod || aws.ToString(f.Region) != "us-east-1" || !strings.Contains(aws.ToString(f.Arn), det) {
			t.Fatalf("finding identity not rewritten: %s %s %s", aws.ToString(f.AccountId), aws.ToString(f.Region), aws.ToString(f.Arn))
		}
		if aws.ToString(f.Id) == sorted.FindingIds[0] && aws.ToFloat64(f.Severity) < 7 {
			t.Fatalf("DESC sort put severity %v first", aws.ToFloat64(f.Severity))
		}
		if aws.ToString(f.Type) == "PenTest:IAMUser/KaliLinux" {
			kali = f
		}
	}
	if aws.ToString(kali.Resource.AccessKeyDetails.AccessKeyId) != aliceKey1 {
		t.Fatalf("override not applied: %+v", kali.Resource.AccessKeyDetails)
	}

	// Archive / unarchive / feedback.
	kid := aws.ToString(kali.Id)
	_, err = c.ArchiveFindings(ctx, &guardduty.ArchiveFindingsInput{DetectorId: aws.String(det), FindingIds: []string{kid}})
	must(t, err)
	ids := gdFindingIDs(t, c, &guardduty.ListFindingsInput{DetectorId: aws.String(det), FindingCriteria: &gdtypes.FindingCriteria{
		Criterion: map[string]gdtypes.Condition{"service.archived": {Equals: []string{"true"}}}}})
	if !slices.Equal(ids, []string{kid}) {
		t.Fatalf("archived = %v", ids)
	}
	_, err = c.UnarchiveFindings(ctx, &guardduty.UnarchiveFindingsInput{DetectorId: aws.String(det), FindingIds: []string{kid}})
	must(t, err)
	_, err = c.UpdateFindingsFeedback(ctx, &guardduty.UpdateFindingsFeedbackInput{DetectorId: aws.String(det), FindingIds: []string{kid}, Feedback: gdtypes.FeedbackUseful})
	must(t, err)
	f, _ := srv.Cloud.Finding(prod, "", kid)
	svc := f["service"].(map[string]any)
	if svc["archived"] != false || svc["userFeedback"] != "USEFUL" {
		t.Fatalf("service = %v", svc)
	}
	_, err = c.ArchiveFindings(ctx, &guardduty.ArchiveFindingsInput{DetectorId: aws.String(det), FindingIds: []string{"nope"}})
	wantCode(t, err, "BadRequestException")

	// Sample findings.
	_, err = c.CreateSampleFindings(ctx, &guardduty.CreateSampleFindingsInput{DetectorId: aws.String(det), FindingTypes: []string{"Backdoor:EC2/C&CActivity.B!DNS"}})
	must(t, err)
	ids = gdFindingIDs(t, c, &guardduty.ListFindingsInput{DetectorId: aws.String(det), FindingCriteria: &gdtypes.FindingCriteria{
		Criterion: map[string]gdtypes.Condition{"type": {Equals: []string{"Backdoor:EC2/C&CActivity.B!DNS"}}}}})
	if len(ids) != 1 {
		t.Fatalf("sample findings = %v", ids)
	}
	// Another account does not see these findings.
	sec := guardduty.NewFromConfig(srv.Config(security))
	_, err = sec.GetFindings(ctx, &guardduty.GetFindingsInput{DetectorId: aws.String(det), FindingIds: all})
	wantCode(t, err, "BadRequestException")
	// A new detector in a region without one.
	cfg := srv.Config(prod)
	cfg.Region = "eu-west-1"
	eu := guardduty.NewFromConfig(cfg)
	cd, err := eu.CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true), FindingPublishingFrequency: gdtypes.FindingPublishingFrequencyOneHour})
	must(t, err)
	if len(aws.ToString(cd.DetectorId)) != 32 {
		t.Fatalf("detector id = %q", aws.ToString(cd.DetectorId))
	}
	// Findings added by tests replay through the same API.
	id, err := srv.Cloud.AddFinding(prod, "eu-west-1", []byte(`{"id":"abc","type":"Recon:EC2/Portscan","severity":5,"service":{}}`))
	must(t, err)
	gf, err = eu.GetFindings(ctx, &guardduty.GetFindingsInput{DetectorId: cd.DetectorId, FindingIds: []string{id}})
	must(t, err)
	if len(gf.Findings) != 1 || aws.ToString(gf.Findings[0].Region) != "eu-west-1" {
		t.Fatalf("added finding = %+v", gf.Findings)
	}
}

func TestSQS(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var clock = func() time.Time { return now }
	srv := newServer(t, fakeaws.WithClock(func() time.Time { return clock() }))
	c := sqs.NewFromConfig(srv.Config(prod))
	ctx := context.Background()

	u, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("reflex-findings")})
	must(t, err)
	q := u.QueueUrl
	_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	var qdne *sqstypes.QueueDoesNotExist
	if !errors.As(err, &qdne) {
		t.Fatalf("unknown queue: %v", err)
	}
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")

	sm, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String(`{"finding":1}`)})
	must(t, err)
	recv := func(vt int32) []sqstypes.Message {
		t.Helper()
		in := &sqs.ReceiveMessageInput{QueueUrl: q, MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount}}
		if vt > 0 {
			in.VisibilityTimeout = vt
		}
		out, err := c.ReceiveMessage(ctx, in)
		must(t, err)
		return out.Messages
	}
	m := recv(0)
	if len(m) != 1 || aws.ToString(m[0].MessageId) != aws.ToString(sm.MessageId) || m[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("first receive = %+v", m)
	}
	// Invisible during the visibility timeout.
	if m := recv(0); len(m) != 0 {
		t.Fatalf("visible during timeout: %+v", m)
	}
	now = now.Add(31 * time.Second)
	m = recv(0)
	if len(m) != 1 || m[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("second receive = %+v", m)
	}
	// ChangeMessageVisibility to 0 makes it visible at once.
	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: q, ReceiptHandle: m[0].ReceiptHandle, VisibilityTimeout: 0})
	must(t, err)
	m = recv(5)
	if len(m) != 1 || m[0].Attributes["ApproximateReceiveCount"] != "3" {
		t.Fatalf("third receive = %+v", m)
	}
	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: q, ReceiptHandle: aws.String("bogus"), VisibilityTimeout: 0})
	wantCode(t, err, "ReceiptHandleIsInvalid")
	// Received maxReceiveCount (3) times: next time it is redriven to the DLQ.
	now = now.Add(6 * time.Second)
	if m := recv(0); len(m) != 0 {
		t.Fatalf("delivered after maxReceiveCount: %+v", m)
	}
	if n, _ := srv.Cloud.QueueDepth(prod, "", "reflex-findings-dlq"); n != 1 {
		t.Fatalf("dlq depth = %d", n)
	}
	if n, _ := srv.Cloud.QueueDepth(prod, "", "reflex-findings"); n != 0 {
		t.Fatalf("queue depth = %d", n)
	}

	// Delete and batch delete.
	for i := range 3 {
		_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String(strings.Repeat("x", i+1))})
		must(t, err)
	}
	m = recv(0)
	if len(m) != 3 {
		t.Fatalf("received %d", len(m))
	}
	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q, ReceiptHandle: m[0].ReceiptHandle})
	must(t, err)
	db, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: q, Entries: []sqstypes.DeleteMessageBatchRequestEntry{
		{Id: aws.String("a"), ReceiptHandle: m[1].ReceiptHandle}, {Id: aws.String("b"), ReceiptHandle: m[2].ReceiptHandle}, {Id: aws.String("c"), ReceiptHandle: aws.String("bad")}}})
	must(t, err)
	if len(db.Successful) != 2 || len(db.Failed) != 1 || aws.ToString(db.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Fatalf("batch = %+v", db)
	}
	if n, _ := srv.Cloud.QueueDepth(prod, "", "reflex-findings"); n != 0 {
		t.Fatalf("depth after delete = %d", n)
	}
	_, err = c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: q, Entries: []sqstypes.DeleteMessageBatchRequestEntry{}})
	var ebr *sqstypes.EmptyBatchRequest
	if !errors.As(err, &ebr) {
		t.Fatalf("empty batch: %v", err)
	}

	// CreateQueue with a redrive policy; cross-account URL refused.
	cq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work"), Attributes: map[string]string{
		"VisibilityTimeout": "5", "RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:111111111111:reflex-findings-dlq","maxReceiveCount":"2"}`}})
	must(t, err)
	ga, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: cq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	must(t, err)
	if ga.Attributes["VisibilityTimeout"] != "5" || !strings.Contains(ga.Attributes["RedrivePolicy"], "reflex-findings-dlq") {
		t.Fatalf("attributes = %v", ga.Attributes)
	}
	_, err = c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work"), Attributes: map[string]string{"VisibilityTimeout": "9"}})
	wantCode(t, err, "QueueAlreadyExists")
	sec := sqs.NewFromConfig(srv.Config(security))
	_, err = sec.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("x")})
	wantCode(t, err, "AccessDenied")
}

func TestSQSLongPoll(t *testing.T) {
	srv := newServer(t)
	c := sqs.NewFromConfig(srv.Config(prod))
	ctx := context.Background()
	u, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("reflex-alerts-inbox")})
	must(t, err)
	go func() {
		time.Sleep(150 * time.Millisecond)
		_, _ = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: u.QueueUrl, MessageBody: aws.String("late")})
	}()
	start := time.Now()
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: u.QueueUrl, WaitTimeSeconds: 5})
	must(t, err)
	if len(out.Messages) != 1 || time.Since(start) > 4*time.Second {
		t.Fatalf("long poll got %d messages after %v", len(out.Messages), time.Since(start))
	}
}

func TestSNSDeliversToSQS(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	sn := sns.NewFromConfig(srv.Config(prod))
	sq := sqs.NewFromConfig(srv.Config(prod))

	ct, err := sn.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("reflex-alerts")})
	must(t, err)
	if aws.ToString(ct.TopicArn) != "arn:aws:sns:us-east-1:111111111111:reflex-alerts" {
		t.Fatalf("topic arn = %s", aws.ToString(ct.TopicArn))
	}
	// A second, raw subscriber.
	cq, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("raw")})
	must(t, err)
	sub, err := sn.Subscribe(ctx, &sns.SubscribeInput{TopicArn: ct.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String("arn:aws:sqs:us-east-1:111111111111:raw"), Attributes: map[string]string{"RawMessageDelivery": "true"}})
	must(t, err)
	if !strings.HasPrefix(aws.ToString(sub.SubscriptionArn), aws.ToString(ct.TopicArn)+":") {
		t.Fatalf("subscription = %s", aws.ToString(sub.SubscriptionArn))
	}
	_, err = sn.Subscribe(ctx, &sns.SubscribeInput{TopicArn: ct.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String("arn:aws:sqs:us-east-1:111111111111:nope")})
	wantCode(t, err, "InvalidParameter")

	pub, err := sn.Publish(ctx, &sns.PublishInput{TopicArn: ct.TopicArn, Subject: aws.String("reflex: isolated i-0a1"), Message: aws.String("instance isolated")})
	must(t, err)
	u, _ := sq.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("reflex-alerts-inbox")})
	out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: u.QueueUrl})
	must(t, err)
	if len(out.Messages) != 1 {
		t.Fatalf("inbox got %d messages", len(out.Messages))
	}
	var env map[string]string
	must(t, json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &env))
	if env["Type"] != "Notification" || env["Message"] != "instance isolated" || env["MessageId"] != aws.ToString(pub.MessageId) || env["Subject"] != "reflex: isolated i-0a1" {
		t.Fatalf("envelope = %v", env)
	}
	out, err = sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: cq.QueueUrl})
	must(t, err)
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "instance isolated" {
		t.Fatalf("raw delivery = %+v", out.Messages)
	}
	if p := srv.Cloud.Published(prod, "", "reflex-alerts"); len(p) != 1 || p[0].Subject != "reflex: isolated i-0a1" {
		t.Fatalf("published = %+v", p)
	}
	_, err = sn.Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:111111111111:nope"), Message: aws.String("x")})
	wantCode(t, err, "NotFound")
	_, err = sn.Publish(ctx, &sns.PublishInput{TopicArn: ct.TopicArn, Message: aws.String("")})
	wantCode(t, err, "InvalidParameter")
	sec := sns.NewFromConfig(srv.Config(security))
	_, err = sec.Publish(ctx, &sns.PublishInput{TopicArn: ct.TopicArn, Message: aws.String("x")})
	wantCode(t, err, "AuthorizationError")
}

func TestAutoScalingAndELB(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	as := autoscaling.NewFromConfig(srv.Config(prod))
	lb := elasticloadbalancingv2.NewFromConfig(srv.Config(prod))

	di, err := as.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{web1, bast}})
	must(t, err)
	if len(di.AutoScalingInstances) != 1 || aws.ToString(di.AutoScalingInstances[0].AutoScalingGroupName) != "web-asg" {
		t.Fatalf("asg instances = %+v", di.AutoScalingInstances)
	}
	tgs, err := lb.DescribeTargetGroups(ctx, &elasticloadbalancingv2.DescribeTargetGroupsInput{Names: []string{"web-tg"}})
	must(t, err)
	tg := tgs.TargetGroups[0].TargetGroupArn
	th, err := lb.DescribeTargetHealth(ctx, &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: tg})
	must(t, err)
	if len(th.TargetHealthDescriptions) != 2 || th.TargetHealthDescriptions[0].TargetHealth.State != elbtypes.TargetHealthStateEnumHealthy {
		t.Fatalf("health = %+v", th.TargetHealthDescriptions)
	}
	_, err = lb.DescribeTargetGroups(ctx, &elasticloadbalancingv2.DescribeTargetGroupsInput{Names: []string{"nope"}})
	var tgnf *elbtypes.TargetGroupNotFoundException
	if !errors.As(err, &tgnf) {
		t.Fatalf("unknown tg: %v", err)
	}

	// Detach without decrementing: the group launches a replacement and
	// the instance leaves the group's target groups.
	_, err = as.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String("web-asg"), InstanceIds: []string{bast}, ShouldDecrementDesiredCapacity: aws.Bool(false)})
	wantCode(t, err, "ValidationError")
	dt, err := as.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String("web-asg"), InstanceIds: []string{web1}, ShouldDecrementDesiredCapacity: aws.Bool(false)})
	must(t, err)
	if len(dt.Activities) != 1 || !strings.Contains(aws.ToString(dt.Activities[0].Description), web1) {
		t.Fatalf("activities = %+v", dt.Activities)
	}
	ids, desired, _ := srv.Cloud.AutoScalingGroup(prod, "", "web-asg")
	if desired != 2 || len(ids) != 2 || slices.Contains(ids, web1) {
		t.Fatalf("asg after detach: %v desired %d", ids, desired)
	}
	if tids, _ := srv.Cloud.Targets(prod, "", "web-tg"); slices.Contains(tids, web1) {
		t.Fatalf("detached instance still a target: %v", tids)
	}
	th, err = lb.DescribeTargetHealth(ctx, &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: tg, Targets: []elbtypes.TargetDescription{{Id: aws.String(web1)}}})
	must(t, err)
	if th.TargetHealthDescriptions[0].TargetHealth.State != elbtypes.TargetHealthStateEnumUnused {
		t.Fatalf("health of detached = %+v", th.TargetHealthDescriptions[0].TargetHealth)
	}
	_, err = lb.DeregisterTargets(ctx, &elasticloadbalancingv2.DeregisterTargetsInput{TargetGroupArn: tg, Targets: []elbtypes.TargetDescription{{Id: aws.String(web1)}}})
	wantCode(t, err, "InvalidTarget")

	// Register / deregister, attach back.
	_, err = lb.RegisterTargets(ctx, &elasticloadbalancingv2.RegisterTargetsInput{TargetGroupArn: tg, Targets: []elbtypes.TargetDescription{{Id: aws.String(web1)}}})
	must(t, err)
	_, err = lb.DeregisterTargets(ctx, &elasticloadbalancingv2.DeregisterTargetsInput{TargetGroupArn: tg, Targets: []elbtypes.TargetDescription{{Id: aws.String(web1)}}})
	must(t, err)
	_, err = as.AttachInstances(ctx, &autoscaling.AttachInstancesInput{AutoScalingGroupName: aws.String("web-asg"), InstanceIds: []string{web1}})
	must(t, err)
	ids, desired, _ = srv.Cloud.AutoScalingGroup(prod, "", "web-asg")
	if desired != 3 || !slices.Contains(ids, web1) {
		t.Fatalf("asg after attach: %v desired %d", ids, desired)
	}
	_, err = as.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String("web-asg"), InstanceIds: []string{web1}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
	must(t, err)
	if _, desired, _ = srv.Cloud.AutoScalingGroup(prod, "", "web-asg"); desired != 2 {
		t.Fatalf("desired after decrementing detach = %d", desired)
	}
	_, err = as.AttachInstances(ctx, &autoscaling.AttachInstancesInput{AutoScalingGroupName: aws.String("nope"), InstanceIds: []string{web1}})
	wantCode(t, err, "ValidationError")
}

func TestSecurityHub(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	c := securityhub.NewFromConfig(srv.Config(prod))
	prodArn := "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default"
	now := time.Now().UTC().Format(time.RFC3339)
	f := shtypes.AwsSecurityFinding{SchemaVersion: aws.String("2018-10-08"), Id: aws.String("reflex-1"), ProductArn: aws.String(prodArn),
		GeneratorId: aws.String("reflex"), AwsAccountId: aws.String(prod), CreatedAt: aws.String(now), UpdatedAt: aws.String(now),
		Severity: &shtypes.Severity{Label: shtypes.SeverityLabelHigh}, Title: aws.String("t"), Description: aws.String("d"),
		Types:     []string{"TTPs/Initial Access"},
		Resources: []shtypes.Resource{{Type: aws.String("AwsEc2Instance"), Id: aws.String(web1)}}}
	bad := f
	bad.Id, bad.AwsAccountId = aws.String("reflex-2"), aws.String(security)
	out, err := c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{f, bad}})
	must(t, err)
	if aws.ToInt32(out.SuccessCount) != 1 || aws.ToInt32(out.FailedCount) != 1 || aws.ToString(out.FailedFindings[0].Id) != "reflex-2" {
		t.Fatalf("import = %+v", out)
	}
	up, err := c.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{{Id: aws.String("reflex-1"), ProductArn: aws.String(prodArn)}, {Id: aws.String("nope"), ProductArn: aws.String(prodArn)}},
		Workflow:           &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusResolved},
		Note:               &shtypes.NoteUpdate{Text: aws.String("contained by reflex"), UpdatedBy: aws.String("reflex")}})
	must(t, err)
	if len(up.ProcessedFindings) != 1 || len(up.UnprocessedFindings) != 1 || aws.ToString(up.UnprocessedFindings[0].ErrorCode) != "FindingNotFound" {
		t.Fatalf("update = %+v", up)
	}
	hf, _ := srv.Cloud.HubFinding(prod, "", prodArn, "reflex-1")
	if hf["Workflow"].(map[string]any)["Status"] != "RESOLVED" || hf["Note"].(map[string]any)["Text"] != "contained by reflex" {
		t.Fatalf("hub finding = %v", hf)
	}
	_, err = c.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{}})
	var iie *shtypes.InvalidInputException
	if !errors.As(err, &iie) {
		t.Fatalf("empty update: %v", err)
	}
}

func TestEventBridge(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	c := eventbridge.NewFromConfig(srv.Config(prod))
	pat := `{"source":["aws.guardduty"],"detail-type":["GuardDuty Finding"]}`
	pr, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("reflex-guardduty"), EventPattern: aws.String(pat), Description: aws.String("to reflex")})
	must(t, err)
	if aws.ToString(pr.RuleArn) != "arn:aws:events:us-east-1:111111111111:rule/reflex-guardduty" {
		t.Fatalf("rule arn = %s", aws.ToString(pr.RuleArn))
	}
	_, err = c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("bad"), EventPattern: aws.String("[1]")})
	var iep *ebtypes.InvalidEventPatternException
	if !errors.As(err, &iep) {
		t.Fatalf("bad pattern: %v", err)
	}
	pt, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("reflex-guardduty"), Targets: []ebtypes.Target{
		{Id: aws.String("sqs"), Arn: aws.String("arn:aws:sqs:us-east-1:111111111111:reflex-findings")}}})
	must(t, err)
	if pt.FailedEntryCount != 0 {
		t.Fatalf("put targets = %+v", pt)
	}
	_, err = c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("nope"), Targets: []ebtypes.Target{{Id: aws.String("x"), Arn: aws.String("arn:aws:sqs:us-east-1:1:x")}}})
	var rnf *ebtypes.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("unknown rule: %v", err)
	}
	dr, err := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("reflex-guardduty")})
	must(t, err)
	if aws.ToString(dr.EventPattern) != pat || dr.State != ebtypes.RuleStateEnabled || aws.ToString(dr.EventBusName) != "default" {
		t.Fatalf("rule = %+v", dr)
	}
	lt, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("reflex-guardduty")})
	must(t, err)
	if len(lt.Targets) != 1 {
		t.Fatalf("targets = %+v", lt.Targets)
	}
}

// PutRule validates the pattern as EventBridge does and answers its reason
// (EventBridge API reference, PutRule: InvalidEventPatternException).
func TestEventBridgePatternValidation(t *testing.T) {
	srv := newServer(t)
	c := eventbridge.NewFromConfig(srv.Config(prod))
	tests := []struct {
		name, pattern, reason string // reason "" means accepted
	}{
		{"valid", `{"source":["aws.guardduty"],"detail":{"severity":[{"numeric":[">=",7]}]}}`, ""},
		{"not an object", `[1]`, "Event pattern is not valid. Reason: "},
		{"leaf not an array", `{"source":"aws.guardduty"}`, `Event pattern is not valid. Reason: "source" must be an object or an array`},
		{"nested leaf not an array", `{"detail":{"severity":true}}`, `Event pattern is not valid. Reason: "severity" must be an object or an array`},
		{"unknown operator", `{"source":[{"regex":"aws.*"}]}`, "Event pattern is not valid. Reason: "},
		{"over the 2048-character quota", `{"source":["` + strings.Repeat("a", 2050) + `"]}`, "Event pattern is not valid. Reason: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String("r-" + strings.ReplaceAll(tc.name, " ", "-")),
				EventPattern: aws.String(tc.pattern)})
			if tc.reason == "" {
				must(t, err)
				return
			}
			var iep *ebtypes.InvalidEventPatternException
			if !errors.As(err, &iep) {
				t.Fatalf("PutRule(%.80s) = %v, want InvalidEventPatternException", tc.pattern, err)
			}
			if !strings.HasPrefix(iep.ErrorMessage(), tc.reason) {
				t.Fatalf("message = %q, want it to start with %q", iep.ErrorMessage(), tc.reason)
			}
		})
	}
}
