package pagerduty_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/notify/notifytest"
	"github.com/reflexsec/reflex/notify/pagerduty"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// checkEvent validates a body against the Events API v2 documentation.
func checkEvent(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"routing_key": true, "event_action": true, "dedup_key": true, "payload": true, "client": true, "client_url": true, "links": true, "images": true}
	for k := range m {
		if !allowed[k] {
			t.Errorf("unknown top-level key %q", k)
		}
	}
	if m["routing_key"] != "R0UTINGKEY0000000000000000000000" {
		t.Errorf("routing_key %v", m["routing_key"])
	}
	dk, _ := m["dedup_key"].(string)
	if dk == "" || len(dk) > 255 {
		t.Errorf("dedup_key %q", dk)
	}
	switch m["event_action"] {
	case "trigger":
		p, ok := m["payload"].(map[string]any)
		if !ok {
			t.Fatal("trigger without payload")
		}
		for _, k := range []string{"summary", "source", "severity"} {
			if s, _ := p[k].(string); s == "" {
				t.Errorf("payload.%s missing", k)
			}
		}
		if s := p["summary"].(string); len([]rune(s)) > 1024 {
			t.Errorf("summary of %d characters", len([]rune(s)))
		}
		switch p["severity"] {
		case "critical", "error", "warning", "info":
		default:
			t.Errorf("severity %v", p["severity"])
		}
		if ts, ok := p["timestamp"].(string); ok {
			if _, err := time.Parse(time.RFC3339, ts); err != nil {
				t.Errorf("timestamp %q", ts)
			}
		}
		for _, l := range asSlice(m["links"]) {
			lm := l.(map[string]any)
			if !strings.HasPrefix(lm["href"].(string), "https://") || lm["text"] == "" {
				t.Errorf("link %v", lm)
			}
		}
	case "resolve", "acknowledge":
		if _, ok := m["payload"]; ok {
			t.Error("resolve carries a payload")
		}
	default:
		t.Errorf("event_action %v", m["event_action"])
	}
	return m
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func notifier(t *testing.T, url string) *pagerduty.Notifier {
	n, err := pagerduty.New(pagerduty.Config{RoutingKey: notify.Literal("R0UTINGKEY0000000000000000000000"), Endpoint: url + "/v2/enqueue", HTTP: &notify.HTTP{}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTriggerAndResolve(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 202, Body: `{"status":"success","message":"Event processed","dedup_key":"x"}`})
	pd := notifier(t, srv.URL)
	ev := notify.SampleEvent(now)
	ev.Kind = notify.KindDecision
	if err := pd.Notify(context.Background(), &notify.Notification{Events: []*notify.Event{ev}, Total: 1}); err != nil {
		t.Fatal(err)
	}
	rel := *ev
	rel.Kind = notify.KindRelease
	if err := pd.Notify(context.Background(), &notify.Notification{Events: []*notify.Event{&rel}, Total: 1}); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/v2/enqueue" || reqs[0].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("requests %+v", reqs)
	}
	trig := checkEvent(t, reqs[0].Body)
	res := checkEvent(t, reqs[1].Body)
	if trig["event_action"] != "trigger" || res["event_action"] != "resolve" {
		t.Fatalf("actions %v %v", trig["event_action"], res["event_action"])
	}
	if trig["dedup_key"] != "60baffd3f9042e38640f2300d5c5a631" || res["dedup_key"] != trig["dedup_key"] {
		t.Errorf("dedup keys %v %v, want the finding id", trig["dedup_key"], res["dedup_key"])
	}
	p := trig["payload"].(map[string]any)
	if p["severity"] != "error" || p["source"] != "ec2-instance i-99999999" || p["class"] != "UnauthorizedAccess:EC2/TorClient" ||
		p["group"] != "123456789012/us-east-1" || p["component"] != "ec2-instance" {
		t.Errorf("payload %v", p)
	}
	cd := p["custom_details"].(map[string]any)
	steps := asSlice(cd["steps"])
	if len(steps) != 5 || !strings.Contains(steps[2].(string), "ec2.isolate (i-99999999): FAILED: UnauthorizedOperation") {
		t.Errorf("steps %v", steps)
	}
	if cd["release"] != "reflex release d-sample-0001" || cd["finding_id"] != "60baffd3f9042e38640f2300d5c5a631" || cd["count"] != 3.0 {
		t.Errorf("custom_details %v", cd)
	}
}

func TestSeverity(t *testing.T) {
	for band, want := range map[string]string{"Critical": "critical", "High": "error", "Medium": "warning", "Low": "info", "": "info"} {
		if got := pagerduty.Severity(band); got != want {
			t.Errorf("Severity(%q) = %q", band, got)
		}
	}
}

func TestHostileAndLongText(t *testing.T) {
	ev := notifytest.Hostile(now)
	ev.Finding.Title = strings.Repeat("\x1b[31m<!channel>\n", 300)
	ev.Finding.Type = strings.Repeat("T", 3000)
	ev.Finding.ID = strings.Repeat("i", 400)
	evs, err := pagerduty.Build(&notify.Notification{Events: []*notify.Event{ev}, Total: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(evs[0])
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	p := m["payload"].(map[string]any)
	if n := len([]rune(p["summary"].(string))); n > 1024 {
		t.Errorf("summary %d characters", n)
	}
	if n := len(m["dedup_key"].(string)); n > 255 {
		t.Errorf("dedup_key %d characters", n)
	}
	if strings.ContainsAny(string(body), "\x1b") || strings.Contains(p["custom_details"].(map[string]any)["finding_title"].(string), "\n") {
		t.Error("control characters reach PagerDuty")
	}
	if len(asSlice(m["links"])) != 0 {
		t.Error("a hostile id/region gave a link")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		a     notifytest.Answer
		retry bool
		after time.Duration
	}{
		{notifytest.Answer{Status: 400, Body: `{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect"]}`}, false, 0},
		{notifytest.Answer{Status: 429, Header: map[string]string{"Retry-After": "2"}}, true, 2 * time.Second},
		{notifytest.Answer{Status: 500}, true, 0},
		{notifytest.Answer{Status: 502}, true, 0},
	}
	for _, tt := range tests {
		srv := notifytest.NewServer(t, tt.a)
		err := notifier(t, srv.URL).Notify(context.Background(), notify.SampleNotification(now))
		if retry, after := notify.Retryable(err); err == nil || retry != tt.retry || after != tt.after {
			t.Errorf("%d: err %v retry %v after %v", tt.a.Status, err, retry, after)
		}
		if err != nil && strings.Contains(err.Error(), "R0UTINGKEY") {
			t.Errorf("routing key leaked: %v", err)
		}
	}
}

func TestPerFinding(t *testing.T) {
	var n notify.Notifier = notifier(t, "http://x")
	pf, ok := n.(notify.PerFinding)
	if !ok || !pf.PerFinding() {
		t.Fatal("PagerDuty messages must be grouped per finding")
	}
}
