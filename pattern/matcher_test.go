package pattern

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

func TestMatcherAddRemoveReplace(t *testing.T) {
	ev := []byte(gdEvent)
	m := NewMatcher()
	if m.Len() != 0 {
		t.Fatal("new matcher not empty")
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.Add("tor", []byte(`{"detail":{"type":[{"wildcard":"*Tor*"}]}}`)))
	must(m.Add("high", []byte(`{"detail":{"severity":[{"numeric":[">=",7]}]}}`)))
	must(m.Add("recon", []byte(`{"detail":{"type":[{"prefix":"Recon:"}]}}`)))
	check := func(want ...string) {
		t.Helper()
		got, err := m.Match(ev)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("Match = %v, want %v", got, want)
		}
	}
	check("high", "tor")
	if m.Len() != 3 {
		t.Fatalf("Len = %d", m.Len())
	}
	// Re-adding an id replaces its pattern.
	must(m.Add("recon", []byte(`{"detail":{"type":[{"prefix":"Unauthorized"}]}}`)))
	check("high", "recon", "tor")
	if !m.Remove("tor") || m.Remove("tor") {
		t.Fatal("Remove should report true once")
	}
	check("high", "recon")
	// An invalid pattern is refused and changes nothing.
	if err := m.Add("bad", []byte(`{"a":"b"}`)); err == nil {
		t.Fatal("invalid pattern accepted")
	}
	check("high", "recon")
	m.Remove("high")
	m.Remove("recon")
	check()
	// Invalid event JSON is an error, never a panic.
	for _, e := range []string{``, `[]`, `{"a":}`, `{"a":"b"`, `{"a":1}x`, `"x"`, `{"a":tru}`, `{"a":"\x01"}`} {
		if _, err := m.Match([]byte(e)); err == nil {
			t.Errorf("event %q: no error", e)
		}
	}
}

func TestMatcherSortedIDs(t *testing.T) {
	m := NewMatcher()
	for i := 20; i > 0; i-- {
		if err := m.Add(fmt.Sprintf("r%02d", i), []byte(`{"source":["aws.guardduty"]}`)); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := m.Match([]byte(gdEvent))
	if len(got) != 20 || !slices.IsSorted(got) {
		t.Fatalf("got %v", got)
	}
}

// TestMatcherConcurrent matches from several goroutines while patterns are
// added and removed (run with -race).
func TestMatcherConcurrent(t *testing.T) {
	_, events := loadEvents(t)
	m := benchMatcher(t, 100)
	want := map[int][]string{}
	for i, e := range events {
		want[i], _ = m.Match(e)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dst []string
			for i := 0; i < 200; i++ {
				k := i % len(events)
				var err error
				dst, err = m.MatchAppend(dst[:0], events[k])
				if err != nil {
					t.Error(err)
					return
				}
				// Only the churned ids may differ.
				for _, id := range dst {
					if id >= "zz" {
						continue
					}
					if !slices.Contains(want[k], id) {
						t.Errorf("event %d: unexpected id %s", k, id)
						return
					}
				}
			}
		}()
	}
	for i := 0; i < 50; i++ {
		id := fmt.Sprintf("zz%d", i%5)
		if err := m.Add(id, []byte(`{"source":["aws.guardduty"]}`)); err != nil {
			t.Fatal(err)
		}
		m.Remove(fmt.Sprintf("zz%d", (i+2)%5))
	}
	wg.Wait()
}

func TestMatchAppendZeroAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	_, events := loadEvents(t)
	m := benchMatcher(t, 1000)
	dst := make([]string, 0, 64)
	for _, e := range events {
		dst, _ = m.MatchAppend(dst[:0], e)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, e := range events {
			dst, _ = m.MatchAppend(dst[:0], e)
		}
	})
	if allocs > 0 {
		t.Errorf("MatchAppend allocates %.1f times per %d events", allocs, len(events))
	}
}

func TestPatternFieldsAndString(t *testing.T) {
	p, err := Parse([]byte(`{ "detail": { "severity": [ { "numeric": [ ">=", 7 ] } ], "$or": [ {"type": [{"prefix": "A"}]}, {"resource.resourceType": ["Instance"]} ] }, "source": ["aws.guardduty"] }`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"detail.resource.resourceType", "detail.severity", "detail.type", "source"}
	if got := p.Fields(); !slices.Equal(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
	if got, want := p.String(), `{"detail":{"severity":[{"numeric":[">=",7]}],"$or":[{"type":[{"prefix":"A"}]},{"resource.resourceType":["Instance"]}]},"source":["aws.guardduty"]}`; got != want {
		t.Errorf("String = %s\nwant %s", got, want)
	}
}

func TestPatternSizeLimit(t *testing.T) {
	big := `{"k":["` + fmt.Sprintf("%02050d", 0) + `"]}`
	if _, err := Parse([]byte(big)); err == nil {
		t.Fatal("pattern over 2048 characters accepted")
	}
	if _, err := (ParseOptions{MaxSize: 4096}).Parse([]byte(big)); err != nil {
		t.Fatalf("raised quota: %v", err)
	}
	// Characters, not bytes: 2000 two-byte characters fit.
	multi := `{"k":["` + stringsRepeat("é", 2000) + `"]}`
	if _, err := Parse([]byte(multi)); err != nil {
		t.Fatalf("2000 two-byte characters: %v", err)
	}
}

func stringsRepeat(s string, n int) string {
	out := make([]byte, 0, len(s)*n)
	for i := 0; i < n; i++ {
		out = append(out, s...)
	}
	return string(out)
}
