// Package teams delivers reflex notifications to Microsoft Teams through a
// Workflows (Power Automate) webhook, as an Adaptive Card (version 1.4).
//
// The webhook receives {"type":"message","attachments":[{"contentType":
// "application/vnd.microsoft.card.adaptive","content":{…card…}}]}.
// TextBlocks render a Markdown subset (bold, italic, lists, [links](url)), so
// finding text is escaped: Markdown punctuation is backslash-escaped
// (CommonMark), list markers at a line start too, "{{" cannot start a
// DATE()/TIME() function, and "://" is broken so a URL in a title does not
// become a link. Links are Action.OpenUrl buttons built by reflex from
// validated identifiers.
package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/reflexsec/reflex/notify"
)

// maxPayload is Teams' message size limit (about 28 KB).
const maxPayload = 28 << 10

// Config configures a Teams notifier.
type Config struct {
	WebhookURL *notify.Secret
	HTTP       *notify.HTTP
	Template   *notify.Template
}

// Notifier posts Adaptive Cards to a Teams workflow webhook.
type Notifier struct{ c Config }

// New returns a Teams notifier.
func New(c Config) (*Notifier, error) {
	if c.WebhookURL == nil {
		return nil, errors.New("teams: webhook URL required")
	}
	return &Notifier{c: c}, nil
}

// Notify implements notify.Notifier.
func (t *Notifier) Notify(ctx context.Context, n *notify.Notification) error {
	body, err := Payload(n, t.c.Template)
	if err != nil {
		return notify.Final(fmt.Errorf("teams: %w", err))
	}
	url, err := t.c.WebhookURL.Value(ctx)
	if err != nil {
		return notify.Final(fmt.Errorf("teams: webhook URL: %w", err))
	}
	_, err = t.c.HTTP.Post(ctx, "teams", url, nil, body)
	var de *notify.DeliveryError
	if errors.As(err, &de) && (de.Status == http.StatusNotFound || de.Status == http.StatusUnauthorized || de.Status == http.StatusForbidden) {
		t.c.WebhookURL.Forget()
	}
	return err
}

// Message is the webhook body.
type Message struct {
	Type        string       `json:"type"` // "message"
	Attachments []Attachment `json:"attachments"`
}

// Attachment carries the card.
type Attachment struct {
	ContentType string  `json:"contentType"` // application/vnd.microsoft.card.adaptive
	ContentURL  *string `json:"contentUrl"`  // null
	Content     *Card   `json:"content"`
}

// Card is an Adaptive Card.
type Card struct {
	Schema  string         `json:"$schema"`
	Type    string         `json:"type"` // AdaptiveCard
	Version string         `json:"version"`
	Body    []Element      `json:"body"`
	Actions []Action       `json:"actions,omitempty"`
	MSTeams map[string]any `json:"msteams,omitempty"`
}

// Element is a TextBlock, FactSet or Container.
type Element struct {
	Type      string    `json:"type"`
	Text      string    `json:"text,omitempty"`
	Size      string    `json:"size,omitempty"`
	Weight    string    `json:"weight,omitempty"`
	Color     string    `json:"color,omitempty"`
	Style     string    `json:"style,omitempty"`
	Wrap      bool      `json:"wrap,omitempty"`
	Spacing   string    `json:"spacing,omitempty"`
	Separator bool      `json:"separator,omitempty"`
	Facts     []Fact    `json:"facts,omitempty"`
	Items     []Element `json:"items,omitempty"`
}

// Fact is a FactSet entry.
type Fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// Action is an Action.OpenUrl button.
type Action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

var (
	mdReplacer = strings.NewReplacer(
		`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "~", `\~`, "[", `\[`, "]", `\]`,
		"(", `\(`, ")", `\)`, "<", `\<`, ">", `\>`, "#", `\#`, "|", `\|`, "!", `\!`,
	)
	listStart = regexp.MustCompile(`(?m)^([ \t]*)([-+]|[0-9]+[.)])`)
)

// Escape escapes untrusted text for an Adaptive Card TextBlock or fact.
func Escape(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = mdReplacer.Replace(s)
	for _, p := range [][2]string{{"{{", "{\u200b{"}, {"}}", "}\u200b}"}, {"://", ":\u200b//"}} {
		for strings.Contains(s, p[0]) {
			s = strings.ReplaceAll(s, p[0], p[1])
		}
	}
	return listStart.ReplaceAllStringFunc(s, func(m string) string {
		if last := m[len(m)-1]; last == '.' || last == ')' {
			return m[:len(m)-1] + `\` + m[len(m)-1:] // 1\. not a numbered list
		}
		i := len(m) - len(strings.TrimLeft(m, " \t"))
		return m[:i] + `\` + m[i:] // \- not a bullet
	})
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func text(s string) Element { return Element{Type: "TextBlock", Text: s, Wrap: true} }

// Payload is the JSON body for n, at most ~28 KB: events that do not fit are
// counted, not shown.
func Payload(n *notify.Notification, t *notify.Template) ([]byte, error) {
	shown := len(n.Events)
	for {
		m, err := Build(n, t, shown)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		if len(b) <= maxPayload || shown <= 1 {
			return b, nil
		}
		shown--
	}
}

// Build makes the webhook message for n showing at most shown events.
func Build(n *notify.Notification, t *notify.Template, shown int) (*Message, error) {
	title, body, err := t.Render(n, Escape)
	if err != nil {
		return nil, err
	}
	if title == "" {
		title = Escape(oneLine(notify.Title(n)))
	}
	card := &Card{Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4",
		MSTeams: map[string]any{"width": "Full"}}
	color := "Default"
	switch n.First().Finding.Band {
	case "Critical", "High":
		color = "Attention"
	case "Medium":
		color = "Warning"
	}
	card.Body = append(card.Body, Element{Type: "TextBlock", Text: title, Size: "Large", Weight: "Bolder", Color: color, Style: "heading", Wrap: true})
	if body != "" {
		card.Body = append(card.Body, text(body))
	}
	if shown > len(n.Events) {
		shown = len(n.Events)
	}
	if len(n.Events) == 1 {
		card.Body = append(card.Body, detail(n.Events[0])...)
	} else {
		var lines []string
		for _, ev := range n.Events[:shown] {
			f := &ev.Finding
			lines = append(lines, "- "+Escape(oneLine(f.Band+" "+f.Type+" on "+f.Resource.Label()+" in "+f.Account+"/"+f.Region+": "+ev.Headline())))
		}
		card.Body = append(card.Body, text(strings.Join(lines, "\r")))
		if more := n.Total - shown; more > 0 {
			card.Body = append(card.Body, Element{Type: "TextBlock", Text: fmt.Sprintf("… and %d more not shown (%d in all).", more, n.Total), Wrap: true, Size: "Small", Spacing: "Small"})
		}
		if n.Suppressed > 0 {
			card.Body = append(card.Body, Element{Type: "TextBlock", Text: fmt.Sprintf("%d messages merged by the channel's rate limit.", n.Suppressed), Wrap: true, Size: "Small"})
		}
	}
	for _, l := range notify.Links(&n.First().Finding) {
		card.Actions = append(card.Actions, Action{Type: "Action.OpenUrl", Title: l.Label, URL: l.URL})
	}
	return &Message{Type: "message", Attachments: []Attachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card}}}, nil
}

func detail(ev *notify.Event) []Element {
	var out []Element
	if ev.Finding.Title != "" {
		out = append(out, text(Escape(oneLine(ev.Finding.Title))))
	}
	var facts []Fact
	for _, f := range notify.Fields(ev) {
		facts = append(facts, Fact{Title: f[0], Value: Escape(oneLine(f[1]))})
	}
	out = append(out, Element{Type: "FactSet", Facts: facts})
	if d := notify.Decision(ev); d != "" {
		out = append(out, Element{Type: "TextBlock", Text: "**Decision**", Wrap: true, Separator: true}, text(Escape(oneLine(d))))
	}
	if len(ev.Steps) > 0 {
		var steps []Fact
		for _, s := range ev.Steps {
			name := s.Name
			if s.Target != "" {
				name += " (" + s.Target + ")"
			}
			steps = append(steps, Fact{Title: notify.StepIcon(s.Status) + " " + Escape(oneLine(name)), Value: Escape(oneLine(notify.StepText(s)))})
		}
		out = append(out, Element{Type: "TextBlock", Text: "**Steps**", Wrap: true, Separator: true}, Element{Type: "FactSet", Facts: steps})
	}
	if ev.Release != "" {
		out = append(out, Element{Type: "TextBlock", Text: "**To release:** " + Escape(oneLine(ev.Release)), Wrap: true, Separator: true})
	}
	return out
}
