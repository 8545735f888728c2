package notify

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"
)

// Templates are a channel's user-supplied Go templates (text/template).
// Title is a one-line headline; Text the message body. They run over a
// TemplateData whose strings are already escaped for the channel, so a
// template cannot let finding text through unescaped.
type Templates struct {
	Title string `yaml:"title" json:"title,omitempty"`
	Text  string `yaml:"text" json:"text,omitempty"`
}

// Template is a parsed user template.
type Template struct {
	Title *template.Template
	Text  *template.Template
}

// TemplateData is what a template sees.
type TemplateData struct {
	// Event is the first event, escaped for the channel.
	Event *Event
	// Events are the events shown, escaped; Total counts all of them and
	// More those not shown.
	Events []*Event
	Total  int
	More   int
	// Links are the console links of the first event (validated URLs).
	Links []Link
	// Channel and Route name where the message goes.
	Channel, Route string
}

// maxTemplateOutput bounds a rendered template.
const maxTemplateOutput = 64 << 10

var funcs = template.FuncMap{
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"join":  strings.Join,
	"trunc": func(n int, s string) string { return truncate(s, n) },
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "unknown"
		}
		return t.UTC().Format("2006-01-02 15:04:05 MST")
	},
}

// ParseTemplates parses user templates; empty ones stay nil (the channel's
// default is used). The templates are tried on a sample event, so an error
// shows at load time, not on the first finding.
func ParseTemplates(t Templates) (*Template, error) {
	var out Template
	var err error
	if t.Title != "" {
		if out.Title, err = template.New("title").Funcs(funcs).Option("missingkey=error").Parse(t.Title); err != nil {
			return nil, fmt.Errorf("title template: %w", err)
		}
	}
	if t.Text != "" {
		if out.Text, err = template.New("text").Funcs(funcs).Option("missingkey=error").Parse(t.Text); err != nil {
			return nil, fmt.Errorf("text template: %w", err)
		}
	}
	if out.Title == nil && out.Text == nil {
		return nil, nil
	}
	n := SampleNotification(time.Unix(0, 0))
	if _, _, err := out.Render(n, func(s string) string { return s }); err != nil {
		return nil, err
	}
	return &out, nil
}

// Render runs the templates over n with every string escaped by esc. An
// empty result for a template that is not set.
func (t *Template) Render(n *Notification, esc func(string) string) (title, text string, err error) {
	if t == nil {
		return "", "", nil
	}
	data := Data(n, esc)
	run := func(tt *template.Template) (string, error) {
		if tt == nil {
			return "", nil
		}
		var b limitedBuffer
		if err := tt.Execute(&b, data); err != nil {
			return "", fmt.Errorf("%s template: %w", tt.Name(), err)
		}
		return b.String(), nil
	}
	if title, err = run(t.Title); err != nil {
		return "", "", err
	}
	if text, err = run(t.Text); err != nil {
		return "", "", err
	}
	return title, text, nil
}

// Data builds the template data of n, escaping every string with esc.
func Data(n *Notification, esc func(string) string) *TemplateData {
	d := &TemplateData{Total: n.Total, More: n.More(), Channel: esc(n.Channel), Route: esc(n.Route)}
	for _, ev := range n.Events {
		d.Events = append(d.Events, ev.Map(esc))
	}
	if len(d.Events) > 0 {
		d.Event = d.Events[0]
		d.Links = Links(&n.Events[0].Finding)
	} else {
		d.Event = &Event{}
	}
	return d
}

// Map returns a copy of e with every string passed through f.
func (e *Event) Map(f func(string) string) *Event {
	c := *e
	c.Kind, c.DecisionID, c.Rule, c.Mode, c.Outcome, c.Reason, c.Release =
		f(e.Kind), f(e.DecisionID), f(e.Rule), f(e.Mode), f(e.Outcome), f(e.Reason), f(e.Release)
	c.Steps = make([]Step, len(e.Steps))
	for i, s := range e.Steps {
		c.Steps[i] = Step{Name: f(s.Name), Target: f(s.Target), Status: f(s.Status), Reason: f(s.Reason), Error: f(s.Error)}
	}
	fi := e.Finding
	fi.ID, fi.Title, fi.Type, fi.Band, fi.Account, fi.Region, fi.Partition =
		f(fi.ID), f(fi.Title), f(fi.Type), f(fi.Band), f(fi.Account), f(fi.Region), f(fi.Partition)
	fi.Resource = Resource{Kind: f(fi.Resource.Kind), ID: f(fi.Resource.ID), Name: f(fi.Resource.Name), ARN: f(fi.Resource.ARN)}
	c.Finding = fi
	return &c
}

var errTooLong = errors.New("output longer than 64 KiB")

type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxTemplateOutput {
		return 0, errTooLong
	}
	return b.Buffer.Write(p)
}
