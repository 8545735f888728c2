package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reflexsec/reflex/notify/webhook"
)

func TestNotifyTest(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, r.ContentLength)
		_, _ = r.Body.Read(b)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
		if strings.Contains(r.URL.Path, "gone") {
			w.WriteHeader(404)
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	t.Setenv("TEST_HOOK_URL", srv.URL+"/hook/SECRETPATH")
	t.Setenv("TEST_GONE_URL", srv.URL+"/gone/SECRETPATH")
	t.Setenv("TEST_HOOK_SECRET", "SIGNINGSECRET")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "reflex.yaml")
	if err := os.WriteFile(cfg, []byte(`
version: 1
notifications:
  channels:
    siem:
      type: webhook
      url: env:TEST_HOOK_URL
      signing_secret: env:TEST_HOOK_SECRET
    gone:
      type: slack
      webhook_url: env:TEST_GONE_URL
  routes:
    - name: all
      channels: [siem, gone]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "notify", "test", "-c", cfg, "--channel", "siem")
	if code != 0 || !strings.Contains(out, "sent a test message to siem (webhook), 1 attempt(s)") {
		t.Fatalf("code %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	r := got[0]
	if err := webhook.Verify([]byte("SIGNINGSECRET"), r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), bodies[0], nowForTest(), 1e12); err != nil {
		t.Errorf("signature: %v", err)
	}
	var b webhook.Body
	if err := json.Unmarshal(bodies[0], &b); err != nil || b.Events[0].Kind != "test" {
		t.Errorf("body %s", bodies[0])
	}

	code, out, errOut = runCLI(t, "", "notify", "test", "-c", cfg, "--channel", "gone", "-o", "json")
	if code != 1 || !strings.Contains(errOut, "HTTP 404") || !strings.Contains(out, `"status": "failed"`) {
		t.Fatalf("a refused message: code %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	for _, s := range []string{out, errOut} {
		if strings.Contains(s, "SECRETPATH") || strings.Contains(s, "SIGNINGSECRET") {
			t.Errorf("a secret was printed: %s", s)
		}
	}

	code, _, errOut = runCLI(t, "", "notify", "test", "-c", cfg, "--channel", "nope")
	if code != 2 || !strings.Contains(errOut, `no channel "nope"`) || !strings.Contains(errOut, "[gone siem]") {
		t.Errorf("unknown channel: %d %s", code, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("notifications:\n  channels:\n    s: {type: slack, webhook_url: 'https://hooks.slack.com/services/T/B/LEAKED'}\n  routes: [{channels: [s]}]\n"), 0o600)
	code, _, errOut = runCLI(t, "", "notify", "test", "-c", bad, "--channel", "s")
	if code != 2 || !strings.Contains(errOut, "notifications.channels.s.webhook_url") || strings.Contains(errOut, "LEAKED") {
		t.Errorf("secret in the file: %d %s", code, errOut)
	}
	code, _, _ = runCLI(t, "", "notify", "test", "-c", cfg)
	if code != 2 {
		t.Errorf("no --channel: exit %d", code)
	}
}

func nowForTest() time.Time { return time.Now() }
