package pattern

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"strings"
)

// An object on a referenced path is read key by key (a GuardDuty finding has
// ~70 such keys with the 1,000 benchmark rules, ~40 of which name nothing),
// so finding a key's child is on the hot path. keyTable files every descendant of a
// path node under its dotted name ("b" and "b.c" under a, since EventBridge
// reads {"a":{"b.c":1}} as a.b.c), so a key is looked up once, whole, with
// no search for dots, and never needs splitting. Names never contain a dot
// (patterns' paths are split on dots), so a dotted name is one path. Only
// descendants up to maxDotted levels down are filed, so that a deep path
// cannot make its nodes' tables grow with the cube of its depth; a table
// with deeper descendants (deep) lets every key through its filters and
// splits a dotted key it does not hold at its first dot.
//
// A key is looked up by its first 16 bytes as two words, zero padded, and
// its length: for the keys of at most 16 bytes (90% of them) equal words
// and length mean equal names, with no byte comparison.
//
// The table is a perfect hash when one can be found (almost always: the
// build tries random multipliers, on a table from twice to sixteen times
// the names' number): every name has its own slot, so a look-up is one hash
// and one slot, hit or miss. Otherwise it probes linearly.
type keyTable struct {
	// lens has bit l set when a name is l bytes long (l < 63), bit 63 when
	// one is longer: most keys are rejected by their length alone.
	lens uint64
	// first[c] has bit (l+1)%32 set for each name l bytes long that
	// starts with c (for an empty name, the quote that closes it): the
	// first test of a key read inline, exact for names under 31 bytes.
	// (l+1 because that is what the skimmer has at hand: the offset of
	// the closing quote minus that of the opening one.)
	first   [256]uint32
	mul     uint64 // odd multiplier of the hash
	shift   uint8  // 64 - log2(len(slots))
	perfect bool   // no two names share a slot
	deep    bool   // some descendants are more than maxDotted levels down
	mask    uint64
	slots   []keySlot
}

type keySlot struct {
	w0, w1 uint64 // the name's first 16 bytes, zero padded
	n      int    // the name's length, or -1 for an empty slot
	name   string
	node   *pathNode
}

func (t *keyTable) hash(w0, w1 uint64, n int) uint64 {
	return (w0 ^ bits.RotateLeft64(w1, 29) ^ uint64(n)<<56) * t.mul >> (t.shift & 63)
}

// keyMasks[l] keeps the first l bytes of two words.
var keyMasks = func() (m [17][2]uint64) {
	for l := range m {
		for k := 0; k < l; k++ {
			m[l][k/8] |= 0xff << (8 * (k % 8))
		}
	}
	return m
}()

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

// maxDotted is how many levels down a table files descendants.
const maxDotted = 8

// may reports whether some name is l bytes long and starts with c (or, for
// l ≥ 31, may be).
func (t *keyTable) may(l int, c byte) bool {
	return t.first[c]>>(uint(l+1)&31)&1 != 0
}

// buildKeyTable returns the table of n's descendants, or nil when n has no
// children.
func buildKeyTable(n *pathNode) *keyTable {
	if len(n.children) == 0 {
		return nil
	}
	var names []string
	var nodes []*pathNode
	t := &keyTable{}
	var walk func(prefix string, n *pathNode, level int)
	walk = func(prefix string, n *pathNode, level int) {
		if level > maxDotted {
			t.deep = true
			return
		}
		for name, c := range n.children {
			names = append(names, prefix+name)
			nodes = append(nodes, c)
			walk(prefix+name+".", c, level+1)
		}
	}
	walk("", n, 1)
	for _, name := range names {
		t.lens |= lenBit(len(name))
		c := byte('"')
		if name != "" {
			c = name[0]
		}
		t.first[c] |= 1 << (uint(len(name)+1) & 31)
	}
	if t.deep { // any key may be a dotted path to a deep descendant
		t.lens = ^uint64(0)
		for c := range t.first {
			t.first[c] = ^uint32(0)
		}
	}
	size := 4
	for size < 2*len(names) {
		size *= 2
	}
	r := rand.New(rand.NewPCG(uint64(len(names)), 0x6b6579)) // reproducible layouts
	for tries := 0; ; tries++ {
		if tries > 0 && tries%64 == 0 && size < 16*len(names) {
			size *= 2
		}
		t.shift = uint8(64 - bits.TrailingZeros(uint(size)))
		t.mask = uint64(size - 1)
		t.mul = r.Uint64() | 1
		t.perfect = tries < 64*4
		t.slots = make([]keySlot, size)
		for k := range t.slots {
			t.slots[k].n = -1
		}
		ok := true
		for k, name := range names {
			w0, w1 := keyWords(name)
			h := t.hash(w0, w1, len(name))
			if t.slots[h].n >= 0 {
				if t.perfect {
					ok = false
					break
				}
				for t.slots[h].n >= 0 {
					h = (h + 1) & t.mask
				}
			}
			t.slots[h] = keySlot{w0: w0, w1: w1, n: len(name), name: strings.Clone(name), node: nodes[k]}
		}
		if ok {
			return t
		}
	}
}

// lookup returns the node named by the key b[i:i+l], or nil.
func (t *keyTable) lookup(b []byte, i, l int) *pathNode {
	if n, ok := t.slot(b, i, l); ok {
		return n
	}
	return t.findKey(b[i : i+l])
}

// slot looks the key b[i:i+l] up in the one slot its hash names: the node
// it names, or nil, and true when that slot decides; false when the key is
// longer than 16 bytes or the table needs findKey (it probes, or files
// descendants deeper than its keys). The assembly skimmer does the same
// (skim_amd64.s).
func (t *keyTable) slot(b []byte, i, l int) (*pathNode, bool) {
	if l > 16 {
		return nil, false
	}
	// b is the scanner's padded copy of the event: sixteen bytes can be
	// read from any offset in it.
	km := &keyMasks[l]
	w0, w1 := load64At(b, i)&km[0], load64At(b, i+8)&km[1] // the key, zero padded
	s := &t.slots[t.hash(w0, w1, l)]
	if s.n == l && s.w0 == w0 && s.w1 == w1 {
		return s.node, true
	}
	if (t.perfect || s.n < 0) && !t.deep {
		return nil, true
	}
	return nil, false
}

// findKey returns the node named by key (any length), or nil.
func (t *keyTable) findKey(key []byte) *pathNode {
	if n := t.probe(key); n != nil || !t.deep {
		return n
	}
	// A dotted key may lead deeper than the table files: its first
	// segment is a child, and the rest is looked up in that child's table.
	d := bytes.IndexByte(key, '.')
	if d < 0 {
		return nil
	}
	c := t.probe(key[:d])
	if c == nil || c.keys == nil {
		return nil
	}
	return c.keys.findKey(key[d+1:])
}

// probe returns the node filed under key, or nil.
func (t *keyTable) probe(key []byte) *pathNode {
	var w0, w1 uint64
	if len(key) >= 16 {
		w0, w1 = binary.LittleEndian.Uint64(key), binary.LittleEndian.Uint64(key[8:])
	} else {
		w0, w1 = keyWords(bytesToString(key))
	}
	h := t.hash(w0, w1, len(key))
	for {
		s := &t.slots[h]
		if s.n == len(key) && s.w0 == w0 && s.w1 == w1 && equalStr(key, s.name) {
			return s.node
		}
		if s.n < 0 || t.perfect {
			return nil
		}
		h = (h + 1) & t.mask
	}
}
