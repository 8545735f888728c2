package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/internal/dynalite"
	"github.com/reflexsec/reflex/store"
	"github.com/reflexsec/reflex/store/dynamodb"
)

// startDynalite starts dynalite, skipping the test when it is missing
// (failing under CI).
func startDynalite(t *testing.T) *dynalite.Server {
	t.Helper()
	dyn, err := dynalite.Start()
	if err != nil {
		if dynalite.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Cleanup(dyn.Close)
	return dyn
}

// guardDutyEvent is an EventBridge event of the test finding with this id
// and count (a higher count is GuardDuty's re-send of the finding).
func guardDutyEvent(t *testing.T, id string, count int) []byte {
	t.Helper()
	src, err := os.ReadFile("../../engine/testdata/UnauthorizedAccess_EC2_TorClient__elastic.json")
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(src, &f); err != nil {
		t.Fatal(err)
	}
	f["id"] = id
	f["service"].(map[string]any)["count"] = count
	f["updatedAt"] = time.Date(2026, 3, 1, 12, 0, count, 0, time.UTC).Format(time.RFC3339)
	b, _ := json.Marshal(map[string]any{"version": "0", "id": fmt.Sprintf("e-%s-%d", id, count), "detail-type": "GuardDuty Finding",
		"source": "aws.guardduty", "account": f["accountId"], "region": f["region"], "time": "2026-03-01T12:00:00Z", "detail": f})
	return b
}

// serveProc is one `reflex serve` process.
type serveProc struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuf
	done chan error
}

// startServe starts `reflex serve` on a free loopback port and waits until
// it listens.
func startServe(t *testing.T, bin string, env []string, args ...string) *serveProc {
	t.Helper()
	base := []string{"serve", "--listen", "127.0.0.1:0"}
	if slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "REFLEX_LISTEN=") }) {
		base = base[:1] // the address comes from the environment
	}
	cmd := exec.Command(bin, append(base, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, logs: &syncBuf{}, done: make(chan error, 1)}
	cmd.Stdout = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			p.logs.Write([]byte(line + "\n"))
			if _, addr, ok := strings.Cut(line, "reflex serve: listening on "); ok && !sent {
				ready <- strings.TrimSpace(addr)
				sent = true
			}
		}
		if !sent {
			close(ready)
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	select {
	case u, ok := <-ready:
		if !ok {
			t.Fatalf("reflex serve exited before listening:\n%s", p.logs.String())
		}
		p.url = u
	case <-time.After(60 * time.Second):
		t.Fatalf("reflex serve did not listen:\n%s", p.logs.String())
	}
	return p
}

// stop sends SIGTERM and waits for the drain to end.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("reflex serve ended with %v:\n%s", err, p.logs.String())
		}
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		t.Errorf("reflex serve did not stop on SIGTERM:\n%s", p.logs.String())
	}
}

// TestServeProcessesShareDynamoDB starts several `reflex serve` processes
// on one DynamoDB table (dynalite) and delivers the same finding 10 times
// at once, spread over them: each step runs once — one line in the shared
// effects file per step, one attempt in the journal.
func TestServeProcessesShareDynamoDB(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, starts processes")
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGTERM")
	}
	const procs = 3
	dir := t.TempDir()
	bin := reflexBinary(t)
	dyn := startDynalite(t)
	table := dynalite.TableName("multiproc")
	ctx, cancel := dynalite.Context()
	defer cancel()
	if err := dynamodb.EnsureTable(ctx, dyn.Client(), table); err != nil {
		t.Fatal(err)
	}
	effects := filepath.Join(dir, "effects")
	if err := os.Mkdir(effects, 0o700); err != nil {
		t.Fatal(err)
	}
	// the step sleeps around its side effect: a second run of it would
	// pass the step's own check and append a second line
	cfg := effectConfig(t, dir, effects, ", sleep: 30ms", "guards:\n  budget: {per_account: 1000, total: 1000}\n")
	env := []string{"REFLEX_API_KEYS=k1", "AWS_ENDPOINT_URL_DYNAMODB=" + dyn.URL, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret", "REFLEX_LOG_LEVEL=warn"}
	var ps []*serveProc
	for range procs {
		ps = append(ps, startServe(t, bin, env, "-c", cfg, "--ledger", "dynamodb://"+table))
	}

	type delivery struct {
		id    string
		count int
	}
	cases := []struct {
		name       string
		deliveries []delivery
	}{
		{"same version 10 times", func() (d []delivery) {
			for range 10 {
				d = append(d, delivery{"multi-same", 1})
			}
			return
		}()},
		{"first sending and re-sends mixed", func() (d []delivery) {
			for i := range 10 {
				d = append(d, delivery{"multi-resend", 1 + i%3})
			}
			return
		}()},
	}
	client := &http.Client{Timeout: 30 * time.Second}
	for _, tc := range cases {
		var wg sync.WaitGroup
		start := make(chan struct{})
		codes := make([]int, len(tc.deliveries))
		for i, d := range tc.deliveries {
			body := guardDutyEvent(t, d.id, d.count)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				req, _ := http.NewRequest("POST", ps[i%procs].url+"/events", bytes.NewReader(body))
				req.Header.Set("X-Api-Key", "k1")
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("%s: delivery %d: %v", tc.name, i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}()
		}
		close(start)
		wg.Wait()
		for i, c := range codes {
			if c != http.StatusAccepted {
				t.Errorf("%s: delivery %d (to process %d) answered %d", tc.name, i, i%procs, c)
			}
		}
	}
	// SIGTERM drains the executions in flight
	for _, p := range ps {
		p.stop(t)
	}

	lines, err := action.TestEffects(effects)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, l := range lines {
		seen[l]++
	}
	if len(lines) != len(cases) || len(seen) != len(cases) {
		t.Errorf("%d effects (%d distinct), want %d (one per finding):\n%s", len(lines), len(seen), len(cases), strings.Join(lines, "\n"))
	}
	for l, n := range seen {
		if n != 1 {
			t.Errorf("step %s ran %d times", l, n)
		}
	}
	led := dynamodb.New(dyn.Client(), table, dynamodb.Options{})
	steps, err := led.Steps(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != len(cases) {
		t.Errorf("%d journal entries, want %d", len(steps), len(cases))
	}
	for _, s := range steps {
		if s.State != store.StepDone || s.Attempts != 1 {
			t.Errorf("step %s: %s after %d attempts, want done after 1", s.Key, s.State, s.Attempts)
		}
	}
	fs, err := led.Findings(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != len(cases) {
		t.Errorf("the ledger has %d findings, want %d", len(fs), len(cases))
	}
	for _, p := range ps {
		if strings.Contains(p.logs.String(), "panic") {
			t.Errorf("panic:\n%s", p.logs.String())
		}
	}
}

// TestServeAnnounces checks that `reflex serve` announces its decisions on
// the configuration's notification channels (a webhook here).
func TestServeAnnounces(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := reflexBinary(t)
	got := make(chan []byte, 16)
	hook := newHookServer(t, got)
	cfg := effectConfig(t, dir, dir, "", hookNotifications+fmt.Sprintf("ledger: {path: %q}\n", filepath.Join(dir, "ledger.db")))
	p := startServe(t, bin, []string{"REFLEX_API_KEYS=k1", "REFLEX_TEST_HOOK=" + hook, "REFLEX_TEST_SECRET=s3cret-s3cret-s3cret"}, "-c", cfg)
	req, _ := http.NewRequest("POST", p.url+"/events", bytes.NewReader(guardDutyEvent(t, "announce-1", 1)))
	req.Header.Set("X-Api-Key", "k1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	p.stop(t) // the drain delivers what is queued
	select {
	case b := <-got:
		if !strings.Contains(string(b), "announce-1") {
			t.Errorf("the announcement does not name the finding:\n%s", b)
		}
	default:
		t.Errorf("no announcement reached the webhook:\n%s", p.logs.String())
	}
}

func newHookServer(t *testing.T, got chan<- []byte) string {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case got <- b:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/hook"
}

// REFLEX_LISTEN sets serve's address (the container image sets :8080, as
// 127.0.0.1 is unreachable from outside a container); --listen wins over it.
func TestServeListenFromEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := reflexBinary(t)
	cfg := effectConfig(t, dir, dir, "", fmt.Sprintf("ledger: {path: %q}\n", filepath.Join(dir, "ledger.db")))
	tests := []struct {
		name string
		env  []string
		args []string
	}{
		{"environment", []string{"REFLEX_API_KEYS=k1", "REFLEX_LISTEN=127.0.0.1:0"}, []string{"-c", cfg}},
		{"flag wins", []string{"REFLEX_API_KEYS=k1", "REFLEX_LISTEN=203.0.113.1:1"}, []string{"--listen", "127.0.0.1:0", "-c", cfg}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startServe(t, bin, tt.env, tt.args...)
			if strings.HasSuffix(p.url, ":8080") {
				t.Fatalf("listening on the default address %s", p.url)
			}
			resp, err := http.Get(p.url + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("/healthz: %d", resp.StatusCode)
			}
			p.stop(t)
		})
	}
}
