package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/notify/notifytest"
	"github.com/reflexsec/reflex/notify/webhook"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const secret = "s3cr3t-signing-key-0123456789abcdef"

func TestSignedDelivery(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 204})
	w, _ := webhook.New(webhook.Config{URL: notify.Literal(srv.URL + "/hook"), SigningSecret: notify.Literal(secret),
		HTTP: &notify.HTTP{Now: func() time.Time { return now }}})
	ev := notifytest.Hostile(now)
	if err := w.Notify(context.Background(), &notify.Notification{Channel: "siem", Route: "all", Events: []*notify.Event{ev}, Total: 1, At: now}); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	ts := r.Header.Get(webhook.HeaderTimestamp)
	if ts != strconv.FormatInt(now.Unix(), 10) {
		t.Errorf("timestamp %q", ts)
	}
	// the README's recipe, independently of Sign
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(r.Body)
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	if got := r.Header.Get(webhook.HeaderSignature); got != want {
		t.Errorf("signature %q, want %q", got, want)
	}
	if err := webhook.Verify([]byte(secret), ts, r.Header.Get(webhook.HeaderSignature), r.Body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if r.Header.Get(webhook.HeaderDelivery) == "" || r.Header.Get(webhook.HeaderEvent) != "decision" {
		t.Errorf("headers %v", r.Header)
	}
	var b map[string]any
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "delivery", "title", "text", "channel", "route", "total", "more", "events", "links", "at"} {
		if _, ok := b[k]; !ok {
			t.Errorf("body lacks %q", k)
		}
	}
	evs := b["events"].([]any)
	f := evs[0].(map[string]any)["finding"].(map[string]any)
	if f["title"] != notifytest.HostileTitle {
		t.Errorf("the finding text must arrive intact (JSON-escaped), got %q", f["title"])
	}
	if strings.ContainsAny(string(r.Body), "<>") {
		t.Error("< or > unescaped in the JSON body")
	}
	if strings.Contains(string(r.Body), secret) {
		t.Error("the signing secret is in the body")
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"version":"1"}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := webhook.Sign([]byte(secret), ts, body)
	tests := []struct {
		name            string
		secret, ts, sig string
		body            []byte
		at              time.Time
		want            error
	}{
		{"good", secret, ts, sig, body, now, nil},
		{"rotation list", secret, ts, "v1=deadbeef, " + sig, body, now, nil},
		{"tampered body", secret, ts, sig, []byte(`{"version":"2"}`), now, webhook.ErrBadSignature},
		{"wrong secret", "other", ts, sig, body, now, webhook.ErrBadSignature},
		{"replayed later", secret, ts, sig, body, now.Add(6 * time.Minute), webhook.ErrStale},
		{"from the future", secret, ts, sig, body, now.Add(-6 * time.Minute), webhook.ErrStale},
		{"moved timestamp", secret, strconv.FormatInt(now.Unix()+1, 10), sig, body, now, webhook.ErrBadSignature},
		{"no v1", secret, ts, "v0=abc", body, now, webhook.ErrNoSignature},
		{"bad timestamp", secret, "x", sig, body, now, webhook.ErrStale},
	}
	for _, tt := range tests {
		if err := webhook.Verify([]byte(tt.secret), tt.ts, tt.sig, tt.body, tt.at, 5*time.Minute); err != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestRetriesKeepTheDeliveryID(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 503}, notifytest.Answer{Status: 200})
	clock := notify.NewFakeClock(now)
	w, _ := webhook.New(webhook.Config{URL: notify.Literal(srv.URL), SigningSecret: notify.Literal(secret), HTTP: &notify.HTTP{Now: clock.Now}})
	n := notify.SampleNotification(now)
	err := w.Notify(context.Background(), n)
	if retry, _ := notify.Retryable(err); !retry {
		t.Fatalf("503: %v", err)
	}
	clock.Advance(time.Second)
	if err := w.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()
	if r[0].Header.Get(webhook.HeaderDelivery) != r[1].Header.Get(webhook.HeaderDelivery) {
		t.Error("a retry changed the delivery id")
	}
	if r[0].Header.Get(webhook.HeaderTimestamp) == r[1].Header.Get(webhook.HeaderTimestamp) {
		t.Error("a retry must be signed anew")
	}
}
