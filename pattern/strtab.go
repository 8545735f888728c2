package pattern

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// strTable is a read-only map from strings to values, built once per
// snapshot, for the value look-ups on the hot path (exact strings, folded
// strings, number literals, prefixes and suffixes, anything-but lists, the
// wildcard index). A Go map costs ~150 instructions per look-up of a short
// string here; this costs ~40.
//
// A string is described by its length and two words: its first and last
// eight bytes (overlapping when shorter than 16; for fewer than eight
// bytes, its first and last four, or its bytes), which for a string of at
// most 16 bytes are all of it, so that equal words and length are equal
// strings. Filters of (length, first byte) and (length, last byte) pairs
// reject most strings first; the slots, at most half full, are found by a
// hash of the words, with a random multiplier per table. Should many strings share their
// words (long ones that differ only in the middle), which would make long
// probe chains, the table hashes every byte (wyhash, seeded at random)
// instead.
type strTable[V any] struct {
	keys []string
	vals []V
	strFilter
	slots []strSlot
	mul   uint64 // odd multiplier of the word hash
	seed  uint64 // seed of the full hash
	full  bool   // hash every byte
	shift uint8
}

type strSlot struct {
	w0, w1 uint64
	n      int32
	idx    int32 // 1 + index in keys; 0: empty
}

// strWords returns the length-and-words description of s.
func strWords(s []byte) (w0, w1 uint64) {
	switch n := len(s); {
	case n >= 8:
		return binary.LittleEndian.Uint64(s), binary.LittleEndian.Uint64(s[n-8:])
	case n >= 4:
		return uint64(binary.LittleEndian.Uint32(s)) | uint64(binary.LittleEndian.Uint32(s[n-4:]))<<32, 0
	case n > 0:
		return uint64(s[0]) | uint64(s[n>>1])<<8 | uint64(s[n-1])<<16, 0
	}
	return 0, 0
}

func (t *strTable[V]) hash(s []byte, w0, w1 uint64) uint64 {
	if t.full {
		return hashStr(t.seed, s) >> (t.shift & 63)
	}
	return t.wordHash(len(s), w0, w1)
}

func (t *strTable[V]) wordHash(n int, w0, w1 uint64) uint64 {
	return (w0 ^ bits.RotateLeft64(w1, 31) ^ uint64(n)<<53) * t.mul >> (t.shift & 63)
}

// maxRun is the longest run of occupied slots the word hash may make
// before a table hashes every byte instead. A look-up, hit or miss, probes
// at most the run its hash falls in, so this bounds the work for any
// value, whatever the event.
const maxRun = 16

// newStrTable returns the table of m's entries (nil for none).
func newStrTable[V any](m map[string]V) *strTable[V] {
	if len(m) == 0 {
		return nil
	}
	t := &strTable[V]{}
	for k, v := range m {
		t.keys = append(t.keys, k)
		t.vals = append(t.vals, v)
		f, l := filterBits(stringBytes(k))
		t.filter[f>>6] |= 1 << (f & 63)
		t.last[l>>6] |= 1 << (l & 63)
	}
	size := 4
	for size < 2*len(m) {
		size *= 2
	}
	t.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	t.seed = rand.Uint64()
	// A few multipliers are tried before hashing every byte: a long chain
	// may be bad luck rather than strings that share their words.
	for try := 0; try < 5; try++ {
		t.mul, t.full = rand.Uint64()|1, try == 4
		t.slots = make([]strSlot, size)
		for k, key := range t.keys {
			b := []byte(key)
			w0, w1 := strWords(b)
			i := t.hash(b, w0, w1)
			for t.slots[i].idx != 0 {
				i = (i + 1) & uint64(size-1)
			}
			t.slots[i] = strSlot{w0: w0, w1: w1, n: int32(len(key)), idx: int32(k + 1)}
		}
		if t.longestRun() <= maxRun {
			break
		}
	}
	return t
}

// longestRun returns the length of the longest run of occupied slots
// (which may wrap around the end).
func (t *strTable[V]) longestRun() int {
	longest, run := 0, 0
	for k := 0; k < 2*len(t.slots); k++ { // twice round, for a run that wraps
		if t.slots[k%len(t.slots)].idx == 0 {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	return min(longest, len(t.slots))
}

// strFilter is a strTable's filters. It is not generic, so that its
// methods can be inlined.
type strFilter struct {
	filter [4]uint64 // the bit of (length, first byte) of each key (filterBits)
	last   [4]uint64 // the bit of (length, last byte) of each key
}

// may reports whether some key has s's length and first byte, and some
// key its length and last byte: the filters get starts with.
func (t *strFilter) may(s []byte) bool {
	f, g := filterBits(s)
	return t.hasBits(f, g)
}

// hasBits reports whether bits f and g (filterBits) are set. It is inlined:
// matchString tests a field's exact values here, as most values fail.
func (t *strFilter) hasBits(f, g uint) bool {
	return t.filter[f>>6]>>(f&63)&(t.last[g>>6]>>(g&63))&1 != 0
}

// filterBits returns the bits of strFilter.filter and strFilter.last for
// s: (7 times its length plus its first, or last, byte) mod 256, with 0
// for the bytes of an empty string.
func filterBits(s []byte) (f, g uint) {
	var c, z uint
	if n := len(s); n > 0 {
		c, z = uint(s[0]), uint(s[n-1])
	}
	l := uint(len(s)) * 7
	return (l + c) & 255, (l + z) & 255
}

// get returns the value filed under s.
func (t *strTable[V]) get(s []byte) (v V, ok bool) {
	if !t.strFilter.may(s) {
		return v, false
	}
	return t.find(s)
}

// find is get once s has passed the filters.
func (t *strTable[V]) find(s []byte) (v V, ok bool) {
	n := len(s)
	w0, w1 := strWords(s)
	var i uint64
	if t.full {
		i = hashStr(t.seed, s) >> (t.shift & 63)
	} else {
		i = t.wordHash(n, w0, w1)
	}
	slots := t.slots
	mask := uint64(len(slots) - 1)
	for ; ; i = (i + 1) & mask {
		e := &slots[i]
		if e.idx == 0 {
			return v, false
		}
		// Equal words and length are equal strings up to 16 bytes; beyond,
		// the bytes between the first and the last eight are compared too.
		if e.w0 == w0 && e.w1 == w1 && int(e.n) == n && (n <= 16 || equalMid(s, t.keys[e.idx-1])) {
			return t.vals[e.idx-1], true
		}
	}
}

// has reports whether s is in the table.
func (t *strTable[V]) has(s []byte) bool {
	_, ok := t.get(s)
	return ok
}

const (
	wyp0 = 0xa0761d6478bd642f
	wyp1 = 0xe7037ed1a0b428db
)

func wymix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashStr is wyhash (final version 4) of s: every byte counts, in a few
// multiplications.
func hashStr(seed uint64, s []byte) uint64 {
	n := len(s)
	var a, b uint64
	switch {
	case n >= 4 && n <= 16:
		k := n >> 3 << 2
		a = uint64(binary.LittleEndian.Uint32(s))<<32 | uint64(binary.LittleEndian.Uint32(s[k:]))
		b = uint64(binary.LittleEndian.Uint32(s[n-4:]))<<32 | uint64(binary.LittleEndian.Uint32(s[n-4-k:]))
	case n > 0 && n < 4:
		a = uint64(s[0])<<16 | uint64(s[n>>1])<<8 | uint64(s[n-1])
	case n > 16:
		i := 0
		for ; n-i > 16; i += 16 {
			seed = wymix(binary.LittleEndian.Uint64(s[i:])^wyp1, binary.LittleEndian.Uint64(s[i+8:])^seed)
		}
		a = binary.LittleEndian.Uint64(s[n-16:])
		b = binary.LittleEndian.Uint64(s[n-8:])
	}
	a ^= wyp1
	b ^= seed
	a, b = bits.Mul64(a, b)
	return wymix(a^wyp0^uint64(n), b^wyp1)
}

// equalStr reports whether s and key are equal. Values and operands are
// mostly short, and for those a few word comparisons beat a call to the
// runtime's memequal (~40 instructions here).
func equalStr(s []byte, key string) bool {
	n := len(s)
	if n != len(key) {
		return false
	}
	k := stringBytes(key)
	switch {
	case n >= 8 && n <= 16:
		return binary.LittleEndian.Uint64(s) == binary.LittleEndian.Uint64(k) &&
			binary.LittleEndian.Uint64(s[n-8:]) == binary.LittleEndian.Uint64(k[n-8:])
	case n >= 4 && n < 8:
		return binary.LittleEndian.Uint32(s) == binary.LittleEndian.Uint32(k) &&
			binary.LittleEndian.Uint32(s[n-4:]) == binary.LittleEndian.Uint32(k[n-4:])
	case n < 4:
		for i := range n {
			if s[i] != k[i] {
				return false
			}
		}
		return true
	case n <= 64:
		// The last word first: values of one field often share a
		// prefix (GeneratedFindingInstaceTagValue1, …Value2).
		if binary.LittleEndian.Uint64(s[n-8:]) != binary.LittleEndian.Uint64(k[n-8:]) {
			return false
		}
		for i := 0; i < n-8; i += 8 {
			if binary.LittleEndian.Uint64(s[i:]) != binary.LittleEndian.Uint64(k[i:]) {
				return false
			}
		}
		return true
	}
	return string(s) == key
}

// equalMid reports whether s[8:len(s)-8] and key[8:len(key)-8] are equal,
// for strings of the same length, longer than 16 bytes (whose first and
// last eight bytes are known to be equal).
func equalMid(s []byte, key string) bool {
	k := stringBytes(key)
	n := len(s)
	if n > len(k) {
		return false
	}
	for i := 8; i < n-8; i += 8 {
		if binary.LittleEndian.Uint64(s[i:]) != binary.LittleEndian.Uint64(k[i:]) {
			return false
		}
	}
	return true
}
