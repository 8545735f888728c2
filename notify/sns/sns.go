// Package sns publishes reflex notifications to an Amazon SNS topic.
//
// The message uses MessageStructure "json": subscribers that read JSON (SQS,
// Lambda, HTTP) get a JSON document under "default", e-mail subscribers a
// readable text under "email". The subject is one line of printable ASCII
// of at most 100 characters, as SNS requires; the whole message stays within
// SNS's 256 KB. Message attributes (kind, band, account, region, rule,
// outcome) let subscriptions filter. FIFO topics get a message group (the
// account) and a deduplication id.
package sns

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"

	"github.com/reflexsec/reflex/notify"
)

// SNS limits.
const (
	MaxSubject = 100
	MaxMessage = 256 * 1024 // bytes, message and attributes together
)

// API is the part of the SNS client the notifier uses.
type API interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Config configures an SNS notifier.
type Config struct {
	TopicARN string
	Client   API
	Template *notify.Template // Title overrides the subject, Text the e-mail text
}

// Notifier publishes to a topic.
type Notifier struct{ c Config }

// New returns an SNS notifier.
func New(c Config) (*Notifier, error) {
	if c.TopicARN == "" || c.Client == nil {
		return nil, errors.New("sns: topic ARN and client required")
	}
	return &Notifier{c: c}, nil
}

// Body is the JSON document under "default".
type Body struct {
	Version string          `json:"version"`
	Source  string          `json:"source"` // "reflex"
	Title   string          `json:"title"`
	Channel string          `json:"channel"`
	Route   string          `json:"route"`
	Group   string          `json:"group_key,omitempty"`
	Total   int             `json:"total"`
	More    int             `json:"more"`
	Events  []*notify.Event `json:"events"`
	Links   []notify.Link   `json:"links"`
	At      time.Time       `json:"at"`
}

// Notify implements notify.Notifier.
func (s *Notifier) Notify(ctx context.Context, n *notify.Notification) error {
	in, err := Build(s.c.TopicARN, n, s.c.Template)
	if err != nil {
		return notify.Final(fmt.Errorf("sns: %w", err))
	}
	_, err = s.c.Client.Publish(ctx, in)
	if err != nil {
		return classify(err)
	}
	return nil
}

// classify marks throttling, server and network errors retryable.
func classify(err error) error {
	de := &notify.DeliveryError{Channel: "sns", Err: err}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "Throttled", "Throttling", "ThrottlingException", "KMSThrottling", "InternalError", "InternalFailure", "ServiceUnavailable":
			de.Retryable = true
		}
		if ae.ErrorFault() == smithy.FaultServer {
			de.Retryable = true
		}
		de.Err = fmt.Errorf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
		return de
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary ||
		retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary {
		de.Retryable = true
	}
	return de
}

// Build returns the Publish input for n.
func Build(topic string, n *notify.Notification, t *notify.Template) (*sns.PublishInput, error) {
	title, text, err := t.Render(n, func(s string) string { return s })
	if err != nil {
		return nil, err
	}
	if title == "" {
		title = notify.Title(n)
	}
	ev := n.First()
	in := &sns.PublishInput{TopicArn: aws.String(topic), Subject: aws.String(Subject("reflex: " + title)),
		MessageStructure: aws.String("json"), MessageAttributes: attributes(ev, n)}
	shown := len(n.Events)
	for {
		msg, err := message(n, shown, title, text)
		if err != nil {
			return nil, err
		}
		if len(msg)+attributesSize(in.MessageAttributes) <= MaxMessage || shown <= 1 {
			if len(msg) > MaxMessage {
				return nil, fmt.Errorf("message of %d bytes is over SNS's 256 KB", len(msg))
			}
			in.Message = aws.String(msg)
			break
		}
		shown = shown / 2
	}
	if strings.HasSuffix(topic, ".fifo") {
		group := ev.Finding.Account
		if !notify.ValidAccount(group) {
			group = "reflex"
		}
		sum := sha256.Sum256([]byte(*in.Message))
		in.MessageGroupId = aws.String(group)
		in.MessageDeduplicationId = aws.String(hex.EncodeToString(sum[:]))
	}
	return in, nil
}

func message(n *notify.Notification, shown int, title, text string) (string, error) {
	sub := *n
	sub.Events = n.Events[:shown]
	body := Body{Version: "1", Source: "reflex", Title: title, Channel: n.Channel, Route: n.Route, Group: n.GroupKey,
		Total: n.Total, More: n.Total - shown, Events: sub.Events, Links: notify.Links(&n.First().Finding), At: n.At.UTC()}
	if body.Links == nil {
		body.Links = []notify.Link{}
	}
	def, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	if text == "" {
		text = notify.PlainText(&sub)
	}
	m, err := json.Marshal(map[string]string{"default": string(def), "email": text})
	return string(m), err
}

// Subject makes an SNS subject of s: printable ASCII only (other characters
// become '?'), no line breaks, starting with a letter, digit or punctuation,
// at most 100 characters.
func Subject(s string) string {
	b := make([]byte, 0, len(s))
	space := false
	for _, r := range s {
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			space = true
			continue
		case r > 0x20 && r < 0x7f:
		default:
			r = '?'
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		b = append(b, byte(r))
	}
	if len(b) == 0 {
		return "reflex notification"
	}
	if len(b) > MaxSubject {
		b = append(b[:MaxSubject-3], "..."...)
	}
	return string(b)
}

func attributes(ev *notify.Event, n *notify.Notification) map[string]types.MessageAttributeValue {
	m := map[string]types.MessageAttributeValue{}
	add := func(k, v string) {
		v = Subject(v) // printable ASCII, bounded
		if v != "" && v != "reflex notification" {
			m[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	kind := ev.Kind
	if n.Total > 1 {
		kind = "group"
	}
	add("kind", kind)
	add("band", ev.Finding.Band)
	if notify.ValidAccount(ev.Finding.Account) {
		add("account", ev.Finding.Account)
	}
	if notify.ValidRegion(ev.Finding.Region) {
		add("region", ev.Finding.Region)
	}
	add("rule", ev.Rule)
	add("outcome", ev.Outcome)
	return m
}

func attributesSize(m map[string]types.MessageAttributeValue) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue))
	}
	return n
}
