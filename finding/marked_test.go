package finding

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var markedCases = []string{
	`{"sample": true}`, `{"sample":true}`, ` {"sample" : true } `, `{"Sample": true}`, `{"SAMPLE": "TRUE"}`,
	`{"sample": " true "}`, `{"sample": "true "}`, `{"sample": false}`, `{"sample": true, "sample": false}`,
	`{"sample": false, "sample": true}`, `{"sample": true, "sample": null}`, `{"sample": null}`,
	`{"value": "{\"sample\":true}"}`, `{"value": "{\"sample\":\"true\"}"}`, `{"value": "{\"Sample\":true}"}`,
	`{"value": "{\"sample\":false}", "sample": false}`, `{"value": "{}", "type": "default"}`,
	`{"value": "not json sample"}`, `{"value": {"sample": true}}`, `{"VALUE": "{\"sample\":true}"}`,
	`{"value": "{\"sample\":true} x"}`, `{"value": "{\"s\\u0061mple\":true}"}`, `{"value": "{\"ſample\":true}"}`,
	`{"s\u0061mple": true}`, `{"ſample": true}`, `{"ſample": true, "sample": false}`, `{"sample": true,}`,
	`{"sample": true} x`, `{"sample": tru}`, `{"sample": true`, `["sample", true]`, `"sample"`, `null`,
	`{"a": [1, 2.5, -0, 1e5, 1E-5, {"b": null}], "sample": true}`, `{"a": 01, "sample": true}`,
	`{"a": 1., "sample": true}`, `{"a": "\x01", "sample": true}`, `{"a": "\u00e9\u00ff", "sample": true}`,
	`{"a": "` + "\xff\xfe" + `", "sample": true}`, `{"a": "\q", "sample": true}`, `{"a": "\u12g4", "sample": true}`,
	`{"sample": true, "value": "{\"sample\":false}"}`, `{"unusual": {"hoursOfDay": [1513609200000]}, "sample": true}`,
	strings.Repeat("[", 600) + strings.Repeat("]", 600), `{"x": ` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `, "sample": true}`,
	`{"sample": "True"}`, `{"sample": 1}`, `{"sample": "yes"}`, `{"samples": true}`, `{"sample"  :  true  ,  "x":{}}`,
}

// markedRef is marked as it was before markedFast: the same quick
// rejection, then encoding/json.
func markedRef(b []byte) bool {
	return len(b) > 0 && bytes.Contains(b, []byte("sample")) && markedSlow(b)
}

func TestMarkedFastAgrees(t *testing.T) {
	cases := append([]string(nil), markedCases...)
	files, _ := filepath.Glob(filepath.Join(findingsDir, "*.json"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fs, _ := ParseBytes(p, data)
		for _, f := range fs {
			cases = append(cases, string(f.Service.AdditionalInfo))
		}
	}
	for _, c := range cases {
		if got, want := marked([]byte(c)), markedRef([]byte(c)); got != want {
			t.Errorf("marked(%q) = %v, encoding/json says %v", c, got, want)
		}
	}
}

func FuzzMarked(f *testing.F) {
	for _, c := range markedCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := marked(b), markedRef(b); got != want {
			t.Errorf("marked(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}
