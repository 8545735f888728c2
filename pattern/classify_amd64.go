package pattern

import "unsafe"

// classifySSE2 writes the bitmaps of blocks 64-byte blocks at b to masks
// (classify_amd64.s). SSE2 is part of amd64, so it needs no CPU check.
//
// An AVX2 version (32 bytes per instruction, chosen by CPUID) was measured
// too: it ran fewer instructions but took ~350 ns more per event than this
// one on the development machine (AMD EPYC), so it was not kept.
//
//go:noescape
func classifySSE2(b *byte, blocks int, masks *uint64, dst *byte)

// simdLevel selects the classifier: 1 SSE2, 0 the portable one (tests set
// it to run everything on each).
var simdLevel = 1

// classify writes the bitmap of b (a multiple of 64 bytes long) to masks
// and copies b to dst.
func classify(b []byte, masks []uint64, dst []byte) {
	blocks := len(b) / 64
	if blocks == 0 {
		return
	}
	_ = masks[blocks-1]
	_ = dst[len(b)-1]
	if simdLevel == 0 {
		classifyGeneric(b, masks)
		copy(dst, b)
		return
	}
	classifySSE2(unsafe.SliceData(b), blocks, unsafe.SliceData(masks), unsafe.SliceData(dst))
}

// simdLevels lists the classifiers, best first (for tests).
func simdLevels() []int { return []int{1, 0} }

// setSIMD selects a classifier level (for tests); it returns the previous
// one.
func setSIMD(level int) int {
	old := simdLevel
	simdLevel = min(max(level, 0), 1)
	return old
}
