package pattern

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// strSpecial marks the bytes a string's scan stops at: the bitmap's bits.
var strSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// naiveMasks is the bitmap specialMasks must produce, byte by byte.
func naiveMasks(b []byte) []uint64 {
	m := make([]uint64, len(b)/64+1)
	for p, c := range b {
		if strSpecial[c] {
			m[p/64] |= 1 << (p % 64)
		}
	}
	m[len(b)/64] |= 1 << (len(b) % 64)
	return m
}

// checkClassifiers checks specialMasks, with the SIMD classifier where
// there is one and with the portable one, and nextSpecial from every
// offset, against the byte loop.
func checkClassifiers(t *testing.T, b []byte) {
	t.Helper()
	want := naiveMasks(b)
	defer setSIMD(setSIMD(0))
	for _, level := range simdLevels() {
		setSIMD(level)
		// reused buffers with stale bits and bytes must be overwritten
		dst := bytes.Repeat([]byte{0xff}, len(b)+padBytes)
		got := specialMasks(b, []uint64{^uint64(0), ^uint64(0)}, dst)
		if !slices.Equal(got, want) {
			t.Fatalf("classifier %d: specialMasks(%q) = %x, want %x", level, b, got, want)
		}
		if wantDst := append(slices.Clone(b), make([]byte, padBytes)...); !bytes.Equal(dst, wantDst) {
			t.Fatalf("classifier %d: the padded copy of %q is %q", level, b, dst)
		}
	}
	next := len(b)
	for i := len(b); i >= 0; i-- {
		if i < len(b) && strSpecial[b[i]] {
			next = i
		}
		if got := nextSpecial(want, i); got != next {
			t.Fatalf("nextSpecial(%q, %d) = %d, want %d", b, i, got, next)
		}
	}
}

// TestClassify puts every byte value at every position of buffers of
// every length up to 200 (three blocks and a tail), over random and
// adversarial fillers.
func TestClassify(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fillers := []byte{0x00, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0x9f, 0xa0, 0xa2, 0xdc, 0xff, 'a'}
	for n := range 200 {
		b := make([]byte, n)
		for trial := range 4 {
			for k := range b {
				if trial%2 == 0 {
					b[k] = byte(r.IntN(256))
				} else {
					b[k] = fillers[r.IntN(len(fillers))]
				}
			}
			checkClassifiers(t, b)
			for v := range 256 {
				if n == 0 {
					break
				}
				p := r.IntN(n)
				old := b[p]
				b[p] = byte(v)
				checkClassifiers(t, b)
				b[p] = old
			}
		}
	}
}

func FuzzClassify(f *testing.F) {
	f.Add([]byte(`{"a":"b\"c\\d\u0001"}`))
	f.Add(make([]byte, 130))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkClassifiers(t, b)
	})
}

// TestMain runs the whole package, the fuzzers too, on the portable
// classifier when PATTERN_SIMD=0 is set (PATTERN_SIMD=0 go test).
func TestMain(m *testing.M) {
	if v := os.Getenv("PATTERN_SIMD"); v != "" {
		level, err := strconv.Atoi(v)
		if err != nil {
			panic("PATTERN_SIMD: " + err.Error())
		}
		setSIMD(level)
	}
	os.Exit(m.Run())
}

// TestOtherClassifiers runs the conformance table, the bundled events and
// the comparison with the reference scanner on each classifier other than
// the one in use, so that a plain go test checks them all. The scanner is
// the same code whatever the classifier (which TestClassify compares
// exhaustively), so a quarter of the reference mutations are enough.
func TestOtherClassifiers(t *testing.T) {
	defer setSIMD(setSIMD(0))
	for _, level := range simdLevels()[1:] {
		setSIMD(level)
		t.Run(fmt.Sprint("level", level), func(t *testing.T) {
			t.Run("conformance", TestConformance)
			t.Run("bench-rules", TestBenchRulesAgree)
			t.Run("scan-reference", func(t *testing.T) { checkScanReference(t, 4) })
		})
	}
}

// TestDigits checks the word-at-a-time digit run against a byte loop, for
// every byte value after runs of every length, the event ending anywhere
// in the padded copy.
func TestDigits(t *testing.T) {
	for n := 0; n < 12; n++ {
		for v := range 256 {
			for pad := 0; pad < 10; pad++ {
				b := []byte(strings.Repeat("7", n) + string([]byte{byte(v)}) + strings.Repeat("0", pad))
				want := 0
				for want < len(b) && isDigit(b[want]) {
					want++
				}
				padded := append(slices.Clone(b), make([]byte, padBytes)...)
				if got := digitsAt(padded[:len(b)], 0); got != want {
					t.Fatalf("digitsAt(%q) = %d, want %d", b, got, want)
				}
			}
		}
	}
}
