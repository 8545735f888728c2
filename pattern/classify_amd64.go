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

// classifyAVX is classifySSE2 in the VEX encoding (classify_amd64.s), for
// CPUs with AVX.
//
//go:noescape
func classifyAVX(b *byte, blocks int, masks *uint64, dst *byte)

// cpuHasAVX reports whether the CPU and the OS support AVX
// (classify_amd64.s).
func cpuHasAVX() bool

// bestSIMD is the best classifier level the CPU has.
var bestSIMD = func() int {
	if cpuHasAVX() {
		return 2
	}
	return 1
}()

// simdLevel selects the classifier: 2 AVX, 1 SSE2, 0 the portable one. It
// is set once, at start-up; tests change it to run everything on each.
var simdLevel = bestSIMD

// classify writes the bitmap of b (a multiple of 64 bytes long) to masks
// and copies b to dst.
func classify(b []byte, masks []uint64, dst []byte) {
	blocks := len(b) / 64
	if blocks == 0 {
		return
	}
	_ = masks[blocks-1]
	_ = dst[len(b)-1]
	switch simdLevel {
	case 0:
		classifyGeneric(b, masks)
		copy(dst, b)
	case 1:
		classifySSE2(unsafe.SliceData(b), blocks, unsafe.SliceData(masks), unsafe.SliceData(dst))
	default:
		classifyAVX(unsafe.SliceData(b), blocks, unsafe.SliceData(masks), unsafe.SliceData(dst))
	}
}

// simdLevels lists the classifiers the CPU has, best first (for tests).
func simdLevels() []int {
	levels := []int{}
	for l := bestSIMD; l >= 0; l-- {
		levels = append(levels, l)
	}
	return levels
}

// setSIMD selects a classifier level (for tests), at most the best the
// CPU has; it returns the previous one.
func setSIMD(level int) int {
	old := simdLevel
	simdLevel = min(max(level, 0), bestSIMD)
	return old
}
