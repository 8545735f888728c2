package finding

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(findingsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compact returns b as one line of JSON.
func compact(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pascal rewrites a finding's keys the way the AWS CLI prints them.
func pascal(v any, parent string) any {
	switch x := v.(type) {
	case map[string]any:
		if parent == "additionalInfo" || parent == "affectedResources" {
			return x
		}
		m := map[string]any{}
		for k, val := range x {
			m[strings.ToUpper(k[:1])+k[1:]] = pascal(val, k)
		}
		return m
	case []any:
		for i := range x {
			x[i] = pascal(x[i], parent)
		}
	}
	return v
}

// TestShapes reads the same findings in every form GuardDuty output takes.
func TestShapes(t *testing.T) {
	bare := compact(t, readTestFile(t, "Recon_EC2_Portscan__elastic.json"))
	other := compact(t, readTestFile(t, "Discovery_S3_TorIPCaller__elastic.json"))
	event := compact(t, readTestFile(t, "Backdoor_EC2_Spambot__o7conseils.json"))
	pretty := readTestFile(t, "Recon_EC2_Portscan__elastic.json")

	var doc any
	if err := json.Unmarshal(bare, &doc); err != nil {
		t.Fatal(err)
	}
	cli, _ := json.MarshalIndent(map[string]any{"Findings": []any{pascal(doc, "")}}, "", "    ")

	wantIDs := func(ids ...string) []string { return ids }
	portscan, s3 := "4abf27df0ab584241b36430ce14b757c", "2cbf27df0ab279c40f8bd081417a9636"
	spambot := "7ebc050b71c556086b524045c9067feb"
	tests := []struct {
		name   string
		input  []byte
		ids    []string
		shapes []Shape
	}{
		{"bare finding", bare, wantIDs(portscan), []Shape{ShapeFinding}},
		{"eventbridge event", event, wantIDs(spambot), []Shape{ShapeEvent}},
		{"GetFindings wire output", []byte(`{"findings":[` + string(bare) + `,` + string(other) + `]}`), wantIDs(portscan, s3), []Shape{ShapeGetFindings, ShapeGetFindings}},
		{"AWS CLI get-findings output", cli, wantIDs(portscan), []Shape{ShapeCLI}},
		{"JSON array of findings and events", []byte(`[` + string(bare) + `,` + string(event) + `]`), wantIDs(portscan, spambot), []Shape{ShapeGetFindings, ShapeEvent}},
		{"JSON Lines", []byte(string(bare) + "\n" + string(event) + "\n" + string(other) + "\n"), wantIDs(portscan, spambot, s3), []Shape{ShapeFinding, ShapeEvent, ShapeFinding}},
		{"concatenated pretty JSON", append(append(append([]byte{}, pretty...), pretty...), pretty...), wantIDs(portscan, portscan, portscan), []Shape{ShapeFinding, ShapeFinding, ShapeFinding}},
		{"concatenated on one line", []byte(string(bare) + string(other)), wantIDs(portscan, s3), []Shape{ShapeFinding, ShapeFinding}},
		{"byte order mark and CRLF", []byte("\xef\xbb\xbf" + string(bare) + "\r\n" + string(other) + "\r\n"), wantIDs(portscan, s3), []Shape{ShapeFinding, ShapeFinding}},
		{"JSON text sequence (RFC 7464)", []byte("\x1e" + string(bare) + "\n\x1e" + string(other) + "\n"), wantIDs(portscan, s3), []Shape{ShapeFinding, ShapeFinding}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, errs := ParseBytes("in", tt.input)
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if len(fs) != len(tt.ids) {
				t.Fatalf("got %d findings, want %d", len(fs), len(tt.ids))
			}
			for i, f := range fs {
				if f.ID != tt.ids[i] || f.Origin.Shape != tt.shapes[i] {
					t.Errorf("[%d] id %s shape %s, want %s %s", i, f.ID, f.Origin.Shape, tt.ids[i], tt.shapes[i])
				}
				if !json.Valid(f.Event()) || !json.Valid(f.Raw) {
					t.Errorf("[%d] invalid Event or Raw", i)
				}
			}
		})
	}

	// The CLI's PascalCase finding reads the same as the wire's camelCase.
	fs, _ := ParseBytes("cli", cli)
	wire, _ := ParseBytes("wire", bare)
	a, b := fs[0], wire[0]
	if a.Key() != b.Key() || a.Severity != b.Severity || a.Service.Count != b.Service.Count ||
		a.Resource.InstanceDetails.InstanceID != b.Resource.InstanceDetails.InstanceID ||
		a.Service.Action.NetworkConnectionAction.RemoteIPDetails.IP() != b.Service.Action.NetworkConnectionAction.RemoteIPDetails.IP() {
		t.Error("CLI finding differs from the wire finding")
	}
	if !bytes.Contains(a.Event(), []byte(`"accountId"`)) || bytes.Contains(a.Event(), []byte(`"AccountId"`)) {
		t.Error("CLI finding's event is not in camelCase")
	}
	if !bytes.Contains(a.Raw, []byte(`"AccountId"`)) {
		t.Error("CLI finding's Raw is not the original PascalCase")
	}
	if sa, _ := a.Sample(); !sa {
		t.Error("additionalInfo kept its keys: the CLI sample must still be a sample")
	}
}

// TestPositions checks the line:column errors point at.
func TestPositions(t *testing.T) {
	good := string(compact(t, readTestFile(t, "Recon_EC2_Portscan__elastic.json")))
	tests := []struct {
		name       string
		input      string
		findings   int
		wantErrs   []string // substrings, in order
		notFinding bool
	}{
		{"malformed JSON", "{\n  \"id\": \"x\",\n  \"type\" \"y\"\n}\n", 0, []string{"in:3:10: malformed JSON: invalid character '\"' after object key"}, false},
		{"trailing comma", "{\"a\":1,}", 0, []string{"in:1:8: malformed JSON"}, false},
		{"CloudTrail event", string(compact(t, readTestFile(t, "non-finding-events/AWS_API_Call_via_CloudTrail__sumologic.json"))), 0, []string{`in:1:1: not a GuardDuty finding: an aws.guardduty event of detail-type "AWS API Call via CloudTrail"`}, true},
		{"event of another source", `{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{}}`, 0, []string{`not a GuardDuty finding: an EventBridge event from source "aws.ec2"`}, true},
		{"unrelated object", `{"hello":"world"}`, 0, []string{"in:1:1: not a GuardDuty finding"}, true},
		{"finding without type", `{"id":"a","accountId":"1","region":"r","severity":2}`, 0, []string{`finding "a" lacks type`}, false},
		{"finding without severity", `{"id":"a","type":"t","accountId":"1","region":"r"}`, 0, []string{`finding "a" has no severity`}, false},
		{"severity out of range", `{"id":"a","type":"t","accountId":"1","region":"r","severity":11}`, 0, []string{"outside GuardDuty's 0–10"}, false},
		{"severity as a string", `{"id":"a","type":"t","accountId":"1","region":"r","severity":"8"}`, 0, []string{"in:1:51: field severity: a JSON string where a number was expected"}, false},
		{"event whose detail is not an object", `{"source":"aws.guardduty","detail-type":"GuardDuty Finding","detail":[]}`, 0, []string{"has no detail object"}, false},
		{"top-level string", `"finding"`, 0, []string{`in:1:1: invalid character "\"" looking for the beginning of a JSON object`}, false},
		{"empty", "", 0, []string{"in:1:1: empty input: no findings"}, false},
		{"white space only", " \n\t\n", 0, []string{"empty input"}, false},
		{"truncated", good[:len(good)/2], 0, []string{"in:1:" + fmt.Sprint(len(good)/2+1) + ": unexpected end of record: the record starting at 1:1 is truncated"}, false},
		{"empty list", `[]`, 0, []string{"empty list"}, false},
		{"list with a scalar", `[` + good + `, 5]`, 1, []string{"(element 2): list element is not a JSON object"}, false},
		{"findings is not a list", `{"findings": 5}`, 0, []string{`"findings" is not a list`}, false},
		{"unbalanced record before a good one", "{\"a\": {\"b\"\n" + good + "\n}}\n", 1, []string{"in:1:1", "in:3:1: invalid character \"}\""}, false},
		{"bad record in the middle of a stream", good + "\n{\"id\": \n" + good + "\nnot json at all\n" + good + "\n", 3, []string{"in:3:1: unexpected end of record: the record starting at 2:1 is truncated", "in:4:1: invalid character \"n\""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, errs := ParseBytes("in", []byte(tt.input))
			if len(fs) != tt.findings {
				t.Errorf("got %d findings, want %d", len(fs), tt.findings)
			}
			if len(errs) != len(tt.wantErrs) {
				t.Fatalf("got errors %v, want %d", errs, len(tt.wantErrs))
			}
			for i, want := range tt.wantErrs {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i], want)
				}
				var re *RecordError
				if !errors.As(errs[i], &re) {
					t.Errorf("error %d is %T, want *RecordError", i, errs[i])
				} else if re.NotFinding != tt.notFinding {
					t.Errorf("NotFinding = %v", re.NotFinding)
				}
			}
		})
	}
}

// TestWarnings: a wrong type in a field decisions don't rest on is a
// warning, not a lost finding.
func TestWarnings(t *testing.T) {
	in := `{"id":"a","type":"Recon:EC2/Portscan","accountId":"1","region":"r","severity":2,"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-1","tags":"oops"}}}`
	fs, errs := ParseBytes("in", []byte(in))
	if len(errs) > 0 || len(fs) != 1 {
		t.Fatalf("errors %v", errs)
	}
	if len(fs[0].Warnings) != 1 || !strings.Contains(fs[0].Warnings[0], "resource.instanceDetails.tags") {
		t.Errorf("warnings = %q", fs[0].Warnings)
	}
	if fs[0].Resource.InstanceDetails.InstanceID != "i-1" {
		t.Error("the rest of the finding was not read")
	}
}

// TestHostileInput: bounded memory, clear errors, no panic.
func TestHostileInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 10<<20)
	for i := range garbage {
		garbage[i] = byte(rng.IntN(256))
	}
	tests := []struct {
		name    string
		input   io.Reader
		limits  Limits
		want    string
		atLeast int // errors
	}{
		{"10 MB of random bytes", bytes.NewReader(garbage), DefaultLimits, "", 1},
		{"deeply nested arrays", strings.NewReader(strings.Repeat("[", 1_000_000)), DefaultLimits, "nested deeper than 128 levels", 1},
		{"deeply nested objects", strings.NewReader(strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000)), DefaultLimits, "nested deeper than 128 levels", 1},
		{"record over the size limit", strings.NewReader(`{"id":"` + strings.Repeat("x", 5000) + `"}` + "\n" + `{"x":1}`), Limits{MaxRecordBytes: 1000}, "larger than 1000 bytes", 2},
		{"unterminated string", strings.NewReader(`{"id":"` + strings.Repeat("x", 100000)), DefaultLimits, "truncated", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := NewReaderLimits("in", tt.input, tt.limits)
			var errs []error
			for i := 0; ; i++ {
				if i > 1<<20 {
					t.Fatal("reader does not end")
				}
				_, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					var re *RecordError
					if !errors.As(err, &re) {
						t.Fatalf("fatal error %v", err)
					}
					errs = append(errs, err)
				}
			}
			if len(errs) < tt.atLeast {
				t.Fatalf("got %d errors, want at least %d", len(errs), tt.atLeast)
			}
			if tt.want != "" && !strings.Contains(errs[0].Error(), tt.want) {
				t.Errorf("first error %q, want %q", errs[0], tt.want)
			}
		})
	}
}

// FuzzParse: no input makes the parser panic, and whatever it accepts has a
// valid event and raw JSON.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"Recon_EC2_Portscan__elastic.json", "Backdoor_EC2_Spambot__o7conseils.json", "partial/AttackSequence_IAM_CompromisedCredentials__panther.json", "non-finding-events/AWS_API_Call_via_CloudTrail__sumologic.json"} {
		f.Add(readTestFile(f, name))
	}
	f.Add([]byte(`{"findings":[{"id":"a","type":"t","accountId":"1","region":"r","severity":1}]}`))
	f.Add([]byte(`{"Findings":[{"AccountId":"1","SchemaVersion":"2.0","Id":"a","Type":"t","Region":"r","Severity":1}]}`))
	f.Add([]byte("[{}, 1, \"x\"]\n{\"a\":"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, errs := ParseBytes("fuzz", data)
		for _, fd := range fs {
			if !json.Valid(fd.Event()) || !json.Valid(fd.Raw) {
				t.Fatalf("invalid event or raw for %q", data)
			}
			_ = fd.Resources()
			_, _ = fd.Sample()
			_ = fd.TypeName()
		}
		for _, err := range errs {
			var re *RecordError
			if !errors.As(err, &re) || re.Line < 1 || re.Column < 1 {
				t.Fatalf("error without a position: %v", err)
			}
		}
	})
}
