package teams_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/notify/notifytest"
	"github.com/reflexsec/reflex/notify/teams"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// card decodes a posted body generically and checks the documented shape of
// a Workflows webhook message carrying an Adaptive Card; it returns every
// text shown (TextBlock text, fact titles and values).
func card(t *testing.T, body []byte) (map[string]any, []string) {
	t.Helper()
	var msg map[string]any
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if msg["type"] != "message" {
		t.Errorf(`type %v, want "message"`, msg["type"])
	}
	atts, _ := msg["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("%d attachments, want 1", len(atts))
	}
	att := atts[0].(map[string]any)
	if att["contentType"] != "application/vnd.microsoft.card.adaptive" {
		t.Errorf("contentType %v", att["contentType"])
	}
	if v, ok := att["contentUrl"]; !ok || v != nil {
		t.Errorf("contentUrl %v, want null", v)
	}
	c := att["content"].(map[string]any)
	if c["type"] != "AdaptiveCard" || c["$schema"] != "http://adaptivecards.io/schemas/adaptive-card.json" {
		t.Errorf("card type %v schema %v", c["type"], c["$schema"])
	}
	if v, _ := c["version"].(string); v < "1.4" {
		t.Errorf("version %q, want 1.4 or later", v)
	}
	var texts []string
	var walk func(els []any)
	walk = func(els []any) {
		for _, e := range els {
			m := e.(map[string]any)
			switch m["type"] {
			case "TextBlock":
				s, _ := m["text"].(string)
				if s == "" {
					t.Error("empty TextBlock")
				}
				texts = append(texts, s)
			case "FactSet":
				for _, f := range m["facts"].([]any) {
					fm := f.(map[string]any)
					texts = append(texts, fm["title"].(string), fm["value"].(string))
				}
			case "Container":
				walk(m["items"].([]any))
			default:
				t.Errorf("unexpected element %v", m["type"])
			}
		}
	}
	walk(c["body"].([]any))
	for _, a := range asSlice(c["actions"]) {
		am := a.(map[string]any)
		if am["type"] != "Action.OpenUrl" || am["title"] == "" || !strings.HasPrefix(am["url"].(string), "https://") {
			t.Errorf("action %v", am)
		}
	}
	return c, texts
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func TestPayload(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 202})
	n, _ := teams.New(teams.Config{WebhookURL: notify.Literal(srv.URL + "/workflows/x/triggers/manual/paths/invoke?sig=SECRET"), HTTP: &notify.HTTP{}})
	if err := n.Notify(context.Background(), notify.SampleNotification(now)); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s %v", r.Method, r.Header)
	}
	c, texts := card(t, r.Body)
	all := strings.Join(texts, "\n")
	for _, want := range []string{
		"Test: High UnauthorizedAccess:EC2/TorClient on ec2\\-instance i\\-99999999",
		"Account", "123456789012", "**Steps**", "FAILED: UnauthorizedOperation",
		"**To release:** reflex release d\\-sample\\-0001",
	} {
		if !strings.Contains(all, strings.ReplaceAll(want, `\-`, "-")) && !strings.Contains(all, want) {
			t.Errorf("missing %q in\n%s", want, all)
		}
	}
	acts := asSlice(c["actions"])
	if len(acts) != 2 || !strings.Contains(acts[0].(map[string]any)["url"].(string), "fId=60baffd3f9042e38640f2300d5c5a631") {
		t.Errorf("actions %v", acts)
	}
}

func TestHostileTextIsEscaped(t *testing.T) {
	n := &notify.Notification{Events: []*notify.Event{notifytest.Hostile(now)}, Total: 1, At: now}
	body, err := teams.Payload(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, texts := card(t, body)
	unescaped := regexp.MustCompile(`(^|[^\\])[\[\]()*_~` + "`" + `<>]`)
	for _, s := range texts {
		if s == "**Decision**" || s == "**Steps**" || strings.HasPrefix(s, "**To release:**") {
			continue
		}
		if unescaped.MatchString(s) {
			t.Errorf("unescaped Markdown in %q", s)
		}
		if strings.Contains(s, "{{") {
			t.Errorf("a DATE/TIME function could run: %q", s)
		}
		if strings.Contains(s, "://") {
			t.Errorf("a bare URL could become a link: %q", s)
		}
		if regexp.MustCompile(`(?m)^\s*([-+]|\d+\.)\s`).MatchString(s) {
			t.Errorf("a list marker survives: %q", s)
		}
	}
	if len(asSlice(c["actions"])) != 0 {
		t.Errorf("a hostile id and region must give no console link: %v", c["actions"])
	}
}

func TestEscape(t *testing.T) {
	tests := map[string]string{
		"[bank](https://evil)": `\[bank\]\(https:` + "\u200b" + `//evil\)`,
		"*a* _b_":              `\*a\* \_b\_`,
		"- item":               `\- item`,
		"1. first":             `1\. first`,
		"{{DATE(x)}}":          "{\u200b{DATE\\(x\\)}\u200b}",
		`a\b`:                  `a\\b`,
		"<b>x</b>":             `\<b\>x\</b\>`,
	}
	for in, want := range tests {
		if got := teams.Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPayloadSizeLimit(t *testing.T) {
	n := &notify.Notification{GroupKey: "g", Total: 500, At: now}
	for range notify.MaxShown {
		ev := notifytest.Hostile(now)
		ev.Finding.Type = strings.Repeat("T", 5000)
		n.Events = append(n.Events, ev)
	}
	body, err := teams.Payload(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > 28<<10 {
		t.Fatalf("payload of %d bytes, over Teams' 28 KB", len(body))
	}
	_, texts := card(t, body)
	if !strings.Contains(strings.Join(texts, "\n"), "more not shown (500 in all)") {
		t.Error("no count of the events not shown")
	}
}

func TestRetryableStatuses(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 429, Header: map[string]string{"Retry-After": "4"}})
	n, _ := teams.New(teams.Config{WebhookURL: notify.Literal(srv.URL + "/x?sig=SECRET"), HTTP: &notify.HTTP{}})
	err := n.Notify(context.Background(), notify.SampleNotification(now))
	if retry, after := notify.Retryable(err); !retry || after != 4*time.Second {
		t.Fatalf("err %v: retryable %v after %v", err, retry, after)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Fatal("secret in error")
	}
}
