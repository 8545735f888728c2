package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reflexsec/reflex/internal/awstest"
	"github.com/reflexsec/reflex/internal/fakeaws"
	"github.com/reflexsec/reflex/internal/sandbox"
)

// TestSIGKILLBetweenAWSCallAndLedger kills `reflex run` (SIGKILL) at the
// worst point of an IAM or S3 step: the test cloud has applied the step's
// call and holds its answer, so the process dies before it can write the
// step's result to the ledger. Then `reflex release` at once, or `reflex
// run` again and release: the state after equals the state before, field
// by field, and the re-run does not repeat the call. The step's checkpoint,
// journaled in the ledger before the call, is what makes this possible.
func TestSIGKILLBetweenAWSCallAndLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL")
	}
	bin := reflexBinary(t)
	for _, tc := range []struct {
		finding, op string
		applied     string // a Diff line prefix that shows the call was applied
	}{
		{"iam-user", "UpdateAccessKey", "iam/user/alice/key/"},
		{"iam-user", "AttachUserPolicy", "iam/user/alice/attached"},
		{"s3", "PutPublicAccessBlock", "s3/"},
	} {
		for _, rerun := range []bool{false, true} {
			name := tc.op + ", release"
			if rerun {
				name = tc.op + ", run again, release"
			}
			t.Run(name, func(t *testing.T) { sigkillAtCall(t, bin, tc.finding, tc.op, tc.applied, rerun) })
		}
	}
}

func sigkillAtCall(t *testing.T, bin, name, op, applied string, rerun bool) {
	dir := t.TempDir()
	env, err := awstest.Start(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	ak, sk, _ := env.Cloud.Credentials(sandbox.Security)
	procEnv := append(os.Environ(), "AWS_ENDPOINT_URL="+env.Server.URL, "AWS_ACCESS_KEY_ID="+ak, "AWS_SECRET_ACCESS_KEY="+sk,
		"AWS_REGION="+sandbox.Region, "AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
		"AWS_S3_USE_PATH_STYLE=true", "AWS_EC2_METADATA_DISABLED=true")
	ex, err := os.ReadFile("../../examples/reflex.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "reflex.yaml")
	if err := os.WriteFile(cfg, awstest.EnforceConfig(ex, filepath.Join(dir, "ledger.db")), 0o600); err != nil {
		t.Fatal(err)
	}
	raws, _, err := sandbox.Raw()
	if err != nil {
		t.Fatal(err)
	}
	fpath := filepath.Join(dir, name+".json")
	if err := os.WriteFile(fpath, raws[name], 0o600); err != nil {
		t.Fatal(err)
	}
	reflex := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = procEnv
		return cmd
	}
	ctx := context.Background()
	before, err := env.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// run, and kill it once the call is applied but not answered
	env.Cloud.InjectFault(fakeaws.Fault{Operation: op, Hold: 10 * time.Minute})
	run := reflex("run", "-c", cfg, fpath)
	var stderr bytes.Buffer
	run.Stderr = &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := env.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if hasPrefixed(awstest.Diff(before, st), applied) {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("reflex run ended before %s was applied: %v\n%s", op, err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never applied:\n%s", op, stderr.String())
		}
	}
	if err := run.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	env.Cloud.ClearFaults()
	waitLogged(t, env, op) // the held handler sees its caller gone

	if rerun {
		out, err := reflex("run", "-c", cfg, fpath).CombinedOutput()
		if err != nil {
			t.Fatalf("run again: %v\n%s", err, out)
		}
		if n := env.SideEffects()[op]; n != 1 {
			t.Errorf("%s succeeded %d times after the re-run, want 1\n%s", op, n, out)
		}
	}
	f, err := sandbox.Finding(name)
	if err != nil {
		t.Fatal(err)
	}
	out, err := reflex("release", "-c", cfg, "--finding", f.ID).CombinedOutput()
	if err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	after, err := env.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := awstest.Diff(before, after); len(d) > 0 {
		t.Errorf("after release:\n%s\n\nrelease said:\n%s", strings.Join(d, "\n"), out)
	}
}

func hasPrefixed(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func waitLogged(t *testing.T, env *awstest.Env, op string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for env.SideEffects()[op] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the held %s was never logged", op)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
