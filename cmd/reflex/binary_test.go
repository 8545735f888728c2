package main

import (
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
