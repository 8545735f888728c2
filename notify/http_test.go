package notify_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/notify/notifytest"
)

func TestHTTPClassifiesResponses(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		answer     notifytest.Answer
		ok         bool
		retryable  bool
		retryAfter time.Duration
	}{
		{notifytest.Answer{Status: 200, Body: "ok"}, true, false, 0},
		{notifytest.Answer{Status: 202}, true, false, 0},
		{notifytest.Answer{Status: 400, Body: "invalid_payload"}, false, false, 0},
		{notifytest.Answer{Status: 403, Body: "action_prohibited"}, false, false, 0},
		{notifytest.Answer{Status: 404, Body: "channel_not_found"}, false, false, 0},
		{notifytest.Answer{Status: 410, Body: "channel_is_archived"}, false, false, 0},
		{notifytest.Answer{Status: 408}, false, true, 0},
		{notifytest.Answer{Status: 429, Header: map[string]string{"Retry-After": "30"}}, false, true, 30 * time.Second},
		{notifytest.Answer{Status: 429, Header: map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}}, false, true, 90 * time.Second},
		{notifytest.Answer{Status: 429, Header: map[string]string{"Retry-After": "soon"}}, false, true, 0},
		{notifytest.Answer{Status: 429}, false, true, 0},
		{notifytest.Answer{Status: 500}, false, true, 0},
		{notifytest.Answer{Status: 501}, false, false, 0},
		{notifytest.Answer{Status: 502}, false, true, 0},
		{notifytest.Answer{Status: 503, Header: map[string]string{"Retry-After": "5"}}, false, true, 5 * time.Second},
		{notifytest.Answer{Status: 504}, false, true, 0},
	}
	for _, tt := range tests {
		srv := notifytest.NewServer(t, tt.answer)
		h := &notify.HTTP{Now: func() time.Time { return now }}
		_, err := h.Post(context.Background(), "test", srv.URL+"/services/T0/B0/TOPSECRET", nil, []byte(`{}`))
		if tt.ok != (err == nil) {
			t.Errorf("%d: err = %v", tt.answer.Status, err)
			continue
		}
		retry, after := notify.Retryable(err)
		if retry != tt.retryable || after != tt.retryAfter {
			t.Errorf("%d %v: retryable %v after %v, want %v %v", tt.answer.Status, tt.answer.Header, retry, after, tt.retryable, tt.retryAfter)
		}
		if err != nil && strings.Contains(err.Error(), "TOPSECRET") {
			t.Errorf("error carries the URL: %v", err)
		}
		if r := srv.Requests(); len(r) != 1 || r[0].Header.Get("Content-Type") != "application/json" || r[0].Header.Get("User-Agent") != "reflex" {
			t.Errorf("request %+v", r)
		}
	}
}

func TestHTTPErrorsNeverCarryTheURL(t *testing.T) {
	srv := notifytest.NewServer(t)
	url := srv.URL + "/services/T0/B0/TOPSECRET?token=ALSOSECRET"
	srv.Close() // connection refused
	h := &notify.HTTP{}
	_, err := h.Post(context.Background(), "slack", url, nil, []byte(`{}`))
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	if retry, _ := notify.Retryable(err); !retry {
		t.Errorf("a network error must be retryable: %v", err)
	}
	for _, s := range []string{"TOPSECRET", "ALSOSECRET", "/services/"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error carries %q: %v", s, err)
		}
	}
	if _, err := h.Post(context.Background(), "slack", "ftp://x/SECRET", nil, nil); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("bad scheme: %v", err)
	}
	if _, err := h.Post(context.Background(), "slack", "http://[::1/SECRET", nil, nil); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("bad URL: %v", err)
	}
}

func TestSnippet(t *testing.T) {
	if got := notify.Snippet([]byte("line1\n\tline2\x00\xff")); got != "line1 line2 ?" {
		t.Errorf("Snippet = %q", got)
	}
	if got := notify.Snippet(make([]byte, 1000)); got != "(empty response)" {
		t.Errorf("Snippet of NULs = %q", got)
	}
}
