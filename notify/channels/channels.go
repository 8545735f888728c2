// Package channels builds the notifiers of a notifications configuration:
// one per configured channel, of the package for its type.
package channels

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/notify/pagerduty"
	"github.com/reflexsec/reflex/notify/slack"
	"github.com/reflexsec/reflex/notify/sns"
	"github.com/reflexsec/reflex/notify/teams"
	"github.com/reflexsec/reflex/notify/webhook"
)

// Deps are what notifiers need from outside.
type Deps struct {
	Resolver notify.Resolver // resolves secret references (env, ssm, secretsmanager)
	HTTP     *notify.HTTP
	// SNS returns a client for a region; nil uses AWS below.
	SNS func(region string) sns.API
	// AWS is the AWS configuration for SNS when SNS is nil.
	AWS *aws.Config
}

// Build returns a notifier per channel of cfg (validated).
func Build(cfg *notify.Config, d Deps) (map[string]notify.Notifier, error) {
	out := map[string]notify.Notifier{}
	secret := func(v string) *notify.Secret {
		if v == "" {
			return nil
		}
		ref, err := notify.ParseRef(v)
		if err != nil {
			return nil // Validate reported it
		}
		return notify.NewSecret(ref, d.Resolver)
	}
	for name, ch := range cfg.Channels {
		var n notify.Notifier
		var err error
		switch ch.Type {
		case notify.TypeSlack:
			n, err = slack.New(slack.Config{WebhookURL: secret(ch.WebhookURL), Token: secret(ch.Token), Channel: ch.Channel,
				APIBase: ch.Endpoint, HTTP: d.HTTP, Template: ch.Template})
		case notify.TypeTeams:
			n, err = teams.New(teams.Config{WebhookURL: secret(ch.WebhookURL), HTTP: d.HTTP, Template: ch.Template})
		case notify.TypePagerDuty:
			n, err = pagerduty.New(pagerduty.Config{RoutingKey: secret(ch.RoutingKey), Endpoint: ch.Endpoint, HTTP: d.HTTP, Template: ch.Template})
		case notify.TypeWebhook:
			n, err = webhook.New(webhook.Config{URL: secret(ch.URL), SigningSecret: secret(ch.SigningSecret), HTTP: d.HTTP, Template: ch.Template})
		case notify.TypeSNS:
			region := topicRegion(ch.TopicARN)
			var client sns.API
			switch {
			case d.SNS != nil:
				client = d.SNS(region)
			case d.AWS != nil:
				c := d.AWS.Copy()
				c.Region = region
				endpoint := ch.Endpoint
				client = awssns.NewFromConfig(c, func(o *awssns.Options) {
					o.RetryMaxAttempts = 1 // notify's retry stage retries
					if endpoint != "" {
						o.BaseEndpoint = aws.String(endpoint)
					}
				})
			default:
				err = fmt.Errorf("no AWS configuration for SNS")
			}
			if err == nil {
				n, err = sns.New(sns.Config{TopicARN: ch.TopicARN, Client: client, Template: ch.Template})
			}
		default:
			err = fmt.Errorf("unknown type %q", ch.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("notifications.channels.%s: %w", name, err)
		}
		out[name] = n
	}
	return out, nil
}

// topicRegion is the region field of a topic ARN.
func topicRegion(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) == 6 {
		return parts[3]
	}
	return ""
}
