package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const findings = "../../testdata/findings"

func TestInspect(t *testing.T) {
	event, err := os.ReadFile(filepath.Join(findings, "Backdoor_EC2_Spambot__o7conseils.json"))
	if err != nil {
		t.Fatal(err)
	}
	all, _ := filepath.Glob(filepath.Join(findings, "*.json"))
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"every bundled finding", "", append([]string{"inspect"}, all...), 0,
			[]string{"Backdoor:EC2/Spambot  [SAMPLE]", "severity   5 (Medium)", "ec2-instance i-99999999 (Instance)", "303697492861 ca-central-1", "(count 4)", "35 findings (34 samples) from 35 inputs, 0 errors"}, nil},
		{"a directory, recursively", "", []string{"inspect", findings}, 2,
			[]string{"AttackSequence:IAM/CompromisedCredentials", "severity   9 (Critical)", "37 findings (34 samples) from 38 inputs, 1 errors"},
			[]string{`AWS_API_Call_via_CloudTrail__sumologic.json:1:1: not a GuardDuty finding: an aws.guardduty event of detail-type "AWS API Call via CloudTrail"`}},
		{"stdin", string(event), []string{"inspect", "-"}, 0, []string{"Backdoor:EC2/Spambot", "from       -:1:1 (eventbridge-event)"}, nil},
		{"malformed JSON names file, line and column", "{\n \"id\": 1,\n oops\n}", []string{"inspect", "-"}, 2, nil, []string{"reflex: -:3:2: malformed JSON: invalid character 'o'"}},
		{"empty input", "", []string{"inspect", "-"}, 2, nil, []string{"reflex: -:1:1: empty input: no findings"}},
		{"missing file", "", []string{"inspect", "/nonexistent/f.json"}, 2, nil, []string{"/nonexistent/f.json: no such file or directory"}},
		{"no arguments", "", []string{"inspect"}, 2, nil, []string{"name at least one FILE"}},
		{"terminal escapes in finding text are neutralised", `{"id":"x","type":"Recon:EC2/Portscan","accountId":"1","region":"r","severity":2,"title":"\u001b[2Jgotcha"}`, []string{"inspect", "-"}, 0, []string{`\x1b[2Jgotcha`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.code, errOut)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q", s)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr %q lacks %q", errOut, s)
				}
			}
			if strings.Contains(out, "\x1b") {
				t.Error("raw escape character reached the terminal")
			}
		})
	}
}

func TestInspectJSON(t *testing.T) {
	code, out, _ := runCLI(t, "", "inspect", "-o", "json", findings)
	if code != 2 {
		t.Errorf("exit %d, want 2 (the directory holds a non-finding event)", code)
	}
	var got struct {
		Schema   string `json:"schema"`
		Findings []struct {
			Input, ID, Type, Band, AccountID, Region, Resource, Shape string
			Severity                                                  float64
			Count                                                     int64
			Sample                                                    bool
			TypeName                                                  struct{ ThreatPurpose string }
			Resources                                                 []struct{ Kind, ID string }
		} `json:"findings"`
		Errors []struct {
			Input      string `json:"input"`
			Line       int    `json:"line"`
			Column     int    `json:"column"`
			Error      string `json:"error"`
			NotFinding bool   `json:"notFinding"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Schema != "reflex.inspect/v1" || len(got.Findings) != 37 || len(got.Errors) != 1 {
		t.Fatalf("schema %q, %d findings, %d errors", got.Schema, len(got.Findings), len(got.Errors))
	}
	if e := got.Errors[0]; !e.NotFinding || e.Line != 1 || !strings.HasSuffix(e.Input, "AWS_API_Call_via_CloudTrail__sumologic.json") {
		t.Errorf("error = %+v", e)
	}
	var spambot bool
	for _, f := range got.Findings {
		if f.Type == "Backdoor:EC2/Spambot" {
			spambot = true
			if f.ID != "7ebc050b71c556086b524045c9067feb" || f.Band != "Medium" || f.Severity != 5 || f.AccountID != "303697492861" ||
				f.Region != "ca-central-1" || f.Resource != "ec2-instance i-99999999" || !f.Sample || f.Count != 1 ||
				f.Shape != "eventbridge-event" || f.TypeName.ThreatPurpose != "Backdoor" || len(f.Resources) != 1 || f.Resources[0].ID != "i-99999999" {
				t.Errorf("spambot summary = %+v", f)
			}
		}
	}
	if !spambot {
		t.Error("Backdoor:EC2/Spambot missing")
	}
}
