package pattern

import (
	"fmt"
	"math/rand/v2"
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
