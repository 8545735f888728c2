package pattern

import (
	"strings"
	"testing"
	"time"
)

// TestDeepDottedKeys checks keys that address a path deeper than the key
// tables file (maxDotted levels), in every mix of nesting and dots, against
// the reference scanner; and that a pattern nested as deep as the size
// quota allows compiles quickly (the tables stay linear in its depth).
func TestDeepDottedKeys(t *testing.T) {
	segs := strings.Split("a.b.c.d.e.f.g.h.i.j.k.l", ".")
	pat := ""
	for _, s := range segs {
		pat += `{"` + s + `":`
	}
	pat += `["v"]` + strings.Repeat("}", len(segs))
	m := NewMatcher()
	if err := m.Add("p", []byte(pat)); err != nil {
		t.Fatal(err)
	}
	// event nests the segments, joining the runs between the cut points
	// with dots
	event := func(cuts []int) string {
		var b strings.Builder
		prev := 0
		for _, c := range append(cuts, len(segs)) {
			b.WriteString(`{"` + strings.Join(segs[prev:c], ".") + `":`)
			prev = c
		}
		b.WriteString(`"v"`)
		b.WriteString(strings.Repeat("}", len(cuts)+1))
		return b.String()
	}
	tried := 0
	for mask := 0; mask < 1<<(len(segs)-1); mask += 7 {
		var cuts []int
		for k := 1; k < len(segs); k++ {
			if mask>>(k-1)&1 != 0 {
				cuts = append(cuts, k)
			}
		}
		e := event(cuts)
		if d := sameAsReference(m, []byte(e)); d != "" {
			t.Fatalf("event %s: %s", e, d)
		}
		if got, _ := m.Match([]byte(e)); len(got) != 1 {
			t.Fatalf("event %s: matches %v, want [p]", e, got)
		}
		for _, wrong := range []string{strings.Replace(e, `"l"`, `"m"`, 1), strings.Replace(e, ".l", ".m", 1), strings.Replace(e, `"a`, `"z`, 1)} {
			if d := sameAsReference(m, []byte(wrong)); d != "" {
				t.Fatalf("event %s: %s", wrong, d)
			}
		}
		tried++
	}
	if tried < 100 {
		t.Fatalf("only %d events tried", tried)
	}

	deep := strings.Repeat(`{"a":`, 600) + `["v"]` + strings.Repeat("}", 600)
	start := time.Now()
	p, err := ParseOptions{MaxSize: -1}.Parse([]byte(deep))
	if err != nil {
		t.Fatal(err)
	}
	m = NewMatcher()
	m.AddPattern("deep", p)
	ev := strings.Repeat(`{"a":`, 600) + `"v"` + strings.Repeat("}", 600)
	if got, err := m.Match([]byte(ev)); err != nil || len(got) != 1 {
		t.Fatalf("600 levels: %v, %v", got, err)
	}
	if d := time.Since(start); d > 5*time.Second && !raceEnabled {
		t.Errorf("a pattern 600 levels deep took %v to compile and match", d)
	}
}
