package sns_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/reflexsec/reflex/internal/fakeaws"
	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/notify/notifytest"
	"github.com/reflexsec/reflex/notify/sns"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const topicARN = "arn:aws:sns:us-east-1:123456789012:reflex"

const account = "111111111111" // an account of fakeaws's default scenario

// cloud is a test cloud with a topic and an SQS queue subscribed to it (the
// SNS JSON envelope, as a real subscription delivers it).
type cloud struct {
	srv      *fakeaws.Server
	sns      *awssns.Client
	sqs      *sqs.Client
	topicARN string
	queueURL string
}

func newCloud(t *testing.T) *cloud {
	t.Helper()
	ctx := context.Background()
	srv := fakeaws.NewTestServer(t, nil)
	cfg := srv.Config(account)
	c := &cloud{srv: srv, sqs: sqs.NewFromConfig(cfg),
		sns: awssns.NewFromConfig(cfg, func(o *awssns.Options) { o.RetryMaxAttempts = 1 })} // notify retries
	tp, err := c.sns.CreateTopic(ctx, &awssns.CreateTopicInput{Name: aws.String("reflex")})
	if err != nil {
		t.Fatal(err)
	}
	c.topicARN = aws.ToString(tp.TopicArn)
	q, err := c.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("reflex-notifications")})
	if err != nil {
		t.Fatal(err)
	}
	c.queueURL = aws.ToString(q.QueueUrl)
	qa, err := c.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.sns.Subscribe(ctx, &awssns.SubscribeInput{TopicArn: tp.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(qa.Attributes["QueueArn"])}); err != nil {
		t.Fatal(err)
	}
	return c
}

// envelope is what an SQS subscriber of a topic receives.
type envelope struct {
	Type, TopicArn, Subject, Message string
	MessageAttributes                map[string]struct{ Type, Value string }
}

// received returns the messages waiting in the subscribed queue.
func (c *cloud) received(t *testing.T) []envelope {
	t.Helper()
	out, err := c.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(c.queueURL), MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	var envs []envelope
	for _, m := range out.Messages {
		var e envelope
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &e); err != nil {
			t.Fatalf("SQS body is not the SNS envelope: %v", err)
		}
		envs = append(envs, e)
	}
	return envs
}

func TestPublishArrivesInSubscribedQueue(t *testing.T) {
	c := newCloud(t)
	n, err := sns.New(sns.Config{TopicARN: c.topicARN, Client: c.sns})
	if err != nil {
		t.Fatal(err)
	}
	ev := notifytest.Hostile(now)
	ev.Finding.Title = strings.Repeat("Ünïcödé\r\n<!channel> ", 20)
	if err := n.Notify(context.Background(), &notify.Notification{Channel: "audit", Route: "all", Events: []*notify.Event{ev}, Total: 1, At: now}); err != nil {
		t.Fatal(err)
	}
	envs := c.received(t)
	if len(envs) != 1 {
		t.Fatalf("%d messages in the subscribed queue, want 1", len(envs))
	}
	env := envs[0]
	if env.Type != "Notification" || env.TopicArn != c.topicARN {
		t.Errorf("envelope %+v", env)
	}
	subj := env.Subject
	if len(subj) == 0 || len(subj) > 100 {
		t.Errorf("subject of %d characters", len(subj))
	}
	for _, r := range subj {
		if r < 0x20 || r > 0x7e {
			t.Errorf("subject has %q: %q", r, subj)
		}
	}
	if !strings.HasPrefix(subj, "reflex: High UnauthorizedAccess:EC2/") {
		t.Errorf("subject %q", subj)
	}
	// MessageStructure json: the SQS subscriber gets the "sqs" member, or
	// "default" (the JSON body); e-mail subscribers get the text version.
	text := env.Message
	if pubs := c.srv.Cloud.Published(account, fakeaws.DefaultRegion, "reflex"); len(pubs) == 1 {
		var structure map[string]string
		if err := json.Unmarshal([]byte(pubs[0].Message), &structure); err != nil {
			t.Fatalf("published message is not a per-protocol structure: %v", err)
		}
		if !strings.Contains(structure["email"], "ec2.isolate (") || !strings.Contains(structure["email"], "To release: reflex release d-sample-0001") {
			t.Errorf("email text:\n%s", structure["email"])
		}
	}
	var body sns.Body
	if err := json.Unmarshal([]byte(text), &body); err != nil {
		t.Fatalf("the message is not the JSON body: %v", err)
	}
	if body.Total != 1 || len(body.Events) != 1 || body.Events[0].Finding.Title != ev.Finding.Title || body.Events[0].Steps[2].Status != notify.StepFailed {
		t.Errorf("body %+v", body)
	}
	attrs := map[string]string{}
	for k, v := range env.MessageAttributes {
		attrs[k] = v.Value
	}
	if attrs["band"] != "High" || attrs["kind"] != "decision" || attrs["outcome"] != "test" {
		t.Errorf("attributes %v", attrs)
	}
	if _, ok := attrs["account"]; ok {
		t.Error("a hostile account id became an attribute")
	}
	// what was published is on the topic too
	if pubs := c.srv.Cloud.Published(account, fakeaws.DefaultRegion, "reflex"); len(pubs) != 1 || pubs[0].Subject != subj {
		t.Errorf("published %+v", pubs)
	}
}

func TestMessageWithinLimit(t *testing.T) {
	n := &notify.Notification{GroupKey: "g", Total: 1000, At: now}
	for range notify.MaxShown {
		ev := notify.SampleEvent(now)
		ev.Finding.Title = strings.Repeat("x", 60_000)
		n.Events = append(n.Events, ev)
	}
	in, err := sns.Build(topicARN, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(*in.Message) > sns.MaxMessage {
		t.Fatalf("message of %d bytes", len(*in.Message))
	}
	var msg map[string]string
	_ = json.Unmarshal([]byte(*in.Message), &msg)
	var body sns.Body
	_ = json.Unmarshal([]byte(msg["default"]), &body)
	if body.Total != 1000 || body.More != 1000-len(body.Events) || len(body.Events) == 0 {
		t.Errorf("total %d more %d shown %d", body.Total, body.More, len(body.Events))
	}
}

func TestFIFO(t *testing.T) {
	in, err := sns.Build(topicARN+".fifo", notify.SampleNotification(now), nil)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(in.MessageGroupId) != "123456789012" || len(aws.ToString(in.MessageDeduplicationId)) != 64 {
		t.Errorf("group %v dedup %v", aws.ToString(in.MessageGroupId), aws.ToString(in.MessageDeduplicationId))
	}
}

func TestSubject(t *testing.T) {
	tests := map[string]string{
		"":                       "reflex notification",
		"a\nb\r\nc":              "a b c",
		"héllo":                  "h?llo",
		strings.Repeat("a", 150): strings.Repeat("a", 97) + "...",
		"  \t lead":              "lead",
		"x\x00y":                 "x?y",
	}
	for in, want := range tests {
		if got := sns.Subject(in); got != want {
			t.Errorf("Subject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorsAreClassified(t *testing.T) {
	tests := []struct {
		status int
		code   string
		retry  bool
	}{
		{400, "Throttling", true},
		{500, "InternalError", true},
		{503, "ServiceUnavailable", true},
		{404, "NotFound", false},
		{403, "AuthorizationError", false},
		{400, "InvalidParameter", false},
	}
	c := newCloud(t)
	n, err := sns.New(sns.Config{TopicARN: c.topicARN, Client: c.sns})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			remove := c.srv.Cloud.InjectFault(fakeaws.Fault{Service: "sns", Operation: "Publish", Nth: 1, Times: 1, Code: tt.code, Status: tt.status})
			defer remove()
			err := n.Notify(context.Background(), notify.SampleNotification(now))
			if retry, _ := notify.Retryable(err); err == nil || retry != tt.retry || !strings.Contains(err.Error(), tt.code) {
				t.Errorf("err %v retryable %v, want %v", err, retry, tt.retry)
			}
		})
	}
	// the faults are spent: the next message goes through, and arrives
	if err := n.Notify(context.Background(), notify.SampleNotification(now)); err != nil {
		t.Fatal(err)
	}
	if envs := c.received(t); len(envs) != 1 {
		t.Fatalf("%d messages arrived, want 1 (failed publishes deliver nothing)", len(envs))
	}
}
