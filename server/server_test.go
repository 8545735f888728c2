package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/intake"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/server"
	"github.com/reflexsec/reflex/store/sqlite"
)

func TestServeEndpointsAndShutdown(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := policy.Parse("t.yaml", []byte("version: 1\nrules:\n  - name: r\n    pattern: {source: [aws.guardduty]}\n    steps: [{step: record}]\n"), action.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	m := server.NewMetrics()
	proc := &intake.Processor{Engine: &engine.Engine{Policy: p, Registry: action.NewRegistry(), Ledger: db}, Obs: m}
	srv := &server.Server{Proc: proc, Auth: &intake.Auth{Keys: []string{"key"}}, Metrics: m, Drain: 5 * time.Second}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	get := func(path, key string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
		for i := 0; i < 50; i++ {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(b)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("server did not answer")
		return 0, ""
	}
	for _, c := range []struct {
		path, key string
		code      int
		contains  string
	}{
		{"/healthz", "", 200, "ok"},
		{"/readyz", "", 401, "API key"},
		{"/readyz", "key", 200, "ready"},
		{"/metrics", "", 401, "API key"},
		{"/metrics", "key", 200, "reflex_findings_received_total"},
	} {
		// counters appear once touched
		m.Received("http", 0)
		if code, body := get(c.path, c.key); code != c.code || !strings.Contains(body, c.contains) {
			t.Errorf("GET %s: %d %q; want %d containing %q", c.path, code, body, c.code, c.contains)
		}
	}
	stop() // SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no graceful shutdown")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still listening after shutdown")
	}
}
