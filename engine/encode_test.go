package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/policy"
)

// checkEncode fails unless encodePlan writes pl as json.Marshal does.
func checkEncode(t *testing.T, name string, pl *Plan) {
	t.Helper()
	want, werr := json.Marshal(pl)
	got, gerr := encodePlan(pl)
	if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
		t.Fatalf("%s: encodePlan differs from json.Marshal:\n got %s (%v)\nwant %s (%v)", name, got, gerr, want, werr)
	}
}

// TestEncodePlanMatchesJSON decides every bundled finding under the example
// configuration in each mode and sample policy, and compares the plans (whole
// and as stored) with encoding/json's.
func TestEncodePlanMatchesJSON(t *testing.T) {
	src, err := os.ReadFile("../examples/reflex.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../testdata/findings/*.json")
	more, _ := filepath.Glob("testdata/*.json")
	var fs []*finding.Finding
	for _, p := range append(files, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		x, _ := finding.ParseBytes(p, data)
		fs = append(fs, x...)
	}
	if len(fs) == 0 {
		t.Fatal("no findings")
	}
	n := 0
	for _, samples := range []string{"dry-run", "act", "ignore"} {
		for _, mode := range []string{"dry-run", "approve", "enforce"} {
			cfg := strings.Replace(string(src), "samples: ignore", "samples: "+samples, 1)
			cfg = strings.ReplaceAll(cfg, "mode: dry-run", "mode: "+mode)
			reg := action.NewRegistry()
			p, err := policy.Parse("reflex.yaml", []byte(cfg), reg)
			if err != nil {
				t.Fatal(err)
			}
			eng := &Engine{Policy: p, Registry: reg}
			for _, opt := range []Options{{NoLedger: true}, {NoLedger: true, Calls: true}, {NoLedger: true, Explain: true}} {
				for _, f := range fs {
					pl, err := eng.Decide(context.Background(), f, opt)
					if err != nil {
						t.Fatal(err)
					}
					name := samples + "/" + mode + "/" + f.Origin.String()
					checkEncode(t, name, pl)
					// as stored: marshalStored strips calls and targets
					stored, err := marshalStored(pl)
					if err != nil {
						t.Fatal(err)
					}
					var back Plan
					if err := json.Unmarshal(stored, &back); err != nil {
						t.Fatal(err)
					}
					checkEncode(t, name+" (stored)", &back)
					if _, err := appendPlan(nil, &back); err != nil {
						t.Fatalf("%s: a stored plan took the slow path: %v", name, err)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d plans", n)
}

// TestEncodePlanOddValues covers what the fast path hands to encoding/json.
func TestEncodePlanOddValues(t *testing.T) {
	retries := 3
	odd := []string{"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnewline\n\x00\x1f\x7f",
		"é ü 日本", "line\u2028sep\u2029", "bad \xff utf8", "\u00a0"}
	times := []time.Time{{}, time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}
	floats := []float64{0, 8, 5.5, 0.1, 1e-7, 1e21, 123456789.123, -2}
	for i, s := range odd {
		pl := &Plan{DecisionID: s, Change: s, Mode: s, Status: s, Summary: s, RequestedMode: s,
			DecidedAt: times[i%len(times)],
			Finding: FindingSummary{Key: s, Type: s, Severity: floats[i%len(floats)], Band: s, Title: s, SampleWhy: s, Origin: s,
				UpdatedAt: times[(i+1)%len(times)], Count: int64(i), Sample: i%2 == 0,
				Resources: []finding.ResourceRef{{Kind: s, ID: s, Name: s, ARN: s, AccountID: s, Region: s,
					Tags: map[string]string{s: s, "b": "x", "a": s}, Attrs: map[string]string{"k": s}}, {Kind: "k"}}},
			Rules:  []RuleVerdict{{Rule: s, Matched: true, Why: s, Mode: s}, {Rule: "r"}},
			Guards: []GuardVerdict{{Guard: s, Verdict: s, Reason: s}},
			Steps: []*PlannedStep{{Seq: 1, Key: s, Name: s, Rule: s, AlsoFrom: []string{s, "x"}, TargetID: s,
				Params: action.Params{"route": s, "n": int64(3), "on": true, "d": time.Minute, "l": []string{s}},
				Effect: action.Effect(s), Available: true, OnFailure: s, Timeout: s, Retries: &retries, Status: s, Reason: s},
				{Seq: 2, Target: &finding.ResourceRef{Kind: "x"}}, {Seq: 3, Calls: []action.Call{{Service: "ec2"}}}, {}},
		}
		checkEncode(t, "odd "+s, pl)
		pl.Steps = pl.Steps[:1]
		checkEncode(t, "odd (fast steps) "+s, pl)
		pl.Rules, pl.Guards, pl.Steps, pl.Finding.Resources = nil, nil, nil, nil
		checkEncode(t, "odd (empty) "+s, pl)
	}
	for _, f := range floats {
		checkEncode(t, "float", &Plan{Finding: FindingSummary{Severity: f}})
	}
	for _, tm := range times {
		checkEncode(t, "time", &Plan{DecidedAt: tm})
	}
}
