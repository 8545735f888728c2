package pattern

import (
	"encoding/binary"
	"math/bits"
)

// Strings are most of an event's bytes, so the scanner looks for the end of
// a string eight bytes at a time (SWAR): one 64-bit load and a few
// arithmetic operations find the first quote, backslash or control byte.

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special returns a mask with the high bit set in each byte of x that is a
// quote, a backslash or below 0x20. Only the lowest set bit is exact, which
// is the only one used.
func special(x uint64) uint64 {
	q := x ^ (lsb * '"')
	s := x ^ (lsb * '\\')
	return ((q-lsb)&^q | (s-lsb)&^s | (x-lsb*0x20)&^x) & msb
}

// stringStop returns the index of the first quote, backslash or control
// byte at or after i, or len(b).
func stringStop(b []byte, i int) int {
	for ; i+16 <= len(b); i += 16 {
		if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		if m := special(binary.LittleEndian.Uint64(b[i+8:])); m != 0 {
			return i + 8 + bits.TrailingZeros64(m)/8
		}
	}
	for ; i+8 <= len(b); i += 8 {
		if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if strSpecial[b[i]] {
			return i
		}
	}
	return i
}
