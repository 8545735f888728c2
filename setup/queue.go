package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// SQS is the part of the SQS API setup uses for the queue `reflex serve`
// drains.
type SQS interface {
	GetQueueUrl(context.Context, *sqs.GetQueueUrlInput, ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	CreateQueue(context.Context, *sqs.CreateQueueInput, ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	SetQueueAttributes(context.Context, *sqs.SetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.SetQueueAttributesOutput, error)
}

// Queue settings: long enough visibility for a playbook, the longest
// retention, and a dead-letter queue after five receives.
const (
	queueVisibility = "300"
	queueRetention  = "1209600"
	maxReceives     = 5
)

// queues makes sure the findings queue and its dead-letter queue exist with
// the wanted settings and a policy letting reflex's EventBridge rules send to
// them; it returns their ARNs. In a dry run a missing queue's ARN is not
// known yet, and a placeholder names it.
func (s *Setup) queues(ctx context.Context, r *Report, w Want) (queue, dlq string, err error) {
	if s.SQS == nil {
		return "", "", errors.New("setup: no SQS client for --queue")
	}
	dlqURL, dlq, err := s.ensureQueue(ctx, r, w.Queue+"-dlq", nil)
	if err != nil {
		return "", "", err
	}
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, dlq, maxReceives)
	qURL, queue, err := s.ensureQueue(ctx, r, w.Queue, map[string]string{
		"VisibilityTimeout": queueVisibility, "MessageRetentionPeriod": queueRetention, "RedrivePolicy": redrive})
	if err != nil {
		return "", "", err
	}
	for _, q := range []struct{ url, arn string }{{qURL, queue}, {dlqURL, dlq}} {
		if err := s.ensurePolicy(ctx, r, w, q.url, q.arn); err != nil {
			return "", "", err
		}
	}
	return queue, dlq, nil
}

// ensureQueue creates the queue when missing and sets attributes that
// differ; it returns the queue's URL and ARN.
func (s *Setup) ensureQueue(ctx context.Context, r *Report, name string, attrs map[string]string) (string, string, error) {
	got, err := s.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil && !isNoQueue(err) {
		return "", "", fmt.Errorf("sqs:GetQueueUrl %s: %w", name, err)
	}
	if err != nil {
		create := map[string]string{"MessageRetentionPeriod": queueRetention}
		for k, v := range attrs {
			create[k] = v
		}
		var url string
		if err := s.change(r, Change{Service: "sqs", Action: "CreateQueue", Target: name, Why: "the queue does not exist", Input: anyMap(create)},
			func() error {
				out, err := s.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: create})
				if err == nil {
					url = aws.ToString(out.QueueUrl)
				}
				return err
			}); err != nil {
			return "", "", err
		}
		if s.DryRun {
			return "", "(the ARN of the new queue " + name + ")", nil
		}
		arn, _, err := s.queueAttrs(ctx, url)
		return url, arn, err
	}
	url := aws.ToString(got.QueueUrl)
	arn, cur, err := s.queueAttrs(ctx, url)
	if err != nil {
		return "", "", err
	}
	diff := map[string]string{}
	var why []string
	for k, v := range attrs {
		if !sameAttr(cur[k], v) {
			diff[k] = v
			why = append(why, fmt.Sprintf("%s is %q, want %q", k, cur[k], v))
		}
	}
	if len(diff) == 0 {
		r.Unchanged = append(r.Unchanged, "sqs queue "+name)
		return url, arn, nil
	}
	return url, arn, s.change(r, Change{Service: "sqs", Action: "SetQueueAttributes", Target: name, Why: strings.Join(why, "; "), Input: anyMap(diff)},
		func() error {
			_, err := s.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: diff})
			return err
		})
}

// ensurePolicy lets the account's reflex rules (and only them) send to the
// queue.
func (s *Setup) ensurePolicy(ctx context.Context, r *Report, w Want, url, arn string) error {
	if s.DryRun && url == "" {
		return nil // created in this (dry) run: its policy is set with it in a real run
	}
	parts := strings.Split(arn, ":") // arn:aws:sqs:region:account:name
	if len(parts) != 6 {
		return fmt.Errorf("queue ARN %q is not an SQS ARN", arn)
	}
	rules := fmt.Sprintf("arn:%s:events:%s:%s:rule/%s-findings-*", parts[1], parts[3], parts[4], w.RulePrefix)
	want, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid": "ReflexRules", "Effect": "Allow", "Principal": map[string]string{"Service": "events.amazonaws.com"},
			"Action": "sqs:SendMessage", "Resource": arn,
			"Condition": map[string]any{"ArnLike": map[string]string{"aws:SourceArn": rules}},
		}},
	})
	_, cur, err := s.queueAttrs(ctx, url)
	if err != nil {
		return err
	}
	if sameJSON(cur["Policy"], string(want)) {
		r.Unchanged = append(r.Unchanged, "sqs policy "+parts[5])
		return nil
	}
	return s.change(r, Change{Service: "sqs", Action: "SetQueueAttributes", Target: parts[5], Why: "the queue's policy does not let reflex's rules send to it",
		Input: map[string]any{"Policy": string(want)}},
		func() error {
			_, err := s.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"Policy": string(want)}})
			return err
		})
}

func (s *Setup) queueAttrs(ctx context.Context, url string) (string, map[string]string, error) {
	out, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		return "", nil, fmt.Errorf("sqs:GetQueueAttributes %s: %w", url, err)
	}
	return out.Attributes["QueueArn"], out.Attributes, nil
}

func sameAttr(a, b string) bool {
	return a == b || sameJSON(a, b) && strings.HasPrefix(strings.TrimSpace(a), "{")
}

func anyMap(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func isNoQueue(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue":
		return true
	}
	var nq *sqstypes.QueueDoesNotExist
	return errors.As(err, &nq)
}
