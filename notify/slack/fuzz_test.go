package slack_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/notify/notifytest"
	"github.com/reflexsec/reflex/notify/slack"
)

// FuzzBuild puts arbitrary text in every finding field and checks no
// mention or link can form, with the default layout and a user template.
func FuzzBuild(f *testing.F) {
	for _, s := range []string{notifytest.HostileTitle, notifytest.HostileID, "<!channel>", "&lt;!channel&gt;", "<<!here>>", "`<@U1>`", "*_~`", "\u2028<", strings.Repeat("&", 3001)} {
		f.Add(s)
	}
	tmpl, err := notify.ParseTemplates(notify.Templates{Title: "{{.Event.Finding.Title}} {{.Event.Rule}}", Text: "{{range .Events}}{{.Finding.Resource.ID}} {{.Reason}}\n{{end}}"})
	if err != nil {
		f.Fatal(err)
	}
	link := regexp.MustCompile(`<https://[a-z0-9-]+\.console\.aws\.amazon\.com/[^|<> ]*\|[A-Za-z0-9 ]+>`)
	f.Fuzz(func(t *testing.T, s string) {
		ev := notify.SampleEvent(now)
		ev.Finding.Title, ev.Finding.Type, ev.Finding.Account, ev.Rule, ev.Reason = s, s, s, s, s
		ev.Finding.Resource.ID, ev.Finding.ID, ev.Steps[2].Error, ev.Release = s, s, s, s
		for _, tm := range []*notify.Template{nil, tmpl} {
			m, err := slack.Build(&notify.Notification{Events: []*notify.Event{ev}, Total: 1}, tm)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(m)
			var back slack.Message
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			texts := []string{back.Text}
			for _, bl := range back.Blocks {
				if bl.Text != nil {
					texts = append(texts, bl.Text.Text)
				}
				for _, x := range append(bl.Fields, bl.Elements...) {
					texts = append(texts, x.Text)
				}
			}
			for _, x := range texts {
				if strings.ContainsAny(link.ReplaceAllString(x, ""), "<>") {
					t.Fatalf("< or > survives in %q", x)
				}
			}
		}
	})
}
