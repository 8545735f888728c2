package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQS is the part of the SQS API setup uses for the dead-letter queue and
// the queue `reflex serve` drains.
type SQS interface {
	GetQueueUrl(context.Context, *sqs.GetQueueUrlInput, ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	CreateQueue(context.Context, *sqs.CreateQueueInput, ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	SetQueueAttributes(context.Context, *sqs.SetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.SetQueueAttributesOutput, error)
}

// Queue settings (the module's): long enough visibility for a playbook,
// long polling, the longest retention, SQS-managed encryption, and a
// dead-letter queue after five receives.
const (
	queueVisibility = "300"
	queueRetention  = "1209600"
	queueWait       = "20"
	maxReceives     = 5
)

// queues makes sure the dead-letter queue NAME-dlq and, for runtime sqs,
// the findings queue exist with the wanted settings and a policy letting
// reflex's EventBridge rules send to them. It returns their ARNs (queue is
// empty for runtime lambda).
func (u *run) queues(ctx context.Context) (queue, dlq string, err error) {
	if u.SQS == nil {
		return "", "", errors.New("setup: no SQS client")
	}
	dlq = u.arn("sqs", u.dlqName())
	if err := u.ensureQueue(ctx, u.dlqName(), map[string]string{
		"MessageRetentionPeriod": queueRetention, "SqsManagedSseEnabled": "true", "Policy": u.queuePolicy(dlq)}); err != nil {
		return "", "", err
	}
	if u.w.Runtime != RuntimeSQS {
		return "", dlq, nil
	}
	queue = u.arn("sqs", u.w.Queue)
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, dlq, maxReceives)
	if err := u.ensureQueue(ctx, u.w.Queue, map[string]string{
		"VisibilityTimeout": queueVisibility, "MessageRetentionPeriod": queueRetention, "ReceiveMessageWaitTimeSeconds": queueWait,
		"SqsManagedSseEnabled": "true", "RedrivePolicy": redrive, "Policy": u.queuePolicy(queue)}); err != nil {
		return "", "", err
	}
	return queue, dlq, nil
}

// queuePolicy lets the account's reflex rules (and only them) send to the
// queue.
func (u *run) queuePolicy(arn string) string {
	b, _ := json.Marshal(PolicyDocument{Version: "2012-10-17", Statement: []Statement{{
		Sid: "ReflexRules", Effect: "Allow", Principal: map[string]any{"Service": "events.amazonaws.com"},
		Action: "sqs:SendMessage", Resource: arn,
		Condition: map[string]any{"ArnLike": map[string]string{"aws:SourceArn": u.ruleARN(u.w.RulePrefix + "-findings-*")}},
	}}})
	return string(b)
}

// ensureQueue creates the queue with its attributes when missing, and sets
// the attributes that differ otherwise.
func (u *run) ensureQueue(ctx context.Context, name string, attrs map[string]string) error {
	got, err := u.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil && !isNoQueue(err) {
		return apiErr("sqs", "GetQueueUrl", name, err)
	}
	if err != nil {
		var tags map[string]string
		if len(u.w.Tags) > 0 {
			tags = u.w.Tags
		}
		return u.change(u.r, Change{Service: "sqs", Action: "CreateQueue", Target: name, Why: "the queue does not exist", Input: anyMap(attrs)},
			func() error {
				_, err := u.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs, Tags: tags})
				return err
			})
	}
	url := aws.ToString(got.QueueUrl)
	out, err := u.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		return apiErr("sqs", "GetQueueAttributes", name, err)
	}
	diff := map[string]string{}
	var why []string
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := attrs[k]; !sameAttr(out.Attributes[k], v) {
			diff[k] = v
			if k == "Policy" {
				why = append(why, "its policy does not let reflex's rules send to it")
			} else {
				why = append(why, fmt.Sprintf("%s is %q, want %q", k, out.Attributes[k], v))
			}
		}
	}
	if len(diff) == 0 {
		u.r.Unchanged = append(u.r.Unchanged, "sqs queue "+name)
		return nil
	}
	return u.change(u.r, Change{Service: "sqs", Action: "SetQueueAttributes", Target: name, Why: strings.Join(why, "; "), Input: anyMap(diff)},
		func() error {
			_, err := u.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: diff})
			return err
		})
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
	switch errCode(err) {
	case "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue":
		return true
	}
	var nq *sqstypes.QueueDoesNotExist
	return errors.As(err, &nq)
}
