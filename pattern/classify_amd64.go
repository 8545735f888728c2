package pattern

import "unsafe"

// classifySSE2 writes the bitmaps of blocks 64-byte blocks at b to masks
// (classify_amd64.s).
//
//go:noescape
func classifySSE2(b *byte, blocks int, masks *uint64)

// useSIMD selects the assembly classifier; tests turn it off to run
// everything on the portable one too.
var useSIMD = true

// classify writes the bitmap of b (a multiple of 64 bytes long) to masks.
func classify(b []byte, masks []uint64) {
	blocks := len(b) / 64
	if blocks == 0 {
		return
	}
	if !useSIMD {
		classifyGeneric(b, masks)
		return
	}
	_ = masks[blocks-1]
	classifySSE2(unsafe.SliceData(b), blocks, unsafe.SliceData(masks))
}

// setSIMD turns the assembly classifier on or off (for tests).
func setSIMD(on bool) { useSIMD = on }
