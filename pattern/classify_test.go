package pattern

import (
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

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
	defer setSIMD(useSIMD)
	for _, simd := range []bool{true, false} {
		setSIMD(simd)
		// a reused buffer with stale bits must be overwritten
		got := specialMasks(b, []uint64{^uint64(0), ^uint64(0)})
		if !slices.Equal(got, want) {
			t.Fatalf("simd=%v: specialMasks(%q) = %x, want %x", simd && useSIMD, b, got, want)
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

// TestMain runs the whole package on the portable classifier when
// PATTERN_PORTABLE is set (the fuzzers too): PATTERN_PORTABLE=1 go test.
func TestMain(m *testing.M) {
	if os.Getenv("PATTERN_PORTABLE") != "" {
		setSIMD(false)
	}
	os.Exit(m.Run())
}

// TestPortableClassifier runs the conformance table, the bundled events and
// the comparison with the reference scanner on the portable classifier, so
// that a plain go test checks both.
func TestPortableClassifier(t *testing.T) {
	defer setSIMD(useSIMD)
	setSIMD(false)
	t.Run("conformance", TestConformance)
	t.Run("bench-rules", TestBenchRulesAgree)
	t.Run("scan-reference", TestScanReference)
}
