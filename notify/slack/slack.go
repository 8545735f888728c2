// Package slack delivers reflex notifications to Slack, through an incoming
// webhook or chat.postMessage with a bot token, as Block Kit messages.
//
// Finding text is untrusted. Everything taken from a finding is escaped per
// Slack's "Escaping text" rules (&, <, > become &amp; &lt; &gt;), so
// <!channel>, <@U123> and <https://evil|bank> arrive as inert text; in
// mrkdwn, identifiers are shown in code spans (no formatting applies inside)
// and prose has the formatting characters * _ ~ ` replaced by look-alikes, so
// a title cannot turn itself bold or strike through the rest of a message.
// Links are built by reflex from validated identifiers only.
package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/reflexsec/reflex/notify"
)

// DefaultAPIBase is Slack's Web API.
const DefaultAPIBase = "https://slack.com/api"

// Block Kit limits (api.slack.com/reference/block-kit).
const (
	maxBlocks      = 50
	maxHeader      = 150
	maxSectionText = 3000
	maxFields      = 10
	maxFieldText   = 2000
	maxContext     = 10
	maxText        = 4000 // the top-level text: Slack truncates messages longer than 40,000, recommends 4,000
)

// Config configures a Slack notifier: either WebhookURL, or Token and Channel.
type Config struct {
	WebhookURL *notify.Secret // incoming webhook URL
	Token      *notify.Secret // bot token (xoxb-…) for chat.postMessage
	Channel    string         // channel id or name for chat.postMessage
	APIBase    string         // DefaultAPIBase when empty
	HTTP       *notify.HTTP
	Template   *notify.Template
}

// Notifier posts to Slack.
type Notifier struct{ c Config }

// New returns a Slack notifier.
func New(c Config) (*Notifier, error) {
	if (c.WebhookURL == nil) == (c.Token == nil) {
		return nil, errors.New("slack: give a webhook URL or a bot token")
	}
	if c.Token != nil && c.Channel == "" {
		return nil, errors.New("slack: chat.postMessage needs a channel")
	}
	if c.APIBase == "" {
		c.APIBase = DefaultAPIBase
	}
	return &Notifier{c: c}, nil
}

// Notify implements notify.Notifier.
func (s *Notifier) Notify(ctx context.Context, n *notify.Notification) error {
	msg, err := Build(n, s.c.Template)
	if err != nil {
		return notify.Final(fmt.Errorf("slack: %w", err))
	}
	if s.c.WebhookURL != nil {
		return s.webhook(ctx, msg)
	}
	return s.postMessage(ctx, msg)
}

func (s *Notifier) webhook(ctx context.Context, msg *Message) error {
	url, err := s.c.WebhookURL.Value(ctx)
	if err != nil {
		return notify.Final(fmt.Errorf("slack: webhook URL: %w", err))
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return notify.Final(err)
	}
	_, err = s.c.HTTP.Post(ctx, "slack", url, nil, body)
	var de *notify.DeliveryError
	if errors.As(err, &de) && (de.Status == http.StatusNotFound || de.Status == http.StatusForbidden || de.Status == http.StatusGone) {
		s.c.WebhookURL.Forget() // re-read a rotated URL next time
	}
	return err
}

// retryableErrors are chat.postMessage errors worth trying again.
var retryableErrors = map[string]bool{
	"ratelimited": true, "rate_limited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true,
}

func (s *Notifier) postMessage(ctx context.Context, msg *Message) error {
	token, err := s.c.Token.Value(ctx)
	if err != nil {
		return notify.Final(fmt.Errorf("slack: token: %w", err))
	}
	msg.Channel = s.c.Channel
	body, err := json.Marshal(msg)
	if err != nil {
		return notify.Final(err)
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	h.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := s.c.HTTP.Post(ctx, "slack", strings.TrimSuffix(s.c.APIBase, "/")+"/chat.postMessage", h, body)
	if err != nil {
		return err
	}
	var r struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		return notify.Temporary(fmt.Errorf("slack: unreadable response: %s", notify.Snippet(resp.Body)))
	}
	if r.OK {
		return nil
	}
	switch r.Error {
	case "invalid_auth", "token_revoked", "token_expired", "account_inactive", "not_authed":
		s.c.Token.Forget()
	}
	return &notify.DeliveryError{Channel: "slack", Retryable: retryableErrors[r.Error],
		RetryAfter: notify.RetryAfter(resp.Header.Get("Retry-After"), s.c.HTTP.Time()),
		Err:        fmt.Errorf("chat.postMessage: %s", notify.Snippet([]byte(r.Error)))}
}
