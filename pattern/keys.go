package pattern

import (
	"encoding/binary"
	"math/bits"
	"strings"
)

// An object on a referenced path is read key by key, and most of its keys
// name nothing (GuardDuty findings have ~70 such keys per event), so finding
// a key's child is on the hot path. keyTable files every descendant of a
// path node under its dotted name ("b" and "b.c" under a, since EventBridge
// reads {"a":{"b.c":1}} as a.b.c), so a key is looked up once, whole, with
// no search for dots, and never needs splitting. Names never contain a dot
// (patterns' paths are split on dots), so a dotted name is one path.
//
// A key is looked up by its first 16 bytes as two words, zero padded, and
// its length: for the keys of at most 16 bytes (90% of them) equal words
// and length mean equal names, with no byte comparison.
type keyTable struct {
	// lens has bit l set when a name is l bytes long (l < 63), bit 63 when
	// one is longer: most keys are rejected by their length alone.
	lens  uint64
	shift uint8 // 64 - log2(len(slots))
	mask  uint64
	slots []keySlot // open addressing, linear probing, at most half full
}

type keySlot struct {
	w0, w1 uint64 // the name's first 16 bytes, zero padded
	n      int    // the name's length, or -1 for an empty slot
	name   string
	node   *pathNode
}

// keyMul is the multiplier of the key hash (an odd constant with well mixed
// bits: the fractional part of the golden ratio).
const keyMul = 0x9E3779B97F4A7C15

func keyHash(w0, w1 uint64, n int) uint64 {
	return (w0 ^ bits.RotateLeft64(w1, 29) ^ uint64(n)<<56) * keyMul
}

// keyWords returns the first 16 bytes of s as two little-endian words, zero
// padded.
func keyWords(s string) (w0, w1 uint64) {
	for k := 0; k < 16 && k < len(s); k++ {
		if k < 8 {
			w0 |= uint64(s[k]) << (8 * k)
		} else {
			w1 |= uint64(s[k]) << (8 * (k - 8))
		}
	}
	return w0, w1
}

func lenBit(n int) uint64 { return 1 << min(n, 63) }

// buildKeyTable returns the table of n's descendants, or nil when n has no
// children.
func buildKeyTable(n *pathNode) *keyTable {
	if len(n.children) == 0 {
		return nil
	}
	var names []string
	var nodes []*pathNode
	var walk func(prefix string, n *pathNode)
	walk = func(prefix string, n *pathNode) {
		for name, c := range n.children {
			names = append(names, prefix+name)
			nodes = append(nodes, c)
			walk(prefix+name+".", c)
		}
	}
	walk("", n)
	size := 4
	for size < 2*len(names) {
		size *= 2
	}
	t := &keyTable{shift: uint8(64 - bits.TrailingZeros(uint(size))), mask: uint64(size - 1)}
	t.slots = make([]keySlot, size)
	for k := range t.slots {
		t.slots[k].n = -1
	}
	for k, name := range names {
		t.lens |= lenBit(len(name))
		w0, w1 := keyWords(name)
		h := keyHash(w0, w1, len(name)) >> t.shift
		for t.slots[h].n >= 0 {
			h = (h + 1) & t.mask
		}
		t.slots[h] = keySlot{w0: w0, w1: w1, n: len(name), name: strings.Clone(name), node: nodes[k]}
	}
	return t
}

// find returns the node named by a key of length n ≤ 16 whose bytes are
// the words w0 and w1 (zero padded), or nil.
func (t *keyTable) find(w0, w1 uint64, n int) *pathNode {
	if t.lens&lenBit(n) == 0 { // also every key of an empty table

		return nil
	}
	h := keyHash(w0, w1, n) >> t.shift
	for {
		s := &t.slots[h&t.mask]
		if s.n == n && s.w0 == w0 && s.w1 == w1 {
			return s.node
		}
		if s.n < 0 {
			return nil
		}
		h++
	}
}

// lookup returns the node named by the key b[i:i+l], or nil.
func (t *keyTable) lookup(b []byte, i, l int) *pathNode {
	if l > 16 || i+16 > len(b) {
		return t.findKey(b[i : i+l])
	}
	var w0, w1 uint64
	if l <= 8 {
		w0 = load64(b, i) & (1<<(8*l) - 1)
	} else {
		w0, w1 = load64(b, i), load64(b, i+8)&(1<<(8*(l-8))-1)
	}
	return t.find(w0, w1, l)
}

// findKey returns the node named by key (any length), or nil.
func (t *keyTable) findKey(key []byte) *pathNode {
	var w0, w1 uint64
	if len(key) >= 16 {
		w0, w1 = binary.LittleEndian.Uint64(key), binary.LittleEndian.Uint64(key[8:])
	} else {
		w0, w1 = keyWords(bytesToString(key))
	}
	h := keyHash(w0, w1, len(key)) >> t.shift
	for {
		s := &t.slots[h&t.mask]
		if s.n == len(key) && s.w0 == w0 && s.w1 == w1 && equalStr(key, s.name) {
			return s.node
		}
		if s.n < 0 {
			return nil
		}
		h++
	}
}
