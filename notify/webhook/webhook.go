// Package webhook posts reflex notifications as JSON to any HTTP endpoint,
// signed with HMAC-SHA256 so the receiver can check they come from reflex
// and were not replayed. See README.md for the body and how to verify.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/reflexsec/reflex/notify"
)

// Headers of a delivery.
const (
	HeaderTimestamp = "X-Reflex-Timestamp" // Unix seconds when the request was signed
	HeaderSignature = "X-Reflex-Signature" // v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
	HeaderDelivery  = "X-Reflex-Delivery"  // the same id on every retry of one message
	HeaderEvent     = "X-Reflex-Event"     // decision | release | test | group
)

// Version is the body's schema version.
const Version = "1"

// Config configures a webhook notifier.
type Config struct {
	URL           *notify.Secret
	SigningSecret *notify.Secret
	HTTP          *notify.HTTP
	Template      *notify.Template // Title overrides the body's title
}

// Notifier posts signed JSON.
type Notifier struct{ c Config }

// New returns a webhook notifier.
func New(c Config) (*Notifier, error) {
	if c.URL == nil || c.SigningSecret == nil {
		return nil, errors.New("webhook: url and signing_secret required")
	}
	return &Notifier{c: c}, nil
}

// Body is the JSON a receiver gets.
type Body struct {
	Version  string          `json:"version"`
	Delivery string          `json:"delivery"`
	Title    string          `json:"title"`
	Text     string          `json:"text"`
	Channel  string          `json:"channel"`
	Route    string          `json:"route"`
	GroupKey string          `json:"group_key,omitempty"`
	Total    int             `json:"total"`
	More     int             `json:"more"`
	Merged   int             `json:"rate_limited_merged,omitempty"`
	Events   []*notify.Event `json:"events"`
	Links    []notify.Link   `json:"links"`
	At       time.Time       `json:"at"`
}

// Build returns the body of n. Finding text is kept as is: JSON encoding
// escapes it (including <, > and & as \u003c, \u003e, \u0026, so a receiver
// pasting it into HTML is not exposed).
func Build(n *notify.Notification, t *notify.Template) (*Body, error) {
	title, text, err := t.Render(n, func(s string) string { return s })
	if err != nil {
		return nil, err
	}
	if title == "" {
		title = notify.Title(n)
	}
	if text == "" {
		text = notify.PlainText(n)
	}
	b := &Body{Version: Version, Delivery: DeliveryID(n), Title: title, Text: text, Channel: n.Channel, Route: n.Route,
		GroupKey: n.GroupKey, Total: n.Total, More: n.More(), Merged: n.Suppressed, Events: n.Events, At: n.At.UTC()}
	b.Links = notify.Links(&n.First().Finding)
	if b.Links == nil {
		b.Links = []notify.Link{}
	}
	return b, nil
}

// DeliveryID identifies a message; retries of it carry the same id, so a
// receiver can drop duplicates.
func DeliveryID(n *notify.Notification) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%d", n.Channel, n.Route, n.GroupKey, n.Total, n.At.UnixNano())
	for _, ev := range n.Events {
		fmt.Fprintf(h, "\x00%s\x00%s\x00%d", ev.Key(), ev.Digest(), ev.At.UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Sign returns the signature header value for body signed at ts.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: no v1 signature")
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: timestamp outside the tolerance")
)

// Verify checks a delivery as a receiver should: the timestamp is within
// tolerance of now (against replays) and one of the v1 signatures in header
// (comma-separated, to allow secret rotation) matches, compared in constant
// time.
func Verify(secret []byte, tsHeader, sigHeader string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(strings.TrimSpace(tsHeader), 10, 64)
	if err != nil {
		return ErrStale
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := Sign(secret, strconv.FormatInt(ts, 10), body)
	found := false
	for _, part := range strings.Split(sigHeader, ",") {
		part = strings.TrimSpace(part)
		if !strings.HasPrefix(part, "v1=") {
			continue
		}
		found = true
		if hmac.Equal([]byte(part), []byte(want)) {
			return nil
		}
	}
	if !found {
		return ErrNoSignature
	}
	return ErrBadSignature
}

// Notify implements notify.Notifier.
func (w *Notifier) Notify(ctx context.Context, n *notify.Notification) error {
	b, err := Build(n, w.c.Template)
	if err != nil {
		return notify.Final(fmt.Errorf("webhook: %w", err))
	}
	body, err := json.Marshal(b)
	if err != nil {
		return notify.Final(err)
	}
	url, err := w.c.URL.Value(ctx)
	if err != nil {
		return notify.Final(fmt.Errorf("webhook: url: %w", err))
	}
	secret, err := w.c.SigningSecret.Value(ctx)
	if err != nil {
		return notify.Final(fmt.Errorf("webhook: signing secret: %w", err))
	}
	ts := strconv.FormatInt(w.c.HTTP.Time().Unix(), 10)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign([]byte(secret), ts, body))
	h.Set(HeaderDelivery, b.Delivery)
	kind := n.First().Kind
	if n.Total > 1 {
		kind = "group"
	}
	h.Set(HeaderEvent, kind)
	_, err = w.c.HTTP.Post(ctx, "webhook", url, h, body)
	return err
}
