package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Lambda is the handler of `reflex lambda`. It accepts an EventBridge event
// (one finding) or an SQS batch (EventBridge → SQS → Lambda) and answers an
// SQS batch with a partial batch failure response, so one bad message does
// not redeliver the batch (the event source mapping needs
// FunctionResponseTypes ReportBatchItemFailures).
type Lambda struct {
	// Setup builds the processor on the first invocation (configuration,
	// clients, ledger): start-up does no work it can defer. A failed setup
	// is retried by the next invocation.
	Setup func(context.Context) (*Processor, error)

	mu   sync.Mutex
	proc *Processor
}

func (l *Lambda) processor(ctx context.Context) (*Processor, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.proc != nil {
		return l.proc, nil
	}
	p, err := l.Setup(ctx)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	l.proc = p
	return p, nil
}

// invocation is what the handler reads of any payload to tell its kind.
type invocation struct {
	Records []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
	DetailType *string `json:"detail-type"`
}

// Kind names of a Lambda payload.
const (
	KindSQS         = "sqs"
	KindEventBridge = "eventbridge"
)

// PayloadKind tells an SQS batch from an EventBridge event (or anything
// else the finding parser may read).
func PayloadKind(payload []byte) (string, error) {
	var inv invocation
	if err := json.Unmarshal(payload, &inv); err != nil {
		return "", fmt.Errorf("the invocation payload is not a JSON object: %w", err)
	}
	if len(inv.Records) > 0 {
		for _, r := range inv.Records {
			if r.EventSource != "aws:sqs" {
				return "", fmt.Errorf("unsupported event source %q: want aws:sqs records or an EventBridge event", r.EventSource)
			}
		}
		return KindSQS, nil
	}
	return KindEventBridge, nil
}

// Handle is the Lambda entry point.
func (l *Lambda) Handle(ctx context.Context, payload json.RawMessage) (any, error) {
	p, err := l.processor(ctx)
	if err != nil {
		return nil, err // retried by Lambda
	}
	kind, err := PayloadKind(payload)
	if err != nil {
		return nil, p.Reject(ctx, "lambda", payload, &RejectError{Source: "lambda", Errs: []error{err}})
	}
	if kind == KindSQS {
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, p.Reject(ctx, "lambda", payload, &RejectError{Source: "lambda", Errs: []error{err}})
		}
		return p.HandleSQSBatch(ctx, ev), nil
	}
	return nil, p.handleBody(ctx, "eventbridge", payload)
}

// handleBody decodes one input and handles its findings; bad input is
// recorded and not retried. The error is a retryable failure (the ledger).
func (p *Processor) handleBody(ctx context.Context, source string, body []byte) error {
	fs, err := Decode(source, bytes.TrimSpace(body))
	if err != nil {
		return p.Reject(ctx, source, body, err)
	}
	_, err = p.Handle(ctx, source, fs)
	return err
}

// HandleSQSBatch handles the messages of an SQS batch one by one and names
// the ones to deliver again: those whose findings the ledger could not
// take. Bad messages are recorded as rejected and not retried.
func (p *Processor) HandleSQSBatch(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
	var resp events.SQSEventResponse
	resp.BatchItemFailures = []events.SQSBatchItemFailure{}
	for _, m := range ev.Records {
		if sent, ok := m.Attributes["SentTimestamp"]; ok {
			var ms int64
			if _, err := fmt.Sscan(sent, &ms); err == nil && ms > 0 {
				p.obs().QueueLag("lambda-sqs", time.Since(time.UnixMilli(ms)))
			}
		}
		if err := p.handleBody(ctx, "sqs:"+m.MessageId, []byte(m.Body)); err != nil {
			var re *RejectError
			if !errors.As(err, &re) {
				p.log().Error("message will be delivered again", "message_id", m.MessageId, "error", err.Error())
			}
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp
}
