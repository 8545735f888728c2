package setup

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// SNS is the part of the SNS API setup uses for reflex's topic.
type SNS interface {
	GetTopicAttributes(context.Context, *sns.GetTopicAttributesInput, ...func(*sns.Options)) (*sns.GetTopicAttributesOutput, error)
	CreateTopic(context.Context, *sns.CreateTopicInput, ...func(*sns.Options)) (*sns.CreateTopicOutput, error)
	SetTopicAttributes(context.Context, *sns.SetTopicAttributesInput, ...func(*sns.Options)) (*sns.SetTopicAttributesOutput, error)
	ListSubscriptionsByTopic(context.Context, *sns.ListSubscriptionsByTopicInput, ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error)
	Subscribe(context.Context, *sns.SubscribeInput, ...func(*sns.Options)) (*sns.SubscribeOutput, error)
}

// topic makes sure the topic NAME exists, encrypted with SNS's AWS-managed
// key, with an e-mail subscription for each notification address (each
// must confirm); it returns its ARN. Subscriptions setup did not ask for
// are left alone.
func (u *run) topic(ctx context.Context) (string, error) {
	if u.SNS == nil {
		return "", errors.New("setup: no SNS client")
	}
	name, arn := u.w.Name, u.arn("sns", u.w.Name)
	attrs := map[string]string{"KmsMasterKeyId": topicKMSKey}
	cur, err := u.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	switch {
	case errCode(err) == "NotFound":
		var tags []snstypes.Tag
		for _, k := range u.tagKeys() {
			tags = append(tags, snstypes.Tag{Key: aws.String(k), Value: aws.String(u.w.Tags[k])})
		}
		u.created["topic"] = true
		if err := u.change(u.r, Change{Service: "sns", Action: "CreateTopic", Target: name, Why: "the topic does not exist", Input: anyMap(attrs)},
			func() error {
				_, err := u.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name), Attributes: attrs, Tags: tags})
				return err
			}); err != nil {
			return "", err
		}
	case err != nil:
		return "", apiErr("sns", "GetTopicAttributes", name, err)
	case cur.Attributes["KmsMasterKeyId"] != topicKMSKey:
		if err := u.change(u.r, Change{Service: "sns", Action: "SetTopicAttributes", Target: name,
			Why:   fmt.Sprintf("KmsMasterKeyId is %q, want %q", cur.Attributes["KmsMasterKeyId"], topicKMSKey),
			Input: map[string]any{"AttributeName": "KmsMasterKeyId", "AttributeValue": topicKMSKey}},
			func() error {
				_, err := u.SNS.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(arn),
					AttributeName: aws.String("KmsMasterKeyId"), AttributeValue: aws.String(topicKMSKey)})
				return err
			}); err != nil {
			return "", err
		}
	default:
		u.r.Unchanged = append(u.r.Unchanged, "sns topic "+name)
	}
	var have []string
	if !u.created["topic"] || !u.DryRun {
		var token *string
		for {
			out, err := u.SNS.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn), NextToken: token})
			if err != nil {
				return "", apiErr("sns", "ListSubscriptionsByTopic", name, err)
			}
			for _, s := range out.Subscriptions {
				if aws.ToString(s.Protocol) == "email" {
					have = append(have, aws.ToString(s.Endpoint))
				}
			}
			if token = out.NextToken; token == nil {
				break
			}
		}
	}
	for _, e := range u.w.NotificationEmails {
		if slices.Contains(have, e) {
			u.r.Unchanged = append(u.r.Unchanged, "sns subscription "+e)
			continue
		}
		if err := u.change(u.r, Change{Service: "sns", Action: "Subscribe", Target: name + " " + e, Why: "the address is not subscribed (it must confirm)",
			Input: map[string]any{"Protocol": "email", "Endpoint": e}},
			func() error {
				_, err := u.SNS.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("email"), Endpoint: aws.String(e)})
				return err
			}); err != nil {
			return "", err
		}
	}
	return arn, nil
}
