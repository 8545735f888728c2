package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reflexsec/reflex/internal/dynalite"
)

// syncBuf is a bytes.Buffer safe for a writer and a reader.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func findRIE(t *testing.T) string {
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	out, _ := exec.Command("go", "env", "GOPATH").Output()
	p := filepath.Join(strings.TrimSpace(string(out)), "bin", "aws-lambda-rie")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	msg := "aws-lambda-rie not installed (go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestLambdaUnderRIE runs the built binary under the Lambda Runtime
// Interface Emulator and invokes it over the emulator's HTTP API with an
// EventBridge event and an SQS batch; the ledger is DynamoDB (dynalite).
// It logs the cold-start init time the emulator reports and the handler
// process's peak RSS.
func TestLambdaUnderRIE(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	rie := findRIE(t)
	dyn, err := dynalite.Start()
	if err != nil {
		if dynalite.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	defer dyn.Close()
	dir := t.TempDir()
	bin := reflexBinary(t)
	effectConfig(t, dir, dir, "", "")
	l1, _ := net.Listen("tcp", "127.0.0.1:0")
	l2, _ := net.Listen("tcp", "127.0.0.1:0") // both open: two different ports
	addr, api := l1.Addr().String(), l2.Addr().String()
	l1.Close()
	l2.Close()
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", api, bin)
	cmd.Env = append(os.Environ(), "LAMBDA_TASK_ROOT="+dir, "REFLEX_CONFIG=reflex.yaml",
		"REFLEX_LEDGER=dynamodb://ledger?create=true", "AWS_ENDPOINT_URL_DYNAMODB="+dyn.URL, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128")
	var logs syncBuf
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	url := "http://" + addr + "/2015-03-31/functions/function/invocations"
	invoke := func(payload []byte) string {
		t.Helper()
		var resp *http.Response
		var err error
		for i := 0; i < 100; i++ {
			resp, err = http.Post(url, "application/json", bytes.NewReader(payload))
			if err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("invoke: %v\n%s", err, logs.String())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	src, _ := os.ReadFile("../../engine/testdata/UnauthorizedAccess_EC2_TorClient__elastic.json")
	ev := func(id string) []byte {
		var f map[string]any
		json.Unmarshal(src, &f)
		f["id"] = id
		b, _ := json.Marshal(map[string]any{"version": "0", "id": "e-" + id, "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
			"account": f["accountId"], "region": f["region"], "time": "2026-03-01T00:00:00Z", "detail": f})
		return b
	}
	if out := invoke(ev("rie-1")); out != "null" {
		t.Errorf("EventBridge invocation answered %s\n%s", out, logs.String())
	}
	batch, _ := json.Marshal(map[string]any{"Records": []map[string]any{
		{"messageId": "m1", "eventSource": "aws:sqs", "body": string(ev("rie-2"))},
		{"messageId": "m2", "eventSource": "aws:sqs", "body": string(ev("rie-1"))}, // a duplicate
		{"messageId": "m3", "eventSource": "aws:sqs", "body": "{not json"},
	}})
	if out := invoke(batch); out != `{"batchItemFailures":[]}` {
		t.Errorf("SQS invocation answered %s\n%s", out, logs.String())
	}
	effects, _ := os.ReadFile(filepath.Join(dir, "effects.log"))
	if n := strings.Count(string(effects), "\n"); n != 2 {
		t.Errorf("%d effects, want 2 (rie-1 once, rie-2 once):\n%s", n, effects)
	}
	// measurements
	if m := regexp.MustCompile(`Init Duration: ([0-9.]+) ms`).FindStringSubmatch(logs.String()); m != nil {
		t.Logf("cold start: Init Duration %s ms (as reported by the emulator)", m[1])
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, sf := range stats {
		b, _ := os.ReadFile(sf)
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == fmt.Sprint(cmd.Process.Pid) {
			pid := filepath.Base(filepath.Dir(sf))
			st, _ := os.ReadFile("/proc/" + pid + "/status")
			if m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindStringSubmatch(string(st)); m != nil {
				t.Logf("handler process %s: peak RSS %s kB", pid, m[1])
			}
		}
	}
	if strings.Contains(logs.String(), "panic") {
		t.Errorf("panic in the handler:\n%s", logs.String())
	}
}
