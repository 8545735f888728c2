package pattern

import (
	"encoding/binary"
	"math/bits"
)

// Strings are most of an event's bytes, so the scanner looks for the end of
// a string eight bytes at a time (SWAR): one 64-bit load and seven
// arithmetic operations find the first quote, backslash or control byte.

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special returns a mask with the high bit set in each byte of x that is a
// quote, a backslash or below 0x20. Only the lowest set bit is exact, which
// is the only one used.
//
// x^0x02 maps the quote (0x22) to 0x20 and keeps control bytes below 0x20,
// so one "below 0x21" test finds both; x^'\\' is zero at a backslash. A byte
// is flagged when the subtraction borrows out of it and its high bit was
// clear (the XORs keep the high bit, so x's is tested); borrows only run
// upwards from a flagged byte, so the lowest flag is exact.
func special(x uint64) uint64 {
	y := x ^ (lsb * 0x02)
	s := x ^ (lsb * '\\')
	return ((y - lsb*0x21) | (s - lsb)) &^ x & msb
}

// stringStop returns the index of the first quote, backslash or control
// byte at or after i, or len(b).
func stringStop(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if strSpecial[b[i]] {
			return i
		}
	}
	return i
}
