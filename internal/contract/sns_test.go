package contract

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

const (
	docCreateTopic    = "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html"
	docPublish        = "https://docs.aws.amazon.com/sns/latest/api/API_Publish.html"
	docSubscribe      = "https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html"
	docSNSMessageJSON = "https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html"
	docRawDelivery    = "https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html"
)

func snsChecks() []check {
	return []check{
		{name: "sns/CreateTopic is idempotent and names the topic in the caller's account", doc: docCreateTopic, run: func(t *testing.T, e *env) {
			name := unique("topic")
			arn := createTopic(t, e, name)
			if want := "arn:aws:sns:" + region + ":" + e.account + ":" + name; arn != want {
				t.Errorf("TopicArn = %q, want %q", arn, want)
			}
			if again := createTopic(t, e, name); again != arn {
				t.Errorf("second CreateTopic = %q, want %q", again, arn)
			}
		}},
		{name: "sns/Publish to a missing topic fails NotFound", doc: docPublish, run: func(t *testing.T, e *env) {
			arn := "arn:aws:sns:" + region + ":" + e.account + ":" + unique("missing")
			_, err := snsClient(e.cfg).Publish(t.Context(), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m")})
			wantAs[*snstypes.NotFoundException](t, err)
		}},
		{name: "sns/Subscribe returns the subscription ARN and ListSubscriptionsByTopic lists it", doc: docSubscribe, run: func(t *testing.T, e *env) {
			topic := createTopic(t, e, unique("listed"))
			qarn := queueARN(t, e, createQueue(t, e, unique("listed"), nil))
			sub := subscribe(t, e, topic, qarn, false)
			if !strings.HasPrefix(sub, topic+":") {
				t.Errorf("SubscriptionArn = %q, want the topic ARN and a subscription id", sub)
			}
			out, err := snsClient(e.cfg).ListSubscriptionsByTopic(t.Context(), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
			must(t, "ListSubscriptionsByTopic", err)
			if len(out.Subscriptions) != 1 {
				t.Fatalf("%d subscriptions, want 1", len(out.Subscriptions))
			}
			s := out.Subscriptions[0]
			if aws.ToString(s.SubscriptionArn) != sub || aws.ToString(s.Protocol) != "sqs" || aws.ToString(s.Endpoint) != qarn ||
				aws.ToString(s.TopicArn) != topic || aws.ToString(s.Owner) != e.account {
				t.Errorf("subscription = %s %s %s %s owner %s, want %s sqs %s %s owner %s", aws.ToString(s.SubscriptionArn), aws.ToString(s.Protocol),
					aws.ToString(s.Endpoint), aws.ToString(s.TopicArn), aws.ToString(s.Owner), sub, qarn, topic, e.account)
			}
		}},
		{name: "sns/Publish delivers a JSON notification to an SQS subscriber", doc: docSNSMessageJSON, run: func(t *testing.T, e *env) {
			topic := createTopic(t, e, unique("deliver"))
			url := createQueue(t, e, unique("deliver"), nil)
			subscribe(t, e, topic, allowTopic(t, e, url, topic), false)
			out, err := snsClient(e.cfg).Publish(t.Context(), &sns.PublishInput{TopicArn: aws.String(topic),
				Subject: aws.String("reflex: contained i-0abc"), Message: aws.String(`{"finding":"f-1"}`)})
			must(t, "Publish", err)
			n := notification(t, e, url)
			want := map[string]string{"Type": "Notification", "MessageId": aws.ToString(out.MessageId), "TopicArn": topic,
				"Subject": "reflex: contained i-0abc", "Message": `{"finding":"f-1"}`}
			for k, v := range want {
				if n[k] != v {
					t.Errorf("notification %s = %q, want %q", k, n[k], v)
				}
			}
			for _, k := range []string{"Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"} {
				if n[k] == "" {
					t.Errorf("notification has no %s", k)
				}
			}
		}},
		{name: "sns/raw message delivery sends the bare message", doc: docRawDelivery, run: func(t *testing.T, e *env) {
			topic := createTopic(t, e, unique("raw"))
			url := createQueue(t, e, unique("raw"), nil)
			subscribe(t, e, topic, allowTopic(t, e, url, topic), true)
			_, err := snsClient(e.cfg).Publish(t.Context(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(`{"finding":"f-2"}`)})
			must(t, "Publish", err)
			msgs := receive(t, e, url, 0)
			if len(msgs) != 1 || aws.ToString(msgs[0].Body) != `{"finding":"f-2"}` {
				t.Fatalf("queue holds %d messages (%v), want the bare message", len(msgs), bodies(msgs))
			}
		}},
		{name: "sns/MessageStructure json sends the sqs key to SQS subscribers", doc: docPublish, run: func(t *testing.T, e *env) {
			topic := createTopic(t, e, unique("structured"))
			url := createQueue(t, e, unique("structured"), nil)
			subscribe(t, e, topic, allowTopic(t, e, url, topic), false)
			_, err := snsClient(e.cfg).Publish(t.Context(), &sns.PublishInput{TopicArn: aws.String(topic), MessageStructure: aws.String("json"),
				Message: aws.String(`{"default":"for everyone","sqs":"for queues","email":"for people"}`)})
			must(t, "Publish", err)
			if got := notification(t, e, url)["Message"]; got != "for queues" {
				t.Errorf("Message = %q, want the sqs key's %q", got, "for queues")
			}
		}},
		{name: "sns/MessageStructure json without a default key fails InvalidParameter", doc: docPublish, run: func(t *testing.T, e *env) {
			topic := createTopic(t, e, unique("nodefault"))
			_, err := snsClient(e.cfg).Publish(t.Context(), &sns.PublishInput{TopicArn: aws.String(topic), MessageStructure: aws.String("json"),
				Message: aws.String(`{"sqs":"for queues"}`)})
			wantAs[*snstypes.InvalidParameterException](t, err)
		}},
	}
}

func createTopic(t *testing.T, e *env, name string) string {
	t.Helper()
	out, err := snsClient(e.cfg).CreateTopic(t.Context(), &sns.CreateTopicInput{Name: aws.String(name)})
	must(t, "CreateTopic "+name, err)
	return aws.ToString(out.TopicArn)
}

// allowTopic gives the topic the queue policy AWS needs to deliver to the
// queue (https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html)
// and returns the queue's ARN. Neither emulator checks the policy; it is
// set so that the checks hold against AWS too.
func allowTopic(t *testing.T, e *env, url, topic string) string {
	t.Helper()
	arn := queueARN(t, e, url)
	policy, err := jsonString(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": arn,
		"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": topic}},
	}}})
	must(t, "queue policy", err)
	_, err = sqsClient(e.cfg).SetQueueAttributes(t.Context(), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url),
		Attributes: map[string]string{string(sqstypes.QueueAttributeNamePolicy): policy}})
	must(t, "SetQueueAttributes Policy", err)
	return arn
}

// subscribe subscribes a queue (by ARN) to a topic and returns the
// subscription ARN.
func subscribe(t *testing.T, e *env, topic, queueARN string, raw bool) string {
	t.Helper()
	in := &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"), Endpoint: aws.String(queueARN),
		ReturnSubscriptionArn: true}
	if raw {
		in.Attributes = map[string]string{"RawMessageDelivery": "true"}
	}
	out, err := snsClient(e.cfg).Subscribe(t.Context(), in)
	must(t, "Subscribe", err)
	return aws.ToString(out.SubscriptionArn)
}

// notification receives the one SNS notification in the queue and decodes
// its JSON envelope.
func notification(t *testing.T, e *env, url string) map[string]string {
	t.Helper()
	msgs := receive(t, e, url, 0)
	if len(msgs) != 1 {
		t.Fatalf("queue holds %d messages, want 1 notification", len(msgs))
	}
	var n map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &n); err != nil {
		t.Fatalf("notification is not JSON: %v: %s", err, aws.ToString(msgs[0].Body))
	}
	out := map[string]string{}
	for k, v := range n {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func bodies(msgs []sqstypes.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, aws.ToString(m.Body))
	}
	return out
}
