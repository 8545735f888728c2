package pattern

import "math/bits"

// Strings are nine tenths of an event's bytes, and the scanner needs one
// thing from them: where each one ends, that is the next quote, backslash
// or control byte. Rather than searching every string separately, the
// whole event is first classified in one pass, 64 bytes at a time, into a
// bitmap of those bytes (on amd64 with SSE2 or AVX instructions, 16 bytes
// at a time; elsewhere eight at a time in plain Go), and the scanner then finds
// the end of a string with a shift and a trailing-zero count. The pass has
// no branches that depend on the data, so it runs at a few bytes per cycle
// whatever the event looks like, and the scanner's per-string work no
// longer grows with the string's length.

// specialMasks returns the bitmap of event b in masks (reused when large
// enough): bit p%64 of masks[p/64] is set when b[p] is a quote, a
// backslash or a byte below 0x20, and bit len(b) is set too, so that a
// search for the next such byte always ends, at len(b) at the latest. It
// also copies b to dst, which must be padBytes longer than b, and zeros
// the padding: the classifier has each block in registers anyway, so the
// scanner's padded copy costs a store per 16 bytes instead of a memmove.
func specialMasks(b []byte, masks []uint64, dst []byte) []uint64 {
	n := len(b)/64 + 1
	if cap(masks) < n {
		masks = make([]uint64, n, n+n/4)
	}
	masks = masks[:n]
	full := len(b) &^ 63
	dst = dst[:len(b)+padBytes]
	classify(b[:full], masks, dst)
	var m uint64
	if rem := len(b) - full; rem > 0 {
		// The last bytes are classified as a block of their own, padded
		// with zeros, whose bits are then dropped.
		var tail [64]byte
		copy(tail[:], b[full:])
		classify(tail[:], masks[n-1:], dst[full:full+64])
		m = masks[n-1] & (1<<rem - 1)
	}
	clear(dst[len(b):])
	masks[n-1] = m | 1<<(len(b)-full)
	return masks
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// classifyGeneric writes the bitmap of b (a multiple of 64 bytes long) to
// masks, eight bytes at a time.
//
// word returns a byte with bit k set when byte k of x is a quote, a
// backslash or below 0x20. Every bit is exact: for each byte v, with
// v7 = v&0x7f, (v7^0x22)+0x7f has its high bit clear only when v7 is 0x22,
// (v7^0x5c)+0x7f only when v7 is 0x5c and v7+0x60 only when v7 < 0x20, with
// no carry between bytes; or-ing in v itself excludes bytes ≥ 0x80. The
// multiplication gathers the eight high bits into the top byte.
func classifyGeneric(b []byte, masks []uint64) {
	// The constants are read from memory once, so that they stay in
	// registers instead of being rebuilt for every word.
	k := &classifyK
	c7f, c22, c5c, c60, c80 := k[0], k[1], k[2], k[3], k[4]
	word := func(x uint64) uint64 {
		x7 := x & c7f
		f := c80 &^ (((x7^c22)+c7f)&((x7^c5c)+c7f)&(x7+c60) | x)
		return f * 0x0002040810204081 >> 56
	}
	for k := 0; k+64 <= len(b) && k>>6 < len(masks); k += 64 {
		masks[k>>6] = word(load64(b, k)) | word(load64(b, k+8))<<8 |
			word(load64(b, k+16))<<16 | word(load64(b, k+24))<<24 |
			word(load64(b, k+32))<<32 | word(load64(b, k+40))<<40 |
			word(load64(b, k+48))<<48 | word(load64(b, k+56))<<56
	}
}

var classifyK = [5]uint64{lsb * 0x7f, lsb * '"', lsb * '\\', lsb * 0x60, msb}

// nextSpecial returns the offset of the first quote, backslash or control
// byte at or after i (≤ len(b)) in the event whose bitmap is masks, or
// len(b).
func nextSpecial(masks []uint64, i int) int {
	k := i >> 6
	if m := masks[k] >> (uint(i) & 63); m != 0 {
		return i + bits.TrailingZeros64(m)
	}
	for {
		k++
		if m := masks[k]; m != 0 {
			return k<<6 + bits.TrailingZeros64(m)
		}
	}
}
