package pattern

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"unicode/utf8"
)

// The fuzzers check that no pattern and no event makes the engine panic,
// hang or misbehave: every parse either succeeds or returns an *Error, every
// event either matches or returns an error wrapping ErrInvalidEvent, and the
// matcher agrees with the naive matcher.

func fuzzSeeds() (patterns, events []string) {
	for _, c := range conformanceCases() {
		patterns = append(patterns, c.pattern)
		if c.event != "" {
			events = append(events, c.event)
		}
	}
	return patterns, events
}

func FuzzParse(f *testing.F) {
	pats, _ := fuzzSeeds()
	for _, s := range pats {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse(src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Msg == "" {
				t.Fatalf("Parse error %T %v is not a *Error", err, err)
			}
			return
		}
		// A valid pattern's canonical form parses to the same meaning.
		q, err := ParseOptions{MaxSize: -1}.Parse([]byte(p.String()))
		if err != nil {
			t.Fatalf("String() %q does not parse: %v", p.String(), err)
		}
		if !slices.Equal(p.Fields(), q.Fields()) {
			t.Fatalf("fields differ: %v vs %v", p.Fields(), q.Fields())
		}
	})
}

func FuzzMatch(f *testing.F) {
	pats, evs := fuzzSeeds()
	for i, e := range evs {
		f.Add([]byte(pats[i%len(pats)]), []byte(e))
	}
	_, bundled := loadEvents(f)
	for i, e := range bundled[:4] {
		f.Add([]byte(pats[i]), e)
	}
	f.Fuzz(func(t *testing.T, src, event []byte) {
		p, err := Parse(src)
		if err != nil {
			return
		}
		got, err := p.Match(event)
		doc, nerr := naiveDecode(event)
		if err != nil {
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("event error %v does not wrap ErrInvalidEvent", err)
			}
			if nerr == nil {
				t.Fatalf("matcher rejects an event encoding/json accepts: %v", err)
			}
			return
		}
		if nerr != nil {
			// encoding/json is stricter only about invalid UTF-8 escapes
			// and depth; the scanner accepts those events.
			return
		}
		// encoding/json rewrites invalid UTF-8, which the matcher compares
		// byte for byte on both sides; and see hasDuplicateKeys.
		if !utf8.Valid(src) || !utf8.Valid(event) || hasDuplicateKeys(event) {
			return
		}
		if want := naiveMatch(p, doc); got != want {
			t.Fatalf("pattern %s\nevent %s\nmatcher %v, naive %v", p, event, got, want)
		}
	})
}

// FuzzMatcher adds several patterns to one Matcher, removes one, and checks
// the result against each pattern on its own.
func FuzzMatcher(f *testing.F) {
	pats, evs := fuzzSeeds()
	for i := 0; i+2 < len(evs); i += 7 {
		f.Add([]byte(pats[i]), []byte(pats[i+1]), []byte(pats[i+2]), []byte(evs[i]))
	}
	f.Fuzz(func(t *testing.T, a, b, c, event []byte) {
		m := NewMatcher()
		var want []string
		for i, src := range [][]byte{a, b, c} {
			id := fmt.Sprint(i)
			p, err := Parse(src)
			if err != nil {
				continue
			}
			if err := m.AddPattern(id, p); err != nil {
				t.Fatal(err)
			}
			if i == 1 {
				continue // removed below
			}
			ok, err := p.Match(event)
			if err != nil {
				return
			}
			if ok {
				want = append(want, id)
			}
		}
		m.Remove("1")
		got, err := m.Match(event)
		if err != nil {
			return
		}
		if !slices.Equal(got, want) {
			t.Fatalf("matcher %v, one by one %v", got, want)
		}
	})
}
