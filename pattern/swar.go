package pattern

import (
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

// swarK holds special's constants in a variable, so that the loops load
// them into registers once instead of rematerialising five 64-bit
// immediates for every word.
var swarK = [5]uint64{lsb * 0x02, lsb * '\\', lsb * 0x21, lsb, msb}

// stringStop returns the index of the first quote, backslash or control
// byte at or after i, or len(b).
func stringStop(b []byte, i int) int {
	k := &swarK
	c02, c5c, c21, c01, c80 := k[0], k[1], k[2], k[3], k[4]
	for ; i+8 <= len(b); i += 8 {
		x := load64(b, i)
		if m := ((x ^ c02 - c21) | (x ^ c5c - c01)) &^ x & c80; m != 0 {
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

// shortStr returns the index of the closing quote of the string that starts
// at b[i] ('"') when it is within the next 16 bytes with no backslash or
// control byte before it, else -1; dot reports a '.' in the string. It is
// the fast path for keys and short values, which are most of an event's
// strings.
func shortStr(b []byte, i int) (j int, dot bool) {
	if i+17 > len(b) {
		return -1, false
	}
	x := load64(b, i+1)
	d := hasZero(x ^ (lsb * '.'))
	m := special(x)
	j = i + 1
	if m == 0 {
		x = load64(b, i+9)
		if m = special(x); m == 0 {
			return -1, false
		}
		d |= hasZero(x^(lsb*'.')) & (m - 1)
		j = i + 9
	} else {
		d &= m - 1
	}
	if j += bits.TrailingZeros64(m) >> 3; b[j] != '"' {
		return -1, false
	}
	return j, d != 0
}

// hasZero returns a mask with the high bit set in each zero byte of x, exact
// up to the first.
func hasZero(x uint64) uint64 { return (x - lsb) &^ x & msb }

// strEnd returns the offset after the closing quote of a string whose body
// starts at b[i], when no backslash or control byte comes before the quote
// and the quote is at least 8 bytes before the end of b; else -1, and the
// caller reads the string the long way. It is small enough to be inlined
// into the scanning loops, which saves a call per string.
func strEnd(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := special(load64(b, i)); m != 0 {
			if i += bits.TrailingZeros64(m) >> 3; b[i] == '"' {
				return i + 1
			}
			return -1
		}
	}
	return -1
}
