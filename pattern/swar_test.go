package pattern

import (
	"math/rand/v2"
	"testing"
)

// TestStringStop checks the SWAR search against a byte loop: every byte
// value at every position of a word, over random and adversarial fillers.
func TestStringStop(t *testing.T) {
	naive := func(b []byte, i int) int {
		for ; i < len(b); i++ {
			if strSpecial[b[i]] {
				return i
			}
		}
		return i
	}
	r := rand.New(rand.NewPCG(1, 2))
	fillers := []byte{0x00, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0xa0, 0xa1, 0xa2, 0xdc, 0xff, 'a'}
	b := make([]byte, 24)
	for trial := range 20000 {
		for k := range b {
			if trial%2 == 0 {
				b[k] = byte(r.IntN(256))
			} else {
				b[k] = fillers[r.IntN(len(fillers))]
			}
		}
		for v := range 256 {
			p := r.IntN(len(b))
			old := b[p]
			b[p] = byte(v)
			for _, start := range []int{0, 1, 7, 8, 13} {
				if got, want := stringStop(b, start), naive(b, start); got != want {
					t.Fatalf("stringStop(%x, %d) = %d, want %d", b, start, got, want)
				}
			}
			b[p] = old
		}
	}
}
