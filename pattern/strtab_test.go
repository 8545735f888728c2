package pattern

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestStrTable compares strTable with a map, on random strings of every
// length up to 40 and on strings that share their first and last eight
// bytes (which the word hash cannot tell apart, so the table must switch
// to hashing every byte).
func TestStrTable(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	randStr := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab\\\x00\xff"[r.IntN(5)]
		}
		return string(b)
	}
	check := func(name string, keys []string, probes []string) {
		m := map[string]int{}
		for i, k := range keys {
			m[k] = i
		}
		tab := newStrTable(m)
		for _, p := range append(probes, keys...) {
			want, wok := m[p]
			got, ok := tab.get([]byte(p))
			if ok != wok || got != want {
				t.Fatalf("%s: get(%q) = %d, %v; want %d, %v", name, p, got, ok, want, wok)
			}
		}
	}
	for n := 1; n < 200; n += 7 {
		var keys, probes []string
		for range n {
			keys = append(keys, randStr(r.IntN(41)))
			probes = append(probes, randStr(r.IntN(41)))
		}
		check(fmt.Sprint("random ", n), keys, probes)
	}
	var same, probes []string
	for i := range 100 {
		same = append(same, "GeneratedFinding"+strings.Repeat("x", i%5)+fmt.Sprintf("%03dTagValue", i))
		probes = append(probes, "GeneratedFinding"+strings.Repeat("x", i%5)+fmt.Sprintf("%03dTagValue", i+100))
	}
	check("shared words", same, probes)
	m := map[string]int{}
	for i, k := range same {
		m[k] = i
	}
	if !newStrTable(m).full {
		t.Errorf("100 strings with the same first and last words: the table should hash every byte")
	}
}

// TestNumIndex compares the numeric range index with testing every range,
// on random sets of open, closed and unbounded ranges and on the numbers
// at and around their ends.
func TestNumIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pick := func() int64 {
		switch r.IntN(8) {
		case 0:
			return qMin
		case 1:
			return qMax
		}
		return int64(r.IntN(40)) - 20
	}
	for trial := range 2000 {
		var ranges []rangeEntry
		for c := range 1 + r.IntN(30) {
			lo, hi := pick(), pick()
			if lo > hi {
				lo, hi = hi, lo
			}
			ranges = append(ranges, rangeEntry{r: numRange{lo: lo, hi: hi, loOpen: r.IntN(2) == 0, hiOpen: r.IntN(2) == 0}, clauses: clauseRefs{int32(c)}})
		}
		x := newNumIndex(ranges)
		var probes []int64
		for _, e := range ranges {
			for d := int64(-1); d <= 1; d++ {
				probes = append(probes, e.r.lo+d, e.r.hi+d)
			}
		}
		for _, q := range probes {
			var want, got []int32
			for _, e := range ranges {
				if e.r.contains(q) {
					want = append(want, e.clauses...)
				}
			}
			if x != nil {
				for n := x.segment(q) + x.size; n >= 1; n >>= 1 {
					got = append(got, x.nodes[n]...)
				}
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("trial %d: ranges %v: number %d in %v, want %v", trial, ranges, q, got, want)
			}
		}
	}
}
