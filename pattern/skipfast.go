package pattern

import (
	"math/bits"
	"unsafe"
)

// padBytes is how many zero bytes follow the event in the scanner's copy
// of it (state.pad). The fast paths read up to eight bytes past any offset
// they look at without checking the length: the zeros end every string
// (the bitmap has a bit at len(b)), number and literal there, and are no
// byte a valid event can have next, so reading them sends the scanner to
// its checked path, which reports the end of input.
const padBytes = 64

// fastDepth is how deeply skipFast nests before it leaves the value to
// skip: its bit stack of open containers is one word.
const fastDepth = 63

// byteAt returns b[i] without a bounds check; i may be up to padBytes-1
// past len(b) (state.b is backed by state.pad).
func byteAt(b []byte, i int) byte {
	return *(*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}

// load32At returns the four bytes at b[i] as a little-endian word without a
// bounds check (i+4 may be up to padBytes past len(b)).
func load32At(b []byte, i int) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}

// load64At is load32At for eight bytes.
func load64At(b []byte, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}

// nextSpecialAt is nextSpecial without bounds checks: the bit at len(b)
// ends every search inside masks.
func nextSpecialAt(masks []uint64, i int) int {
	p := unsafe.Pointer(unsafe.SliceData(masks))
	k := i >> 6
	if m := *(*uint64)(unsafe.Add(p, k<<3)) >> (uint(i) & 63); m != 0 {
		return i + bits.TrailingZeros64(m)
	}
	for {
		k++
		if m := *(*uint64)(unsafe.Add(p, k<<3)); m != 0 {
			return k<<6 + bits.TrailingZeros64(m)
		}
	}
}

// Literal words as load32At reads them.
const (
	wordTrue = uint32('t') | uint32('r')<<8 | uint32('u')<<16 | uint32('e')<<24
	wordNull = uint32('n') | uint32('u')<<8 | uint32('l')<<16 | uint32('l')<<24
	wordFals = uint32('f') | uint32('a')<<8 | uint32('l')<<16 | uint32('s')<<24
)

// skipValue validates the value at b[i], which no pattern refers to, and
// returns the offset after it, or -1 with st.err set. depth is the nesting
// of the enclosing object or array.
//
// Valid events take skipFast, which has no error messages to keep: any
// byte it does not expect (an error, but also nesting deeper than its bit
// stack) makes it give up, and skip reads the same value again from its
// start, the checked way, with EventBridge's message at the same offset as
// always. Nothing is recorded while skipping, so reading a value twice
// changes nothing but the time.
func (st *state) skipValue(i, depth int) int {
	if depth+fastDepth < maxEventDepth {
		if j := st.skipFast(i); j >= 0 {
			return j
		}
	}
	return st.skip(i, depth)
}

// skipFast validates the value at b[i] and returns the offset after it, or
// -1 when the value is invalid or nests more than fastDepth deep (then
// skip must read it). It reads at most a few bytes past len(b), into the
// padding, whose zeros stop every loop.
//
// It is one loop over the tokens, as skip is, with what skip keeps in
// memory held in registers: the bit stack of open containers (bit d set
// for an object at relative depth d) is one word, and no load is checked
// against the length.
func (st *state) skipFast(i int) int {
	b, masks := st.b, st.masks
	var kinds uint64
	d := 0
	var c byte
value:
	c = byteAt(b, i)
	switch {
	case c == '"':
		if j := nextSpecialAt(masks, i+1); byteAt(b, j) == '"' {
			i = j + 1
		} else if i = st.stringEndFast(i); i < 0 {
			return -1
		}
	case c == '{':
		if d++; d > fastDepth {
			return -1
		}
		kinds |= 1 << (d & 63)
		i++
		if c = byteAt(b, i); isWS(c) {
			i = skipWSAt(b, i+1)
			c = byteAt(b, i)
		}
		if c == '"' {
			goto key
		}
		if c == '}' {
			i++
			d--
			goto after
		}
		return -1
	case c == '[':
		if d++; d > fastDepth {
			return -1
		}
		kinds &^= 1 << (d & 63)
		i++
		if c = byteAt(b, i); c == ']' {
			i++
			d--
			goto after
		}
		if isWS(c) {
			i = skipWSAt(b, i+1)
			if byteAt(b, i) == ']' {
				i++
				d--
				goto after
			}
		}
		goto value
	case c == '-' || isDigit(c):
		if i = numberEndFast(b, i); i < 0 {
			return -1
		}
	case c == 't':
		if load32At(b, i) != wordTrue {
			return -1
		}
		i += 4
	case c == 'n':
		if load32At(b, i) != wordNull {
			return -1
		}
		i += 4
	case c == 'f':
		if load32At(b, i) != wordFals || byteAt(b, i+4) != 'e' {
			return -1
		}
		i += 5
	case isWS(c):
		i = skipWSAt(b, i+1)
		goto value
	default:
		return -1
	}
after: // a value has been read
	if d == 0 {
		return i // ≤ len(b): the padding's zeros end no value
	}
	c = byteAt(b, i)
	if kinds>>(d&63)&1 != 0 { // in an object
		if c == ',' {
			i++
			if c = byteAt(b, i); c == '"' {
				goto key
			}
			if isWS(c) {
				if i = skipWSAt(b, i+1); byteAt(b, i) == '"' {
					goto key
				}
			}
			return -1
		}
		if c == '}' {
			i++
			d--
			goto after
		}
	} else {
		if c == ',' {
			i++
			goto value
		}
		if c == ']' {
			i++
			d--
			goto after
		}
	}
	if isWS(c) {
		i = skipWSAt(b, i+1)
		goto after
	}
	return -1
key: // b[i] is the quote of a key
	i = nextSpecialAt(masks, i+1)
	if byteAt(b, i) != '"' {
		return -1 // an escape or an invalid key: rare, left to skip
	}
	i++
	if c = byteAt(b, i); c == ':' {
		i++
		goto value
	}
	if isWS(c) {
		if i = skipWSAt(b, i+1); byteAt(b, i) == ':' {
			i++
			goto value
		}
	}
	return -1
}

// skipWSAt returns the offset of the first byte at or after i that is not
// whitespace; the padding's zeros end it.
func skipWSAt(b []byte, i int) int {
	for isWS(byteAt(b, i)) {
		i++
	}
	return i
}

// stringEndFast returns the offset after the valid string at b[i] ('"'),
// or -1 if it is not one.
func (st *state) stringEndFast(i int) int {
	b := st.b
	j := nextSpecialAt(st.masks, i+1)
	for {
		switch byteAt(b, j) {
		case '"':
			return j + 1
		case '\\':
			n, ok := escapeLen(b, j)
			if !ok {
				return -1
			}
			j = nextSpecialAt(st.masks, j+n)
		default:
			return -1 // a control byte, or the end of the event
		}
	}
}

// numberEndFast returns the offset after the valid JSON number at b[i], or
// -1 if it is not one.
func numberEndFast(b []byte, i int) int {
	if byteAt(b, i) == '-' {
		i++
	}
	switch c := byteAt(b, i); {
	case c == '0':
		i++
	case isDigit(c):
		i = digitsAt(b, i+1)
	default:
		return -1
	}
	if byteAt(b, i) == '.' {
		if !isDigit(byteAt(b, i+1)) {
			return -1
		}
		i = digitsAt(b, i+2)
	}
	if c := byteAt(b, i); c == 'e' || c == 'E' {
		i++
		if c = byteAt(b, i); c == '+' || c == '-' {
			i++
		}
		if !isDigit(byteAt(b, i)) {
			return -1
		}
		i = digitsAt(b, i+1)
	}
	return i
}

// digitsAt returns the offset of the first byte at or after i that is not
// a digit, eight bytes at a time (most numbers in events are short, and
// this spares the mispredicted exit of a byte loop). b is the scanner's
// padded copy of the event: the padding's zeros end every run. Byte v of
// x^0x30… is below 10 for a digit; adding 0x76 sets the high bit of the
// others (or-ing in d for the bytes ≥ 0x80), with no carry between bytes.
func digitsAt(b []byte, i int) int {
	for {
		d := load64At(b, i) ^ lsb*'0'
		if nd := ((d & (lsb * 0x7f)) + lsb*0x76 | d) & msb; nd != 0 {
			return i + bits.TrailingZeros64(nd)>>3
		}
		i += 8
	}
}
