package intake_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/reflexsec/reflex/intake"
	"github.com/reflexsec/reflex/store"
)

func sqsEvent(bodies ...string) []byte {
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: "m" + string(rune('0'+i)), Body: b, EventSource: "aws:sqs",
			Attributes: map[string]string{"SentTimestamp": "1700000000000"}})
	}
	b, _ := json.Marshal(ev)
	return b
}

func TestLambdaHandler(t *testing.T) {
	p, led, dir := newProc(t)
	l := &intake.Lambda{Setup: func(context.Context) (*intake.Processor, error) { return p, nil }}
	ctx := t.Context()
	// an EventBridge event
	if out, err := l.Handle(ctx, event("lam-1", 1)); err != nil || out != nil {
		t.Fatalf("eventbridge: %v, %v", out, err)
	}
	// an SQS batch: a good message, a duplicate, a bad one, a re-send
	out, err := l.Handle(ctx, sqsEvent(string(event("lam-2", 1)), string(event("lam-1", 1)), `{"not":"a finding"}`, string(event("lam-2", 2))))
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(events.SQSEventResponse)
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("failures %v: bad input is recorded, not retried", resp.BatchItemFailures)
	}
	b, _ := json.Marshal(resp)
	if string(b) != `{"batchItemFailures":[]}` {
		t.Errorf("response %s", b)
	}
	rej, _ := led.Events(ctx, store.Filter{Status: "intake.rejected"})
	if len(rej) != 1 {
		t.Errorf("%d rejections recorded, want 1", len(rej))
	}
	// bad payloads
	for _, bad := range []string{`"just a string"`, `{"Records":[{"eventSource":"aws:s3"}]}`, `{"detail-type":"GuardDuty Finding"}`} {
		if _, err := l.Handle(ctx, json.RawMessage(bad)); err != nil {
			t.Errorf("%s: %v (recorded rejections return no error)", bad, err)
		}
	}
	rej, _ = led.Events(ctx, store.Filter{Status: "intake.rejected"})
	if len(rej) != 4 {
		t.Errorf("%d rejections, want 4", len(rej))
	}
	checkOnce(t, led, dir, map[string]bool{"lam-1": true, "lam-2": true})
}

func TestLambdaLedgerDown(t *testing.T) {
	p, led, _ := newProc(t)
	led.Close() // every write fails: the messages must come back
	l := &intake.Lambda{Setup: func(context.Context) (*intake.Processor, error) { return p, nil }}
	out, err := l.Handle(t.Context(), sqsEvent(string(event("d-1", 1)), string(event("d-2", 1))))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(out.(events.SQSEventResponse).BatchItemFailures); got != 2 {
		t.Errorf("%d batch item failures, want 2", got)
	}
	if _, err := l.Handle(t.Context(), event("d-3", 1)); err == nil {
		t.Error("an EventBridge event the ledger could not take returned no error (Lambda would not retry)")
	}
}

func TestLambdaSetupRetried(t *testing.T) {
	calls := 0
	l := &intake.Lambda{Setup: func(context.Context) (*intake.Processor, error) {
		calls++
		return nil, errors.New("config unavailable")
	}}
	for range 2 {
		if _, err := l.Handle(t.Context(), event("x", 1)); err == nil {
			t.Fatal("no error without a processor")
		}
	}
	if calls != 2 {
		t.Errorf("setup called %d times, want a retry per invocation", calls)
	}
}

func FuzzLambdaPayload(f *testing.F) {
	f.Add(event("fz", 1))
	f.Add(sqsEvent(string(event("fz", 1)), "garbage"))
	f.Add([]byte(`{"Records":[{"eventSource":"aws:sqs","body":"{"}]}`))
	f.Add([]byte(`null`))
	p, _, _ := newProc(f)
	l := &intake.Lambda{Setup: func(context.Context) (*intake.Processor, error) { return p, nil }}
	f.Fuzz(func(t *testing.T, payload []byte) {
		kind, kerr := intake.PayloadKind(payload)
		out, err := l.Handle(context.Background(), payload)
		if err != nil {
			t.Fatalf("handler error on input (the ledger is up): %v", err)
		}
		if kerr == nil && kind == intake.KindSQS {
			if _, ok := out.(events.SQSEventResponse); !ok {
				t.Fatalf("an SQS batch answered %T", out)
			}
		}
	})
}
