package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// runCLI runs reflex in-process and returns its exit code and output.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	var in io.Reader = strings.NewReader(stdin)
	code = run(context.Background(), args, streams{in: in, out: &out, err: &errb})
	return code, out.String(), errb.String()
}

func TestRootCommand(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"version", []string{"--version"}, 0, "reflex ", ""},
		{"help", []string{"help"}, 0, "inspect", ""},
		{"no arguments shows help", nil, 0, "Usage:", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"unknown flag", []string{"inspect", "--frob"}, 2, "", "unknown flag: --frob"},
		{"bad output format", []string{"-o", "xml", "inspect", "-"}, 2, "", `--output "xml": want text or json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			if !strings.Contains(out, tt.stdout) {
				t.Errorf("stdout %q lacks %q", out, tt.stdout)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr %q lacks %q", errOut, tt.stderr)
			}
		})
	}
}
