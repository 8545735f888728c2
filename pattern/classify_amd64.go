package pattern

import "unsafe"

// The assembly classifiers (classify_amd64.s) write the bitmaps of blocks
// 64-byte blocks at b to masks. SSE2 is part of amd64; AVX2 is used when
// the CPU and the operating system support it.
//
//go:noescape
func classifySSE2(b *byte, blocks int, masks *uint64)

//go:noescape
func classifyAVX2(b *byte, blocks int, masks *uint64)

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

// hasAVX2 reports whether AVX2 instructions may be used: the CPU has them
// and the operating system saves the YMM registers (OSXSAVE, and XCR0's SSE
// and AVX state bits).
func hasAVX2() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

// simdLevel selects the classifier: 2 AVX2, 1 SSE2, 0 the portable one.
// Tests lower it to run everything on each.
var simdLevel = func() int {
	if hasAVX2() {
		return 2
	}
	return 1
}()

// maxSIMD is the best level this CPU supports.
var maxSIMD = simdLevel

// classify writes the bitmap of b (a multiple of 64 bytes long) to masks.
func classify(b []byte, masks []uint64) {
	blocks := len(b) / 64
	if blocks == 0 {
		return
	}
	_ = masks[blocks-1]
	switch simdLevel {
	case 2:
		classifyAVX2(unsafe.SliceData(b), blocks, unsafe.SliceData(masks))
	case 1:
		classifySSE2(unsafe.SliceData(b), blocks, unsafe.SliceData(masks))
	default:
		classifyGeneric(b, masks)
	}
}

// simdLevels lists the classifiers this CPU can run, best first (for
// tests).
func simdLevels() []int {
	var l []int
	for k := maxSIMD; k >= 0; k-- {
		l = append(l, k)
	}
	return l
}

// setSIMD selects a classifier level (for tests); it returns the previous
// one.
func setSIMD(level int) int {
	old := simdLevel
	simdLevel = min(level, maxSIMD)
	return old
}
