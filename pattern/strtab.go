package pattern

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// strTable is a read-only map from strings to clauses, built once per
// snapshot, for the value look-ups on the hot path (exact strings, folded
// strings, number literals, prefixes and suffixes, anything-but lists). A
// Go map costs ~150 instructions per look-up of a short string here; this
// costs ~40: a table of at most two strings is searched in order, a larger
// one is hashed (wyhash's mixing, seeded at random per table so that no
// choice of pattern values makes long probe chains) with open addressing
// at most half full.
type strTable[V any] struct {
	keys  []string
	vals  []V
	slots []strSlot // nil for a table searched in order
	seed  uint64
	shift uint8
}

type strSlot struct {
	h   uint64
	idx int32 // 1 + index in keys; 0: empty
}

// smallTable is the most strings searched in order.
const smallTable = 2

// newStrTable returns the table of m's entries (nil for none).
func newStrTable[V any](m map[string]V) *strTable[V] {
	if len(m) == 0 {
		return nil
	}
	t := &strTable[V]{}
	for k, v := range m {
		t.keys = append(t.keys, k)
		t.vals = append(t.vals, v)
	}
	if len(m) <= smallTable {
		return t
	}
	size := 8
	for size < 2*len(m) {
		size *= 2
	}
	t.slots = make([]strSlot, size)
	t.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	t.seed = rand.Uint64()
	for k, key := range t.keys {
		h := hashStr(t.seed, []byte(key))
		i := h >> t.shift
		for t.slots[i].idx != 0 {
			i = (i + 1) & uint64(size-1)
		}
		t.slots[i] = strSlot{h: h, idx: int32(k + 1)}
	}
	return t
}

// get returns the value filed under s.
func (t *strTable[V]) get(s []byte) (v V, ok bool) {
	if t.slots == nil {
		for k, key := range t.keys {
			if len(key) == len(s) && equalStr(s, key) {
				return t.vals[k], true
			}
		}
		return v, false
	}
	h := hashStr(t.seed, s)
	mask := uint64(len(t.slots) - 1)
	for i := h >> t.shift; ; i = (i + 1) & mask {
		e := t.slots[i]
		if e.idx == 0 {
			return v, false
		}
		if e.h == h && equalStr(s, t.keys[e.idx-1]) {
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
