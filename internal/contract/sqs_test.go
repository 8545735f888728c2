package contract

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

const (
	docCreateQueue        = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html"
	docGetQueueURL        = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueUrl.html"
	docReceiveMessage     = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html"
	docChangeVisibility   = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html"
	docDeleteMessageBatch = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessageBatch.html"
	docDeadLetterQueues   = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html"
	docSQSJSONErrors      = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html"
)

func sqsChecks() []check {
	return []check{
		{name: "sqs/CreateQueue returns the existing queue for the same attributes", doc: docCreateQueue, run: func(t *testing.T, e *env) {
			c, ctx := sqsClient(e.cfg), t.Context()
			name := unique("same")
			attrs := map[string]string{"VisibilityTimeout": "45"}
			first := createQueue(t, e, name, attrs)
			again, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
			must(t, "CreateQueue again", err)
			if got := aws.ToString(again.QueueUrl); got != first {
				t.Errorf("second CreateQueue URL = %q, want the first %q", got, first)
			}
			got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
			must(t, "GetQueueUrl", err)
			if aws.ToString(got.QueueUrl) != first {
				t.Errorf("GetQueueUrl = %q, want %q", aws.ToString(got.QueueUrl), first)
			}
		}},
		{name: "sqs/CreateQueue with a different attribute value fails QueueNameExists", doc: docCreateQueue,
			kumo: "kumo returns the existing queue's URL even when an attribute value differs", run: func(t *testing.T, e *env) {
				name := unique("differ")
				createQueue(t, e, name, map[string]string{"VisibilityTimeout": "45"})
				_, err := sqsClient(e.cfg).CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name),
					Attributes: map[string]string{"VisibilityTimeout": "60"}})
				wantAs[*sqstypes.QueueNameExists](t, err)
			}},
		{name: "sqs/GetQueueUrl of a missing queue fails AWS.SimpleQueueService.NonExistentQueue", doc: docGetQueueURL, run: func(t *testing.T, e *env) {
			_, err := sqsClient(e.cfg).GetQueueUrl(t.Context(), &sqs.GetQueueUrlInput{QueueName: aws.String(unique("missing"))})
			wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
		}},
		{name: "sqs/GetQueueUrl of a missing queue is the SDK's typed QueueDoesNotExist", doc: docSQSJSONErrors,
			kumo: "kumo's SQS JSON errors put the legacy query code in __type (AWS.SimpleQueueService.NonExistentQueue) and send no " +
				"x-amzn-query-error header; AWS sends __type com.amazonaws.sqs#QueueDoesNotExist and the query code in the header, " +
				"so against kumo the SDK returns a generic API error, never *types.QueueDoesNotExist",
			run: func(t *testing.T, e *env) {
				_, err := sqsClient(e.cfg).GetQueueUrl(t.Context(), &sqs.GetQueueUrlInput{QueueName: aws.String(unique("missing"))})
				wantAs[*sqstypes.QueueDoesNotExist](t, err)
			}},
		{name: "sqs/a received message comes back until it is deleted", doc: docReceiveMessage, run: func(t *testing.T, e *env) {
			c, ctx := sqsClient(e.cfg), t.Context()
			url := createQueue(t, e, unique("roundtrip"), visibleAtOnce)
			body := `{"finding":"f-1","note":"ünïcode & <xml>"}`
			sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
			must(t, "SendMessage", err)
			sum := md5.Sum([]byte(body))
			if got, want := aws.ToString(sent.MD5OfMessageBody), hex.EncodeToString(sum[:]); got != want {
				t.Errorf("SendMessage MD5OfMessageBody = %q, want %q", got, want)
			}
			// The queue's visibility timeout is 0: the message stays
			// visible, so a second receive returns it again, until it is
			// deleted.
			var last sqstypes.Message
			for i := range 2 {
				msgs := receive(t, e, url, 0)
				if len(msgs) != 1 {
					t.Fatalf("receive %d: %d messages, want 1", i+1, len(msgs))
				}
				m := msgs[0]
				if aws.ToString(m.Body) != body || aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) {
					t.Fatalf("receive %d: message %q %q, want %q %q", i+1, aws.ToString(m.MessageId), aws.ToString(m.Body),
						aws.ToString(sent.MessageId), body)
				}
				last = m
			}
			_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: last.ReceiptHandle})
			must(t, "DeleteMessage", err)
			if msgs := receiveNow(t, e, url, 0); len(msgs) != 0 {
				t.Errorf("after DeleteMessage: received %d messages, want 0", len(msgs))
			}
		}},
		{name: "sqs/an in-flight message is hidden until its visibility is changed", doc: docChangeVisibility, run: func(t *testing.T, e *env) {
			c, ctx := sqsClient(e.cfg), t.Context()
			url := createQueue(t, e, unique("inflight"), nil)
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("m")})
			must(t, "SendMessage", err)
			msgs := receive(t, e, url, 300)
			if len(msgs) != 1 {
				t.Fatalf("first receive: %d messages, want 1", len(msgs))
			}
			if again := receiveNow(t, e, url, 300); len(again) != 0 {
				t.Fatalf("receive while in flight: %d messages, want 0", len(again))
			}
			_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
				ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 0})
			must(t, "ChangeMessageVisibility", err)
			again := receive(t, e, url, 300)
			if len(again) != 1 {
				t.Fatalf("receive after visibility 0: %d messages, want 1", len(again))
			}
			if got := again[0].Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)]; got != "2" {
				t.Errorf("ApproximateReceiveCount = %q, want 2", got)
			}
		}},
		{name: "sqs/ChangeMessageVisibility with an invalid receipt handle fails ReceiptHandleIsInvalid", doc: docChangeVisibility, run: func(t *testing.T, e *env) {
			url := createQueue(t, e, unique("badhandle"), nil)
			_, err := sqsClient(e.cfg).ChangeMessageVisibility(t.Context(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
				ReceiptHandle: aws.String("not-a-receipt-handle"), VisibilityTimeout: 0})
			wantAs[*sqstypes.ReceiptHandleIsInvalid](t, err)
		}},
		{name: "sqs/DeleteMessageBatch reports a bad entry without failing the others", doc: docDeleteMessageBatch, run: func(t *testing.T, e *env) {
			c, ctx := sqsClient(e.cfg), t.Context()
			url := createQueue(t, e, unique("batch"), nil)
			for i := range 2 {
				_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprint("m", i))})
				must(t, "SendMessage", err)
			}
			var handles []string
			for range 4 {
				for _, m := range receive(t, e, url, 300) {
					handles = append(handles, aws.ToString(m.ReceiptHandle))
				}
				if len(handles) == 2 {
					break
				}
			}
			if len(handles) != 2 {
				t.Fatalf("received %d messages, want 2", len(handles))
			}
			out, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []sqstypes.DeleteMessageBatchRequestEntry{
				{Id: aws.String("a"), ReceiptHandle: aws.String(handles[0])},
				{Id: aws.String("b"), ReceiptHandle: aws.String(handles[1])},
				{Id: aws.String("bad"), ReceiptHandle: aws.String("not-a-receipt-handle")},
			}})
			must(t, "DeleteMessageBatch", err)
			var ok []string
			for _, s := range out.Successful {
				ok = append(ok, aws.ToString(s.Id))
			}
			slices.Sort(ok)
			if !slices.Equal(ok, []string{"a", "b"}) {
				t.Errorf("Successful = %v, want [a b]", ok)
			}
			if len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "bad" || aws.ToString(out.Failed[0].Code) != "ReceiptHandleIsInvalid" ||
				!out.Failed[0].SenderFault {
				t.Errorf("Failed = %+v, want one entry bad/ReceiptHandleIsInvalid/SenderFault", failedEntries(out.Failed))
			}
		}},
		{name: "sqs/DeleteMessageBatch with repeated ids fails BatchEntryIdsNotDistinct", doc: docDeleteMessageBatch, run: func(t *testing.T, e *env) {
			url := createQueue(t, e, unique("dupids"), nil)
			_, err := sqsClient(e.cfg).DeleteMessageBatch(t.Context(), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url),
				Entries: []sqstypes.DeleteMessageBatchRequestEntry{
					{Id: aws.String("x"), ReceiptHandle: aws.String("h1")},
					{Id: aws.String("x"), ReceiptHandle: aws.String("h2")},
				}})
			wantAs[*sqstypes.BatchEntryIdsNotDistinct](t, err)
		}},
		{name: "sqs/a message received more than maxReceiveCount times moves to the dead-letter queue", doc: docDeadLetterQueues, run: func(t *testing.T, e *env) {
			c, ctx := sqsClient(e.cfg), t.Context()
			dlqURL := createQueue(t, e, unique("dlq"), nil)
			policy, err := jsonString(map[string]string{"deadLetterTargetArn": queueARN(t, e, dlqURL), "maxReceiveCount": "1"})
			must(t, "redrive policy", err)
			url := createQueue(t, e, unique("src"), map[string]string{"RedrivePolicy": policy, "VisibilityTimeout": "0"})
			sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("poison")})
			must(t, "SendMessage", err)
			if msgs := receive(t, e, url, 0); len(msgs) != 1 {
				t.Fatalf("first receive: %d messages, want 1", len(msgs))
			}
			// The second receive would make the receive count 2 > 1.
			if msgs := receiveNow(t, e, url, 0); len(msgs) != 0 {
				t.Fatalf("second receive from the source queue: %d messages, want 0 (moved to the DLQ)", len(msgs))
			}
			moved := receive(t, e, dlqURL, 0)
			if len(moved) != 1 || aws.ToString(moved[0].MessageId) != aws.ToString(sent.MessageId) || aws.ToString(moved[0].Body) != "poison" {
				t.Fatalf("dead-letter queue holds %d messages, want the sent one", len(moved))
			}
		}},
	}
}

// visibleAtOnce are the attributes of a queue whose received messages are
// visible again at once (ReceiveMessage cannot ask for a 0 s timeout: the
// SDK leaves a zero VisibilityTimeout out of the request).
var visibleAtOnce = map[string]string{"VisibilityTimeout": "0"}

// createQueue creates a queue and returns its URL.
func createQueue(t *testing.T, e *env, name string, attrs map[string]string) string {
	t.Helper()
	out, err := sqsClient(e.cfg).CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	must(t, "CreateQueue "+name, err)
	return aws.ToString(out.QueueUrl)
}

// queueARN reads a queue's ARN from its attributes.
func queueARN(t *testing.T, e *env, url string) string {
	t.Helper()
	out, err := sqsClient(e.cfg).GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	must(t, "GetQueueAttributes", err)
	arn := out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if arn == "" {
		t.Fatalf("queue %s has no QueueArn attribute", url)
	}
	return arn
}

// receive waits up to a second for messages (long polling returns as soon
// as one is there), asking for the receive count. A visibility of 0 means
// the queue's own timeout.
func receive(t *testing.T, e *env, url string, visibility int32) []sqstypes.Message {
	t.Helper()
	return receiveWait(t, e, url, visibility, 1)
}

// receiveNow is a short poll: it answers at once.
func receiveNow(t *testing.T, e *env, url string, visibility int32) []sqstypes.Message {
	t.Helper()
	return receiveWait(t, e, url, visibility, 0)
}

func receiveWait(t *testing.T, e *env, url string, visibility, wait int32) []sqstypes.Message {
	t.Helper()
	out, err := sqsClient(e.cfg).ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
		VisibilityTimeout: visibility, WaitTimeSeconds: wait,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount}})
	must(t, "ReceiveMessage", err)
	return out.Messages
}

func failedEntries(f []sqstypes.BatchResultErrorEntry) []string {
	var out []string
	for _, e := range f {
		out = append(out, fmt.Sprintf("%s/%s/%v", aws.ToString(e.Id), aws.ToString(e.Code), e.SenderFault))
	}
	return out
}
