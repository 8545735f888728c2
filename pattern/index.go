package pattern

import (
	"bytes"
	"math"
	"math/bits"
	"slices"
)

// Indexes that keep the cost of a value look-up independent of how many
// patterns name the field.

// ipKey is a CIDR block: the network address and its prefix length.
type ipKey struct {
	hi, lo uint64
	bits   uint8
	v4     bool
}

// ipTable finds every CIDR block (and exact address, a /32 or /128 block)
// containing an address: one map look-up per distinct prefix length.
type ipTable struct {
	lens4, lens6 []int
	m            map[ipKey]clauseRefs
}

func maskIP(a ipAddr, n int) ipAddr {
	if a.v4 {
		return ipAddr{lo: a.lo &^ (uint64(1)<<(32-n) - 1), v4: true}
	}
	switch {
	case n == 0:
		return ipAddr{}
	case n < 64:
		return ipAddr{hi: a.hi &^ (^uint64(0) >> n)}
	case n == 128:
		return a
	default:
		return ipAddr{hi: a.hi, lo: a.lo &^ (^uint64(0) >> (n - 64))}
	}
}

func prefixLen(r ipRange) int {
	if r.lo.v4 {
		return 32 - bits.Len64(r.lo.lo^r.hi.lo)
	}
	if h := r.lo.hi ^ r.hi.hi; h != 0 {
		return 64 - bits.Len64(h)
	}
	return 128 - bits.Len64(r.lo.lo^r.hi.lo)
}

func (t *ipTable) add(r ipRange, c int32) {
	if t.m == nil {
		t.m = map[ipKey]clauseRefs{}
	}
	n := prefixLen(r)
	k := ipKey{hi: r.lo.hi, lo: r.lo.lo, bits: uint8(n), v4: r.lo.v4}
	refs, ok := t.m[k]
	if !ok {
		if r.lo.v4 {
			t.lens4 = appendUnique(t.lens4, n)
		} else {
			t.lens6 = appendUnique(t.lens6, n)
		}
	}
	refs.add(c)
	t.m[k] = refs
}

func appendUnique(s []int, v int) []int {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func (st *state) matchIP(t *ipTable, a ipAddr) {
	lens := t.lens6
	if a.v4 {
		lens = t.lens4
	}
	for _, n := range lens {
		m := maskIP(a, n)
		if cs, ok := t.m[ipKey{hi: m.hi, lo: m.lo, bits: uint8(n), v4: a.v4}]; ok {
			st.markAll(cs)
		}
	}
}

// wildIndex finds the wildcards that may match a value without trying them
// all: a wildcard is filed under its literal start, else its literal end,
// else the first two bytes (or the byte) of its longest literal part, and is
// only tried when the value has that start, end or pair of bytes.
type wildIndex struct {
	entries []wildEntry
	gid     []int32 // entry → snapshot-wide id, for de-duplication
	pre     affixIdx
	suf     affixIdx
	pairs   map[uint16][]int32 // while building; then pairKeys and pairEnts
	pairSet []uint64           // bitmap of the keys of pairs
	// pairKeys are the keys of pairs, sorted, and pairEnts their entries
	pairKeys []uint16
	pairEnts [][]int32
	single   [256][]int32
	hasOne   bool
	// firstBytes lists the distinct first bytes of the pairs and single
	// bytes, when there are at most maxFirstBytes of them: the value is
	// then searched for each (bytes.IndexByte) instead of looked at byte
	// by byte.
	firstBytes []byte
	first      byteSet // the same bytes, as a set
	always     []int32
}

type affixIdx struct {
	lens []int
	m    map[string][]int32 // while building
	t    *strTable[[]int32]
}

func (a *affixIdx) add(s string, e int32) {
	if a.m == nil {
		a.m = map[string][]int32{}
	}
	if _, ok := a.m[s]; !ok {
		a.lens = appendUnique(a.lens, len(s))
	}
	a.m[s] = append(a.m[s], e)
}

// maxFirstBytes is the most distinct first bytes searched for one by one.
const maxFirstBytes = 3

func (w *wildIndex) finish() {
	w.pre.t, w.suf.t = newStrTable(w.pre.m), newStrTable(w.suf.m)
	var all []byte
	for c := range 256 {
		if len(w.single[c]) > 0 {
			all = append(all, byte(c))
		}
	}
	for k := range w.pairs {
		if !bytes.Contains(all, []byte{byte(k >> 8)}) {
			all = append(all, byte(k>>8))
		}
	}
	for _, c := range all {
		w.first.add(c)
	}
	for k := range w.pairs {
		w.pairKeys = append(w.pairKeys, k)
	}
	slices.Sort(w.pairKeys)
	for _, k := range w.pairKeys {
		w.pairEnts = append(w.pairEnts, w.pairs[k])
	}
	if len(all) <= maxFirstBytes {
		w.firstBytes = all
	}
}

func (w *wildIndex) add(wc *wildcard, c int32) {
	for i := range w.entries {
		if w.entries[i].w.key() == wc.key() {
			w.entries[i].clauses.add(c)
			return
		}
	}
	e := int32(len(w.entries))
	w.entries = append(w.entries, wildEntry{w: wc, clauses: clauseRefs{c}})
	first, last := wc.parts[0], wc.parts[len(wc.parts)-1]
	switch {
	case first != "":
		w.pre.add(first, e)
	case last != "":
		w.suf.add(last, e)
	default:
		longest := ""
		for _, p := range wc.parts {
			if len(p) > len(longest) {
				longest = p
			}
		}
		switch len(longest) {
		case 0:
			w.always = append(w.always, e)
		case 1:
			w.single[longest[0]] = append(w.single[longest[0]], e)
			w.hasOne = true
		default:
			if w.pairs == nil {
				w.pairs = map[uint16][]int32{}
				w.pairSet = make([]uint64, 1024)
			}
			k := uint16(longest[0])<<8 | uint16(longest[1])
			w.pairs[k] = append(w.pairs[k], e)
			w.pairSet[k/64] |= 1 << (k % 64)
		}
	}
}

func (st *state) matchWild(w *wildIndex, s []byte) {
	st.wildSeq++
	if st.wildSeq == 0 {
		clear(st.wildSeen)
		st.wildSeq = 1
	}
	for _, n := range w.pre.lens {
		if n <= len(s) {
			es, _ := w.pre.t.get(s[:n])
			for _, e := range es {
				st.tryWild(w, e, s)
			}
		}
	}
	for _, n := range w.suf.lens {
		if n <= len(s) {
			es, _ := w.suf.t.get(s[len(s)-n:])
			for _, e := range es {
				st.tryWild(w, e, s)
			}
		}
	}
	switch {
	case w.pairs == nil && !w.hasOne:
	case w.firstBytes != nil:
		for _, c := range w.firstBytes {
			for i := 0; i < len(s); i++ {
				j := bytes.IndexByte(s[i:], c)
				if j < 0 {
					break
				}
				i += j
				st.wildAt(w, s, i)
			}
		}
	default:
		for i := 0; i < len(s); i++ {
			if w.first.has(s[i]) {
				st.wildAt(w, s, i)
			}
		}
	}
	for _, e := range w.always {
		st.tryWild(w, e, s)
	}
}

// wildAt tries the wildcards filed under the byte or the pair of bytes at
// s[i].
func (st *state) wildAt(w *wildIndex, s []byte, i int) {
	if w.hasOne {
		for _, e := range w.single[s[i]] {
			st.tryWild(w, e, s)
		}
	}
	if w.pairs != nil && i+1 < len(s) {
		k := uint16(s[i])<<8 | uint16(s[i+1])
		if w.pairSet[k/64]&(1<<(k%64)) != 0 {
			p, _ := slices.BinarySearch(w.pairKeys, k)
			for _, e := range w.pairEnts[p] {
				st.tryWild(w, e, s)
			}
		}
	}
}

func (st *state) tryWild(w *wildIndex, e int32, s []byte) {
	g := w.gid[e]
	if st.wildSeen[g] == st.wildSeq {
		return
	}
	st.wildSeen[g] = st.wildSeq
	if w.entries[e].w.match(s) {
		st.markAll(w.entries[e].clauses)
	}
}

// numIndex finds the numeric ranges that contain a number in O(log n + the
// ranges found), whatever the number of ranges on a field: their ends cut
// the numbers into segments, and a segment tree over the segments files
// each range under O(log n) nodes, so that the nodes on the path from a
// segment's leaf to the root hold exactly the ranges that contain it.
type numIndex struct {
	points []int64      // segment k is [points[k], points[k+1]); points[0] is MinInt64
	size   int          // the number of leaves, a power of two
	nodes  []clauseRefs // the tree, in an array: node 1 is the root, k's children 2k and 2k+1
}

func newNumIndex(ranges []rangeEntry) *numIndex {
	type interval struct {
		a, b int64 // closed: quantized numbers are integers, so open ends move by one
		cs   clauseRefs
	}
	var ivs []interval
	points := []int64{math.MinInt64}
	for _, e := range ranges {
		a, b := e.r.lo, e.r.hi
		if e.r.loOpen {
			if a == math.MaxInt64 {
				continue
			}
			a++
		}
		if e.r.hiOpen {
			if b == math.MinInt64 {
				continue
			}
			b--
		}
		if a > b {
			continue
		}
		ivs = append(ivs, interval{a, b, e.clauses})
		points = append(points, a)
		if b != math.MaxInt64 {
			points = append(points, b+1)
		}
	}
	if len(ivs) == 0 {
		return nil
	}
	slices.Sort(points)
	points = slices.Compact(points)
	x := &numIndex{points: points, size: 1}
	for x.size < len(points) {
		x.size *= 2
	}
	x.nodes = make([]clauseRefs, 2*x.size)
	for _, v := range ivs {
		l, r := x.segment(v.a)+x.size, x.segment(v.b)+x.size+1
		for ; l < r; l, r = l>>1, r>>1 {
			if l&1 == 1 {
				x.nodes[l] = append(x.nodes[l], v.cs...)
				l++
			}
			if r&1 == 1 {
				r--
				x.nodes[r] = append(x.nodes[r], v.cs...)
			}
		}
	}
	return x
}

// segment returns the segment of q: the last k with points[k] <= q.
func (x *numIndex) segment(q int64) int {
	lo, hi := 0, len(x.points) // points[lo] <= q < points[hi] (hi may be past the end)
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if x.points[mid] <= q {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

func (st *state) matchRanges(x *numIndex, q int64) {
	for n := x.segment(q) + x.size; n >= 1; n >>= 1 {
		st.markAll(x.nodes[n])
	}
}
