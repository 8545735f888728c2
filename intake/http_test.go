package intake_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/reflexsec/reflex/intake"
	"github.com/reflexsec/reflex/store"
)

const testKey = "k3y-for-tests"

var testSecret = []byte("hmac-secret-for-tests")

func sign(body []byte) string {
	m := hmac.New(sha256.New, testSecret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestHTTPIntake(t *testing.T) {
	p, led, _ := newProc(t)
	h := &intake.HTTP{Proc: p, Auth: &intake.Auth{Keys: []string{"other", testKey}, HMACSecret: testSecret}, ExecCtx: context.Background()}
	good := event("http-1", 1)
	batch := []byte("[" + string(event("http-2", 1)) + "," + string(event("http-3", 1)) + "]")
	huge := bytes.Repeat([]byte(" "), intake.MaxBody+1)
	wrongType := bytes.Replace(event("http-4", 1), []byte(`"GuardDuty Finding"`), []byte(`"EC2 Instance State-change Notification"`), 1)
	wrongType = bytes.Replace(wrongType, []byte(`"aws.guardduty"`), []byte(`"aws.ec2"`), 1)
	cases := []struct {
		name     string
		method   string
		body     []byte
		header   map[string]string
		code     int
		contains string
		rejected bool // recorded in the ledger as rejected
	}{
		{"no credentials", "POST", good, nil, 401, "API key or signature", false},
		{"wrong key", "POST", good, map[string]string{"X-Api-Key": "nope"}, 401, "API key", false},
		{"bad signature", "POST", good, map[string]string{"X-Reflex-Signature": sign([]byte("other body"))}, 401, "signature", false},
		{"malformed signature", "POST", good, map[string]string{"X-Reflex-Signature": "sha256=zz"}, 401, "signature", false},
		{"GET", "GET", nil, map[string]string{"X-Api-Key": testKey}, 405, "POST", false},
		{"oversize", "POST", huge, map[string]string{"X-Api-Key": testKey}, 413, "256 KB", false},
		{"malformed JSON", "POST", []byte(`{"detail-type": "GuardDuty Finding", `), map[string]string{"X-Api-Key": testKey}, 400, "problems", true},
		{"wrong detail-type", "POST", wrongType, map[string]string{"X-Api-Key": testKey}, 400, "aws.ec2", true},
		{"empty body", "POST", nil, map[string]string{"X-Api-Key": testKey}, 400, "empty", true},
		{"one event, API key", "POST", good, map[string]string{"X-Api-Key": testKey}, 202, `"accepted":1`, false},
		{"same event again (bearer)", "POST", good, map[string]string{"Authorization": "Bearer " + testKey}, 202, `"change":"unchanged"`, false},
		{"a batch, HMAC", "POST", batch, map[string]string{"X-Reflex-Signature": sign(batch)}, 202, `"accepted":2`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _ := led.Events(t.Context(), store.Filter{Status: "intake.rejected"})
			r := httptest.NewRequest(c.method, "/events", bytes.NewReader(c.body))
			for k, v := range c.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.code || !strings.Contains(w.Body.String(), c.contains) {
				t.Errorf("%d %s; want %d containing %q", w.Code, w.Body.String(), c.code, c.contains)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			var js map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &js); err != nil {
				t.Errorf("the answer is not JSON: %v", err)
			}
			after, _ := led.Events(t.Context(), store.Filter{Status: "intake.rejected"})
			if got := len(after) > len(before); got != c.rejected {
				t.Errorf("recorded as rejected: %v, want %v", got, c.rejected)
			}
		})
	}
	if err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"http-1", "http-2", "http-3"} {
		if _, err := led.LatestDecision(t.Context(), "973743533182/us-east-2/"+id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	ev, _ := led.Events(t.Context(), store.Filter{Status: "intake.rejected", Limit: 1})
	var data map[string]any
	if len(ev) == 0 || json.Unmarshal(ev[0].Data, &data) != nil || data["raw"] == nil || data["source"] != "http" {
		t.Errorf("rejection event without the raw input: %+v", ev)
	}
}

func TestHTTPNoAuthConfigured(t *testing.T) {
	p, _, _ := newProc(t)
	h := &intake.HTTP{Proc: p, Auth: &intake.Auth{}}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", bytes.NewReader(event("x", 1))))
	if w.Code != 401 {
		t.Errorf("no authentication configured: %d, want 401", w.Code)
	}
}

// The same finding posted 10 times at once: one decision, one step run.
func TestHTTPConcurrentSameFinding(t *testing.T) {
	p, led, dir := newProc(t)
	h := &intake.HTTP{Proc: p, Auth: &intake.Auth{Keys: []string{testKey}}, ExecCtx: context.Background()}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest("POST", "/events", bytes.NewReader(event("same", 1)))
			r.Header.Set("X-Api-Key", testKey)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 202 {
				t.Errorf("%d %s", w.Code, w.Body)
			}
		}()
	}
	wg.Wait()
	p.Drain(t.Context())
	checkOnce(t, led, dir, map[string]bool{"same": true})
}

func FuzzHTTPIntake(f *testing.F) {
	f.Add(event("fz", 1))
	f.Add([]byte("[" + string(event("fz2", 2)) + "]"))
	f.Add([]byte(`{"detail-type":"GuardDuty Finding","detail":{"id":1}}`))
	f.Add([]byte(`[[[[`))
	p, _, _ := newProc(f)
	h := &intake.HTTP{Proc: p, Auth: &intake.Auth{Keys: []string{testKey}}, ExecCtx: context.Background()}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/events", bytes.NewReader(body))
		r.Header.Set("X-Api-Key", testKey)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusAccepted, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %s", w.Body)
		}
	})
}
