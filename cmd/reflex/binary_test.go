package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The tests that run reflex as a process (crash, Lambda emulator, cold
// start, several processes on one ledger) share one build, made as
// released: static, trimmed, stripped.
var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildOut  []byte
)

// TestMain removes the shared binary's directory after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// reflexBinary returns the path of the reflex binary, building it on first
// use. Tests copy nothing into its directory; each uses its own TempDir.
func reflexBinary(t testing.TB) string {
	t.Helper()
	// REFLEX_TEST_BINARY runs the process tests on a binary built
	// elsewhere (a release build, or one whose pages the page cache has
	// dropped, for the cold start's memory).
	if bin := os.Getenv("REFLEX_TEST_BINARY"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "reflex-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "bootstrap") // the name Lambda runs
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", builtBin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		buildOut, buildErr = build.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build: %v\n%s", buildErr, buildOut)
	}
	return builtBin
}

// effectConfig writes dir/reflex.yaml: one enforce rule running test.effect
// (its effects file in effectsDir, with stepParams added to its params) on
// every finding, samples included, followed by extra top-level sections.
// It returns the file's path.
func effectConfig(t testing.TB, dir, effectsDir, stepParams, extra string) string {
	t.Helper()
	cfg := filepath.Join(dir, "reflex.yaml")
	body := fmt.Sprintf(`version: 1
rules:
  - name: contain
    pattern: {source: [aws.guardduty]}
    mode: enforce
    samples: act
    steps:
      - step: test.effect
        params: {dir: %q%s}
`, effectsDir, stepParams) + extra
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// hookNotifications routes every announcement to the webhook of
// REFLEX_TEST_HOOK.
const hookNotifications = `notifications:
  channels:
    hook: {type: webhook, url: "env:REFLEX_TEST_HOOK", signing_secret: "env:REFLEX_TEST_SECRET"}
  routes:
    - {name: all, channels: [hook]}
`
