package intake

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSAPI is the part of the SQS client the consumer uses.
type SQSAPI interface {
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// SQS consumes a queue fed by an EventBridge rule: long polling, batches of
// up to 10, the visibility of a message extended while its finding is
// handled, the message deleted only once the ledger has the finding and its
// approved steps ran (or were journaled). A message that fails is left to
// the queue: it comes back, and the queue's redrive policy moves a poison
// message to its dead-letter queue. Bad input is recorded as rejected and
// deleted.
type SQS struct {
	Proc     *Processor
	Client   SQSAPI
	QueueURL string
	// Workers handle messages at once (default 4).
	Workers int
	// Wait is the long-polling wait (default 20s, at most 20s).
	Wait time.Duration
	// Visibility is the visibility timeout set and extended while a
	// message is handled (default 60s).
	Visibility time.Duration
}

// Run receives until ctx ends, then waits for the messages in hand, which
// finish under execCtx (cancel it to stop them: their steps stay journaled,
// and the undeleted messages come back).
func (q *SQS) Run(ctx, execCtx context.Context) error {
	workers := q.Workers
	if workers <= 0 {
		workers = 4
	}
	wait := q.Wait
	if wait <= 0 || wait > 20*time.Second {
		wait = 20 * time.Second
	}
	vis := q.Visibility
	if vis < 2*time.Second {
		vis = 60 * time.Second
	}
	msgs := make(chan types.Message)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range msgs {
				q.handle(execCtx, m, vis)
			}
		}()
	}
	defer func() {
		close(msgs)
		wg.Wait()
	}()
	failures := 0
	for ctx.Err() == nil {
		out, err := q.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: &q.QueueURL, MaxNumberOfMessages: int32(min(10, workers*2)), WaitTimeSeconds: int32(wait / time.Second),
			VisibilityTimeout:           int32(vis / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameSentTimestamp, types.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failures++
			q.Proc.log().Error("receive failed", "queue", q.QueueURL, "error", err.Error())
			if sleep(ctx, time.Duration(min(failures, 6))*time.Second) != nil {
				break
			}
			continue
		}
		failures = 0
		for _, m := range out.Messages {
			select {
			case msgs <- m:
			case <-ctx.Done():
				// not handed to a worker: it becomes visible again after its timeout
				return nil
			}
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (q *SQS) handle(ctx context.Context, m types.Message, vis time.Duration) {
	p := q.Proc
	id := aws.ToString(m.MessageId)
	if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		p.obs().QueueLag("sqs", time.Since(time.UnixMilli(ms)))
	}
	// keep the message invisible while it is handled
	hb, stop := context.WithCancel(context.WithoutCancel(ctx))
	var hbDone sync.WaitGroup
	hbDone.Add(1)
	go func() {
		defer hbDone.Done()
		t := time.NewTicker(vis / 2)
		defer t.Stop()
		for {
			select {
			case <-hb.Done():
				return
			case <-t.C:
				if _, err := q.Client.ChangeMessageVisibility(hb, &sqs.ChangeMessageVisibilityInput{QueueUrl: &q.QueueURL,
					ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: int32(vis / time.Second)}); err != nil && hb.Err() == nil {
					p.log().Warn("visibility extension failed", "message_id", id, "error", err.Error())
				}
			}
		}
	}()
	err := p.handleBody(ctx, "sqs:"+id, []byte(aws.ToString(m.Body)))
	stop()
	hbDone.Wait()
	var re *RejectError
	if err != nil && !errors.As(err, &re) {
		p.log().Error("message left to the queue (it will come back; the redrive policy handles poison)", "message_id", id,
			"receive_count", m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)], "error", err.Error())
		return
	}
	if _, err := q.Client.DeleteMessage(context.WithoutCancel(ctx), &sqs.DeleteMessageInput{QueueUrl: &q.QueueURL, ReceiptHandle: m.ReceiptHandle}); err != nil {
		p.log().Warn("delete failed: the message will come back and be found a duplicate", "message_id", id, "error", err.Error())
	}
}
