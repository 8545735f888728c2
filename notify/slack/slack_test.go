package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/notify/notifytest"
	"github.com/reflexsec/reflex/notify/slack"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// payload is the generic decoding of a posted message, to check it against
// Slack's documented shapes rather than against our own structs.
type payload struct {
	Channel     string           `json:"channel"`
	Text        string           `json:"text"`
	Blocks      []map[string]any `json:"blocks"`
	UnfurlLinks *bool            `json:"unfurl_links"`
	UnfurlMedia *bool            `json:"unfurl_media"`
}

type textObj struct{ typ, text string }

// checkBlockKit validates the message against Block Kit's rules and
// returns every text object.
func checkBlockKit(t *testing.T, body []byte) (payload, []textObj) {
	t.Helper()
	var p payload
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	if p.Text == "" {
		t.Error("no top-level text (the notification fallback)")
	}
	if len(p.Blocks) == 0 || len(p.Blocks) > 50 {
		t.Errorf("%d blocks; Block Kit allows 1 to 50", len(p.Blocks))
	}
	if p.UnfurlLinks == nil || *p.UnfurlLinks || p.UnfurlMedia == nil || *p.UnfurlMedia {
		t.Error("links and media must not unfurl")
	}
	var texts []textObj
	text := func(where string, v any, max int, types ...string) {
		m, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: not a text object: %v", where, v)
			return
		}
		typ, _ := m["type"].(string)
		s, _ := m["text"].(string)
		if !contains(types, typ) {
			t.Errorf("%s: text type %q, want %v", where, typ, types)
		}
		if s == "" || len([]rune(s)) > max {
			t.Errorf("%s: text of %d characters (1..%d)", where, len([]rune(s)), max)
		}
		for k := range m {
			if !contains([]string{"type", "text", "emoji", "verbatim"}, k) {
				t.Errorf("%s: unknown text object key %q", where, k)
			}
		}
		if _, ok := m["verbatim"]; ok && typ != "mrkdwn" {
			t.Errorf("%s: verbatim on %s", where, typ)
		}
		if _, ok := m["emoji"]; ok && typ != "plain_text" {
			t.Errorf("%s: emoji on %s", where, typ)
		}
		texts = append(texts, textObj{typ, s})
	}
	for i, b := range p.Blocks {
		where := fmt.Sprintf("blocks[%d]", i)
		switch b["type"] {
		case "header":
			text(where+".text", b["text"], 150, "plain_text")
		case "section":
			if b["text"] == nil && b["fields"] == nil {
				t.Errorf("%s: a section needs text or fields", where)
			}
			if b["text"] != nil {
				text(where+".text", b["text"], 3000, "plain_text", "mrkdwn")
			}
			if fs, ok := b["fields"].([]any); ok {
				if len(fs) > 10 {
					t.Errorf("%s: %d fields (max 10)", where, len(fs))
				}
				for j, f := range fs {
					text(fmt.Sprintf("%s.fields[%d]", where, j), f, 2000, "plain_text", "mrkdwn")
				}
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 10 {
				t.Errorf("%s: %d context elements (1..10)", where, len(els))
			}
			for j, e := range els {
				text(fmt.Sprintf("%s.elements[%d]", where, j), e, 3000, "plain_text", "mrkdwn")
			}
		default:
			t.Errorf("%s: unexpected block type %v", where, b["type"])
		}
	}
	return p, texts
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func webhookNotifier(t *testing.T, srv *notifytest.Server) *slack.Notifier {
	n, err := slack.New(slack.Config{WebhookURL: notify.Literal(srv.URL + "/services/T0/B0/X"), HTTP: &notify.HTTP{}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWebhookPayload(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 200, Body: "ok"})
	if err := webhookNotifier(t, srv).Notify(context.Background(), notify.SampleNotification(now)); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Path != "/services/T0/B0/X" || reqs[0].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("requests %+v", reqs)
	}
	p, texts := checkBlockKit(t, reqs[0].Body)
	if p.Channel != "" {
		t.Error("a webhook message must not name a channel")
	}
	all := ""
	for _, x := range texts {
		all += x.text + "\n"
	}
	// the message says what happened, step by step, honestly
	for _, want := range []string{
		"Test: High UnauthorizedAccess:EC2/TorClient on ec2-instance i-99999999",
		"*Account*\n`123456789012`", "*Region*\n`us-east-1`", "*Resource*\n`ec2-instance i-99999999`",
		"2026-01-02 01:04:05 UTC → 2026-01-02 03:03:05 UTC, 3 times",
		"✅ `ec2.capture-metadata` on `i-99999999`: done",
		"❌ `ec2.isolate` on `i-99999999`: FAILED: UnauthorizedOperation",
		"⏭️ `ec2.stop` on `i-99999999`: skipped: a previous step on the resource failed",
		"⏸️ `iam.revoke-sessions` on `role/app`: waiting for approval",
		"*To release*\n`reflex release d-sample-0001`",
		"<https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?macros=current&amp;fId=60baffd3f9042e38640f2300d5c5a631|GuardDuty finding>",
		"<https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#InstanceDetails:instanceId=i-99999999|EC2 instance>",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in\n%s", want, all)
		}
	}
}

// ourLink is the only markup with < > reflex writes: a console link.
var ourLink = regexp.MustCompile(`<https://[a-z0-9-]+\.console\.aws\.amazon\.com/[^|<> ]*\|[A-Za-z0-9 ]+>`)

func TestHostileFindingTextIsInert(t *testing.T) {
	srv := notifytest.NewServer(t)
	ev := notifytest.Hostile(now)
	ev.Finding.Region = "us-east-1" // so the finding link exists, built from validated parts
	for _, n := range []*notify.Notification{
		{Channel: "soc", Events: []*notify.Event{ev}, Total: 1, At: now},
		{Channel: "soc", GroupKey: "rule=x", Events: []*notify.Event{ev, notifytest.Hostile(now)}, Total: 40, At: now},
	} {
		if err := webhookNotifier(t, srv).Notify(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range srv.Requests() {
		p, texts := checkBlockKit(t, r.Body)
		texts = append(texts, textObj{"mrkdwn", p.Text})
		for _, x := range texts {
			s := ourLink.ReplaceAllString(x.text, "")
			if strings.ContainsAny(s, "<>") {
				t.Errorf("%s text keeps < or > (a mention or link could form): %q", x.typ, s)
			}
			for _, bad := range []string{"<!channel>", "<!here>", "<@U", "<!subteam", "<https://evil", "<http://evil", "|click>"} {
				if strings.Contains(x.text, bad) {
					t.Errorf("%s text contains %q: %q", x.typ, bad, x.text)
				}
			}
			if strings.Contains(s, "&") && regexp.MustCompile(`&(?:[^al]|a[^m]|l[^t])`).MatchString(strings.ReplaceAll(strings.ReplaceAll(s, "&amp;", ""), "&lt;", "")) && !strings.Contains(s, "&gt;") {
				t.Errorf("bare & in %q", s)
			}
			if x.typ == "mrkdwn" {
				// outside code spans, no formatting character from the finding survives
				outside := regexp.MustCompile("`[^`]*`").ReplaceAllString(s, "")
				for _, bad := range []string{"*bold*", "_it_", "~strike~", "```"} {
					if strings.Contains(outside, bad) {
						t.Errorf("mrkdwn keeps %q: %q", bad, x.text)
					}
				}
			}
		}
		if strings.Contains(string(r.Body), "evil.example/") && regexp.MustCompile(`<https?://[^|>]*evil`).Match(r.Body) {
			t.Errorf("a link to the attacker's host was formed: %s", r.Body)
		}
	}
}

func TestEscape(t *testing.T) {
	if got := slack.Escape("<!channel> & <@U1|x>"); got != "&lt;!channel&gt; &amp; &lt;@U1|x&gt;" {
		t.Errorf("Escape = %q", got)
	}
	if got := slack.Prose("*a* _b_ ~c~ `d`"); strings.ContainsAny(got, "*_~`") {
		t.Errorf("Prose = %q", got)
	}
	if got := slack.Code("a`b\nc<d>"); got != "`aˋb c&lt;d&gt;`" {
		t.Errorf("Code = %q", got)
	}
}

func TestLargeGroupStaysWithinLimits(t *testing.T) {
	n := &notify.Notification{Channel: "soc", GroupKey: "rule=r", Total: 1000, At: now}
	for range notify.MaxShown {
		ev := notifytest.Hostile(now)
		ev.Finding.Title = strings.Repeat("<!channel> ", 500)
		ev.Finding.Resource.ID = strings.Repeat("x", 3000)
		n.Events = append(n.Events, ev)
	}
	m, err := slack.Build(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(m)
	p, texts := checkBlockKit(t, body)
	if !strings.HasPrefix(p.Text, "1000 findings") {
		t.Errorf("text %q", p.Text)
	}
	found := false
	for _, x := range texts {
		found = found || strings.Contains(x.text, "990 more not shown (1000 in all)")
	}
	if !found {
		t.Error("no count of the findings not shown")
	}
}

func TestPostMessage(t *testing.T) {
	tests := []struct {
		answer    notifytest.Answer
		wantErr   string
		retryable bool
		after     time.Duration
	}{
		{notifytest.Answer{Body: `{"ok":true,"channel":"C1","ts":"1.2"}`}, "", false, 0},
		{notifytest.Answer{Body: `{"ok":false,"error":"channel_not_found"}`}, "chat.postMessage: channel_not_found", false, 0},
		{notifytest.Answer{Body: `{"ok":false,"error":"invalid_auth"}`}, "invalid_auth", false, 0},
		{notifytest.Answer{Status: 429, Header: map[string]string{"Retry-After": "12"}, Body: `{"ok":false,"error":"ratelimited"}`}, "HTTP 429", true, 12 * time.Second},
		{notifytest.Answer{Body: `{"ok":false,"error":"internal_error"}`}, "internal_error", true, 0},
		{notifytest.Answer{Status: 503}, "HTTP 503", true, 0},
	}
	for _, tt := range tests {
		srv := notifytest.NewServer(t, tt.answer)
		n, err := slack.New(slack.Config{Token: notify.Literal("xoxb-TOKEN"), Channel: "C0SOC", APIBase: srv.URL + "/api", HTTP: &notify.HTTP{}})
		if err != nil {
			t.Fatal(err)
		}
		err = n.Notify(context.Background(), notify.SampleNotification(now))
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tt.answer.Body, err, tt.wantErr)
		}
		if retry, after := notify.Retryable(err); retry != tt.retryable || after != tt.after {
			t.Errorf("%s: retryable %v after %v", tt.answer.Body, retry, after)
		}
		if err != nil && strings.Contains(err.Error(), "xoxb-TOKEN") {
			t.Errorf("the token leaked into %v", err)
		}
		r := srv.Requests()[0]
		if r.Path != "/api/chat.postMessage" || r.Header.Get("Authorization") != "Bearer xoxb-TOKEN" ||
			r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("request %s %v", r.Path, r.Header)
		}
		p, _ := checkBlockKit(t, r.Body)
		if p.Channel != "C0SOC" {
			t.Errorf("channel %q", p.Channel)
		}
	}
}

func TestUserTemplate(t *testing.T) {
	tmpl, err := notify.ParseTemplates(notify.Templates{
		Title: "{{.Event.Finding.Band}} alert: {{.Event.Finding.Title}}",
		Text:  "Account {{.Event.Finding.Account}} — {{.Total}} finding(s). {{range .Links}}<{{.URL}}|{{.Label}}> {{end}}",
	})
	if err != nil {
		t.Fatal(err)
	}
	ev := notifytest.Hostile(now)
	m, err := slack.Build(&notify.Notification{Events: []*notify.Event{ev}, Total: 1}, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(m)
	_, texts := checkBlockKit(t, body)
	if !strings.HasPrefix(texts[0].text, "High alert: &lt;!channel&gt; ∗bold∗") {
		t.Errorf("title %q", texts[0].text)
	}
	if !strings.HasPrefix(texts[1].text, "Account &lt;!here&gt; — 1 finding(s).") {
		t.Errorf("text %q", texts[1].text)
	}
}

func TestNoSecretInLogsOrReports(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 404, Body: "no_service"})
	url := srv.URL + "/services/T0/B0/TOPSECRETPATH"
	cfg, err := notify.ParseConfig([]byte(`{"channels":{"soc":{"type":"slack","webhook_url":"env:SLACK_URL"}},"routes":[{"channels":["soc"],"group_window":"0s"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	sec := notify.NewSecret(notify.Ref{Scheme: "env", Name: "SLACK_URL"}, notify.Env(func(string) (string, bool) { return url, true }))
	n, _ := slack.New(slack.Config{WebhookURL: sec, HTTP: &notify.HTTP{}})
	var logs strings.Builder
	var mu sync.Mutex
	var reps []notify.Report
	d, _ := notify.NewDispatcher(cfg, map[string]notify.Notifier{"soc": n}, notify.Options{
		Logger: slog.New(slog.NewJSONHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Report: func(r notify.Report) { mu.Lock(); reps = append(reps, r); mu.Unlock() },
	})
	d.Submit(notify.SampleEvent(now))
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(reps)
	for _, s := range []string{logs.String(), string(js), fmt.Sprint(cfg), fmt.Sprintf("%+v", sec)} {
		if strings.Contains(s, "TOPSECRETPATH") {
			t.Errorf("secret leaked: %s", s)
		}
	}
	if len(reps) != 1 || reps[0].Status != notify.Failed || !strings.Contains(reps[0].Error, "HTTP 404: no_service") {
		t.Errorf("reports %s", js)
	}
	if !strings.Contains(logs.String(), "notification failed") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
