package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const spambotEvent = "../../pattern/testdata/findings/Backdoor_EC2_Spambot__o7conseils.json"

func TestPatternTest(t *testing.T) {
	dir := t.TempDir()
	patFile := filepath.Join(dir, "rule.json")
	if err := os.WriteFile(patFile, []byte(`{"source":["aws.guardduty"],"detail":{"type":[{"prefix":"Backdoor:"}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	evJSON, err := os.ReadFile(spambotEvent)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		stdin      string
		args       []string
		code       int
		out, err   string // substrings
		jsonResult *bool
	}{
		{name: "match, files", args: []string{"pattern", "test", "--pattern", patFile, "--event", spambotEvent}, code: 0, out: "match"},
		{name: "no match, inline", args: []string{"pattern", "test", "--pattern", `{"source":["aws.ec2"]}`, "--event", spambotEvent}, code: 1, out: "no match"},
		{name: "event on stdin", stdin: string(evJSON), args: []string{"pattern", "test", "--pattern", patFile, "--event", "-"}, code: 0, out: "match"},
		{name: "pattern on stdin", stdin: `{"detail":{"severity":[{"numeric":[">=",7]}]}}`, args: []string{"pattern", "test", "--pattern", "-", "--event", spambotEvent}, code: 1, out: "no match"},
		{name: "invalid pattern", args: []string{"pattern", "test", "--pattern", `{"source":"aws.guardduty"}`, "--event", spambotEvent}, code: 2,
			err: `--pattern (inline): Event pattern is not valid. Reason: "source" must be an object or an array`},
		{name: "invalid numeric", args: []string{"pattern", "test", "--pattern", `{"a":[{"numeric":[">",0,">",0]}]}`, "--event", `{}`}, code: 2,
			err: "Event pattern is not valid. Reason: Bad numeric range operator: >"},
		{name: "invalid event", args: []string{"pattern", "test", "--pattern", patFile, "--event", `{"a":`}, code: 2, err: "--event (inline): Parameter Event is not valid."},
		{name: "missing file", args: []string{"pattern", "test", "--pattern", filepath.Join(dir, "nope.json"), "--event", spambotEvent}, code: 2, err: "nope.json"},
		{name: "both stdin", args: []string{"pattern", "test", "--pattern", "-", "--event", "-"}, code: 2, err: "stdin"},
		{name: "missing flag", args: []string{"pattern", "test", "--pattern", patFile}, code: 2, err: "required flag"},
		{name: "json match", args: []string{"-o", "json", "pattern", "test", "--pattern", patFile, "--event", spambotEvent}, code: 0, jsonResult: ptr(true)},
		{name: "json no match", args: []string{"-o", "json", "pattern", "test", "--pattern", `{"source":["x"]}`, "--event", spambotEvent}, code: 1, jsonResult: ptr(false)},
		{name: "json invalid pattern", args: []string{"-o", "json", "pattern", "test", "--pattern", `{"a":[]}`, "--event", spambotEvent}, code: 2,
			out: `"message": "Event pattern is not valid. Reason: Empty arrays are not allowed"`},
		{name: "strict envelope", args: []string{"pattern", "test", "--strict-envelope", "--pattern", `{"source":["x"]}`, "--event", `{"source":"x"}`}, code: 2, err: "missing field id"},
		{name: "strict envelope ok", args: []string{"pattern", "test", "--strict-envelope", "--pattern", patFile, "--event", spambotEvent}, code: 0, out: "match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			if tt.out != "" && !strings.Contains(out, tt.out) {
				t.Errorf("stdout %q does not contain %q", out, tt.out)
			}
			if tt.err != "" && !strings.Contains(errOut, tt.err) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.err)
			}
			if tt.jsonResult != nil {
				var v struct {
					Match *bool `json:"match"`
				}
				if err := json.Unmarshal([]byte(out), &v); err != nil || v.Match == nil || *v.Match != *tt.jsonResult {
					t.Errorf("stdout %q: want {\"match\": %v}", out, *tt.jsonResult)
				}
			}
			if tt.code == 0 && errOut != "" {
				t.Errorf("unexpected stderr %q", errOut)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
