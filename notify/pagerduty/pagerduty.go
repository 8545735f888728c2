// Package pagerduty sends reflex notifications to PagerDuty through the
// Events API v2: a trigger for each finding reflex acted on, with dedup_key
// set to the GuardDuty finding id (so a re-sent finding updates the same
// alert), and a resolve with the same key when the response is released.
//
// PagerDuty renders summary and custom_details as plain text, so finding text
// needs no markup escaping; control characters are removed and lengths kept
// within the API's limits (summary 1024, dedup_key 255, 512 KB in all).
package pagerduty

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/reflexsec/reflex/notify"
)

// DefaultEndpoint is the Events API v2 enqueue endpoint. The EU service
// region uses https://events.eu.pagerduty.com/v2/enqueue.
const DefaultEndpoint = "https://events.pagerduty.com/v2/enqueue"

// API limits.
const (
	maxSummary  = 1024
	maxDedupKey = 255
	maxField    = 1024 // for source, component, group, class (reflex's own cap)
)

// Config configures a PagerDuty notifier.
type Config struct {
	RoutingKey *notify.Secret // the integration key of an Events API v2 integration
	Endpoint   string         // DefaultEndpoint when empty
	HTTP       *notify.HTTP
	Template   *notify.Template // Title overrides the summary
}

// Notifier sends Events API v2 events.
type Notifier struct{ c Config }

// New returns a PagerDuty notifier.
func New(c Config) (*Notifier, error) {
	if c.RoutingKey == nil {
		return nil, errors.New("pagerduty: routing key required")
	}
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	return &Notifier{c: c}, nil
}

// PerFinding makes routes group PagerDuty messages by finding: each finding
// is its own alert, keyed by its id.
func (*Notifier) PerFinding() bool { return true }

// Event is an Events API v2 request body.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"` // trigger | acknowledge | resolve
	DedupKey    string   `json:"dedup_key,omitempty"`
	Payload     *Payload `json:"payload,omitempty"` // required for trigger only
	Client      string   `json:"client,omitempty"`
	Links       []Link   `json:"links,omitempty"`
}

// Payload describes the alert of a trigger.
type Payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"` // critical | error | warning | info
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Link is a link shown with the alert.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// Severity maps a GuardDuty band to PagerDuty's severities.
func Severity(band string) string {
	switch band {
	case "Critical":
		return "critical"
	case "High":
		return "error"
	case "Medium":
		return "warning"
	}
	return "info"
}

// Notify implements notify.Notifier: one event per finding shown (the
// dispatcher groups PagerDuty messages by finding, so normally one).
func (p *Notifier) Notify(ctx context.Context, n *notify.Notification) error {
	key, err := p.c.RoutingKey.Value(ctx)
	if err != nil {
		return notify.Final(fmt.Errorf("pagerduty: routing key: %w", err))
	}
	evs, err := Build(n, p.c.Template)
	if err != nil {
		return notify.Final(fmt.Errorf("pagerduty: %w", err))
	}
	for _, e := range evs {
		e.RoutingKey = key
		body, err := json.Marshal(e)
		if err != nil {
			return notify.Final(err)
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		resp, err := p.c.HTTP.Post(ctx, "pagerduty", p.c.Endpoint, h, body)
		if err != nil {
			var de *notify.DeliveryError
			if errors.As(err, &de) && de.Status == http.StatusBadRequest && strings.Contains(de.Error(), "routing") {
				p.c.RoutingKey.Forget()
			}
			return err
		}
		var r struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(resp.Body, &r) == nil && r.Status != "" && r.Status != "success" {
			return notify.Final(fmt.Errorf("pagerduty: %s", notify.Snippet(resp.Body)))
		}
	}
	return nil
}

// Build returns the Events API v2 events for n (routing_key left empty).
func Build(n *notify.Notification, t *notify.Template) ([]*Event, error) {
	title, _, err := t.Render(n, clean)
	if err != nil {
		return nil, err
	}
	var out []*Event
	for _, ev := range n.Events {
		f := &ev.Finding
		e := &Event{Client: "reflex", DedupKey: dedupKey(ev)}
		for _, l := range notify.Links(f) {
			e.Links = append(e.Links, Link{Href: l.URL, Text: l.Label})
		}
		if ev.Kind == notify.KindRelease {
			e.EventAction = "resolve"
			e.Links = nil
			out = append(out, e)
			continue
		}
		e.EventAction = "trigger"
		summary := title
		if summary == "" || len(n.Events) > 1 {
			summary = notify.Title(&notify.Notification{Events: []*notify.Event{ev}, Total: 1})
		}
		source := f.Resource.Label()
		if source == "" {
			source = "guardduty " + f.Account + "/" + f.Region
		}
		steps := make([]string, 0, len(ev.Steps))
		for _, s := range ev.Steps {
			line := s.Name
			if s.Target != "" {
				line += " (" + s.Target + ")"
			}
			steps = append(steps, clean(line+": "+notify.StepText(s)))
		}
		details := map[string]any{
			"finding_id": clean(f.ID), "finding_title": clean(f.Title), "finding_type": clean(f.Type),
			"severity": f.Severity, "band": clean(f.Band), "account": clean(f.Account), "region": clean(f.Region),
			"resource": clean(f.Resource.Label()), "first_seen": notify.When(f.FirstSeen), "last_seen": notify.When(f.LastSeen),
			"count": f.Count, "decision": clean(notify.Decision(ev)), "decision_id": clean(ev.DecisionID),
			"steps": steps,
		}
		if f.Resource.ARN != "" {
			details["resource_arn"] = clean(f.Resource.ARN)
		}
		if ev.Release != "" {
			details["release"] = clean(ev.Release)
		}
		if f.Sample {
			details["sample"] = true
		}
		if more := n.Total - len(n.Events); more > 0 && len(out) == 0 {
			details["more_findings_in_group"] = more
		}
		e.Payload = &Payload{
			Summary: clip(clean(summary), maxSummary), Source: clip(clean(source), maxField),
			Severity: Severity(f.Band), Component: clip(clean(f.Resource.Kind), maxField),
			Group: clip(clean(f.Account+"/"+f.Region), maxField), Class: clip(clean(f.Type), maxField),
			CustomDetails: details,
		}
		if !ev.At.IsZero() {
			e.Payload.Timestamp = ev.At.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		out = append(out, e)
	}
	return out, nil
}

// dedupKey is the finding id, qualified by account and region only when the
// id is missing (ids are unique per detector).
// A key over 255 bytes (never a real GuardDuty id) is replaced by its
// SHA-256, the same for trigger and resolve.
func dedupKey(ev *notify.Event) string {
	k := clean(ev.Finding.ID)
	if k == "" {
		k = clean(ev.Key())
	}
	if len(k) > maxDedupKey {
		sum := sha256.Sum256([]byte(k))
		k = "sha256:" + hex.EncodeToString(sum[:])
	}
	return k
}

// clean removes control characters and collapses whitespace.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	return strings.Join(strings.Fields(s), " ")
}

func clip(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}
