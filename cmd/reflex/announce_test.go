package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/store"
)

// hook is a local webhook receiver: it keeps the messages it accepts, and
// answers 500 to everything when failing.
type hook struct {
	mu      sync.Mutex
	msgs    []hookMessage
	calls   int
	failing bool
}

type hookMessage struct {
	Route  string          `json:"route"`
	Total  int             `json:"total"`
	Events []*notify.Event `json:"events"`
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if h.failing {
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	}
	var m hookMessage
	if err := json.Unmarshal(b, &m); err != nil || r.Header.Get("X-Reflex-Signature") == "" {
		http.Error(w, "bad message", http.StatusBadRequest)
		return
	}
	h.msgs = append(h.msgs, m)
}

func (h *hook) messages() []hookMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookMessage(nil), h.msgs...)
}

const announceCfg = `
rules:
  - name: now
    pattern: {detail: {id: [run1, run2]}}
    mode: enforce
    samples: act
    steps:
      - {step: test.effect, params: {dir: %[1]q}}
      - {step: notify, params: {route: team}}
  - name: quiet
    pattern: {detail: {id: [run3]}}
    mode: enforce
    samples: act
    steps: [{step: test.effect, params: {dir: %[1]q}}]
  - name: later
    pattern: {detail: {id: [ask1]}}
    mode: approve
    samples: act
    steps: [{step: test.effect, params: {dir: %[1]q}}]
ledger: {path: %[2]q}
notifications:
  channels:
    hook:   {type: webhook, url: "env:REFLEX_TEST_HOOK", signing_secret: "env:REFLEX_TEST_SECRET", retry: {attempts: 2, backoff: 1ms}}
    broken: {type: webhook, url: "env:REFLEX_TEST_BROKEN", signing_secret: "env:REFLEX_TEST_SECRET", retry: {attempts: 2, backoff: 1ms}}
  routes:
    - {name: team, channels: [hook], match: {rules: [none]}}
    - {name: failing, channels: [broken], match: {rules: [now]}}
    - {name: everything, channels: [hook], match: {rules: [quiet, later]}}
`

func TestRunAnnouncesOnChannels(t *testing.T) {
	dir := t.TempDir()
	good, bad := &hook{}, &hook{failing: true}
	gs, bs := httptest.NewServer(good), httptest.NewServer(bad)
	t.Cleanup(gs.Close)
	t.Cleanup(bs.Close)
	t.Setenv("REFLEX_TEST_HOOK", gs.URL)
	t.Setenv("REFLEX_TEST_BROKEN", bs.URL)
	t.Setenv("REFLEX_TEST_SECRET", "s3cret")
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(announceCfg, dir, filepath.Join(dir, "ledger.db"))), 0o600)

	var pending string
	type want struct {
		code     int
		outcome  string // of the last message the good hook received
		messages int    // messages the good hook holds after the step
		stderr   string
		ledger   []string // notify.* event kinds recorded for the decision
	}
	for _, tc := range []struct {
		name string
		args []string
		id   string // finding id for stdin
		want want
	}{
		{"notify step announces on its route, and the failing route fails without changing the exit code",
			[]string{"run", "-c", cfg, "-"}, "run1",
			want{0, "done", 1, "reflex: notification to broken (route failing) failed after 2 attempt(s): webhook: HTTP 500: boom", []string{"notify.delivered", "notify.failed"}}},
		{"no notify step: announced after execution by match", []string{"run", "-c", cfg, "-"}, "run3",
			want{0, "done", 2, "", []string{"notify.delivered"}}},
		{"approval request announced", []string{"run", "-c", cfg, "-"}, "ask1",
			want{0, "waiting-approval", 3, "", []string{"notify.delivered"}}},
		{"approval's execution announced", []string{"approve", "-c", cfg, "--by", "alice", "ID"}, "",
			want{0, "done", 4, "", []string{"notify.delivered", "notify.delivered"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := slices.Clone(tc.args)
			if i := slices.Index(args, "ID"); i >= 0 {
				args[i] = pending
			}
			stdin := ""
			if tc.id != "" {
				stdin = findingWithID(t, tc.id)
			}
			code, out, errOut := runCLI(t, stdin, args...)
			if code != tc.want.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.want.code, out, errOut)
			}
			if !strings.Contains(errOut, tc.want.stderr) {
				t.Errorf("stderr %q lacks %q", errOut, tc.want.stderr)
			}
			msgs := good.messages()
			if len(msgs) != tc.want.messages {
				t.Fatalf("%d messages, want %d", len(msgs), tc.want.messages)
			}
			ev := msgs[len(msgs)-1].Events[0]
			if ev.Outcome != tc.want.outcome {
				t.Errorf("outcome %q, want %q", ev.Outcome, tc.want.outcome)
			}
			// the message's step statuses are the ledger's
			code, js, _ := runCLI(t, "", "-o", "json", "history", "steps", "-c", cfg, "--decision", ev.DecisionID)
			var steps []*store.Step
			if code != 0 || json.Unmarshal([]byte(js), &steps) != nil || len(steps) != len(ev.Steps) {
				t.Fatalf("history steps: exit %d, %d steps, %d in the message", code, len(steps), len(ev.Steps))
			}
			for i, s := range steps {
				want := s.State
				if s.State == store.StepPlanned {
					want = notify.StepWaiting
				}
				if s.Name != ev.Steps[i].Name || want != ev.Steps[i].Status {
					t.Errorf("step %d: %s %s in the ledger, %s %s in the message", i, s.Name, want, ev.Steps[i].Name, ev.Steps[i].Status)
				}
			}
			code, js, _ = runCLI(t, "", "-o", "json", "history", "events", "-c", cfg, "--decision", ev.DecisionID, "--limit", "0")
			var evs []*store.Event
			if code != 0 || json.Unmarshal([]byte(js), &evs) != nil {
				t.Fatalf("history events: exit %d", code)
			}
			var kinds []string
			for _, e := range evs {
				if strings.HasPrefix(e.Kind, "notify.") {
					kinds = append(kinds, e.Kind)
				}
			}
			slices.Sort(kinds)
			if fmt.Sprint(kinds) != fmt.Sprint(tc.want.ledger) {
				t.Errorf("ledger notify events %v, want %v", kinds, tc.want.ledger)
			}
			if ev.Outcome == "waiting-approval" {
				pending = ev.DecisionID // the next case approves it
			}
		})
	}
	if bad.calls != 2 {
		t.Errorf("the failing channel was called %d times, want 2 (attempts: 2)", bad.calls)
	}
}
