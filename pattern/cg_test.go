package pattern

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
)

// TestCallgrindLoop matches the bundled events PATTERN_CG_EVENTS times with
// the PATTERN_CG_RULES benchmark rules, for counting instructions per event
// under valgrind (see README.md); it is skipped otherwise. Only the loop
// calls MatchAppend: compiling and warming up go through refMatch, so
// --toggle-collect='*MatchAppend' counts matching alone.
func TestCallgrindLoop(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PATTERN_CG_EVENTS"))
	if n == 0 {
		t.Skip("PATTERN_CG_EVENTS not set")
	}
	rules, _ := strconv.Atoi(os.Getenv("PATTERN_CG_RULES"))
	_, events := loadEvents(t)
	m := benchMatcher(t, rules)
	runtime.GC()
	for _, e := range events { // compile, warm the pool
		if _, err := refMatch(m, e); err != nil {
			t.Fatal(err)
		}
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no collection in the loop
	dst := make([]string, 0, rules)
	for i := 0; i < n; i++ {
		dst, _ = m.MatchAppend(dst[:0], events[i%len(events)])
	}
}
