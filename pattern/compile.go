package pattern

import (
	"math"
	"sort"
	"strings"
	"sync"
)

// A snapshot is the compiled, immutable form of a Matcher's patterns. Each
// distinct (field, value list) pair across all patterns is one clause with an
// id; each $or alternative of a pattern is a sub-rule: a set of clauses that
// must all hold. Per field, the values of every clause are indexed together
// (fieldMatcher), so one look-up per event value finds every clause it
// satisfies, whatever the number of patterns.
type snapshot struct {
	ids  []string // pattern ids, sorted; a pattern's index is its position
	root *pathNode

	fields      []*fieldMatcher // by field id
	clauseField []int32         // clause id → field id
	absent      []int32         // clauses satisfied when their field has no value

	subRules []subRule
	keyed    [][]int32 // clause id → sub-rules keyed on it
	always   []int32   // sub-rules with no clause that needs a value

	pool sync.Pool // *state
}

type subRule struct {
	pattern int32
	clauses []int32
}

// clauseRefs lists the clauses one indexed value belongs to.
type clauseRefs []int32

func (r *clauseRefs) add(c int32) {
	if n := len(*r); n > 0 && (*r)[n-1] == c {
		return
	}
	*r = append(*r, c)
}

// affixTable finds every prefix (or suffix) of a value that some clause
// names: one map look-up per distinct operand length.
type affixTable struct {
	lens []int
	m    map[string]clauseRefs // while building
	t    *strTable[clauseRefs]
	// edge[k] is the set of the first bytes (of the last, for a suffix
	// table) of the operands lens[k] long: a value whose byte is not in it
	// needs no look-up for that length.
	edge []byteSet
}

// byteSet is a set of bytes.
type byteSet [4]uint64

func (s *byteSet) add(c byte)                 { s[c>>6] |= 1 << (c & 63) }
func (s *byteSet) has(c byte) bool            { return s[c>>6]>>(c&63)&1 != 0 }
func (s *byteSet) addAll()                    { *s = byteSet{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)} }
func (t *affixTable) skip(k int, c byte) bool { return !t.edge[k].has(c) }

func (t *affixTable) add(s string, c int32) {
	if t.m == nil {
		t.m = map[string]clauseRefs{}
	}
	r, ok := t.m[s]
	if !ok {
		t.lens = append(t.lens, len(s))
	}
	r.add(c)
	t.m[s] = r
}

func (t *affixTable) finish(suffix bool) {
	t.t = newStrTable(t.m)
	sort.Ints(t.lens)
	t.lens = compactInts(t.lens)
	t.edge = make([]byteSet, len(t.lens))
	for s := range t.m {
		k := sort.SearchInts(t.lens, len(s))
		switch {
		case s == "":
			t.edge[k].addAll()
		case suffix:
			t.edge[k].add(s[len(s)-1])
		default:
			t.edge[k].add(s[0])
		}
	}
}

func compactInts(s []int) []int {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

type rangeEntry struct {
	r       numRange
	clauses clauseRefs
}

type wildEntry struct {
	w       *wildcard
	clauses clauseRefs
}

// anyButEntry is an anything-but value: it holds for every value it does not
// exclude.
type anyButEntry struct {
	v       *value
	set     *strTable[struct{}] // opAnyBut, opAnyButCI
	clauses clauseRefs
}

// fieldMatcher indexes the values of every clause on one field.
type fieldMatcher struct {
	id        int32                 // the field's id
	exact     map[string]clauseRefs // strings (while building; then exactT)
	numText   map[string]clauseRefs // number literals, by text (while building; then numTextT)
	numEq     map[int64]clauseRefs  // number literals, by quantized value
	trueC     clauseRefs
	falseC    clauseRefs
	nullC     clauseRefs
	prefix    affixTable
	suffix    affixTable
	ciExact   map[string]clauseRefs // folded (while building; then ciExactT)
	ciPref    affixTable            // folded
	ciSuff    affixTable            // folded
	wild      wildIndex
	ranges    []rangeEntry // while building; then numRanges
	numRanges *numIndex
	ips       ipTable
	anyBut    []anyButEntry
	exists    clauseRefs // exists:true

	exactT, numTextT, ciExactT *strTable[clauseRefs]

	strMore  bool // has string operators other than exact values and exists
	needNum  bool // parse numbers
	needIP   bool // parse strings as IP addresses
	needFold bool // fold strings
}

func (f *fieldMatcher) add(v *value, c int32) {
	switch v.op {
	case opExact:
		if f.exact == nil {
			f.exact = map[string]clauseRefs{}
		}
		r := f.exact[v.s]
		r.add(c)
		f.exact[v.s] = r
	case opExactIP, opCIDR:
		f.needIP = true
		f.ips.add(v.ip, c)
	case opNumber:
		if f.numText == nil {
			f.numText = map[string]clauseRefs{}
		}
		r := f.numText[v.s]
		r.add(c)
		f.numText[v.s] = r
		if v.qok {
			f.needNum = true
			if f.numEq == nil {
				f.numEq = map[int64]clauseRefs{}
			}
			r := f.numEq[v.q]
			r.add(c)
			f.numEq[v.q] = r
		}
	case opTrue:
		f.trueC.add(c)
	case opFalse:
		f.falseC.add(c)
	case opNull:
		f.nullC.add(c)
	case opPrefix:
		f.prefix.add(v.s, c)
	case opSuffix:
		f.suffix.add(v.s, c)
	case opPrefixCI:
		f.needFold = true
		f.ciPref.add(v.s, c)
	case opSuffixCI:
		f.needFold = true
		f.ciSuff.add(v.s, c)
	case opEqualsCI:
		f.needFold = true
		if f.ciExact == nil {
			f.ciExact = map[string]clauseRefs{}
		}
		r := f.ciExact[v.s]
		r.add(c)
		f.ciExact[v.s] = r
	case opWildcard:
		f.wild.add(v.wc, c)
	case opNumeric:
		f.needNum = true
		for i := range f.ranges {
			if f.ranges[i].r == v.rng {
				f.ranges[i].clauses.add(c)
				return
			}
		}
		f.ranges = append(f.ranges, rangeEntry{r: v.rng, clauses: clauseRefs{c}})
	case opExists:
		if v.exists {
			f.exists.add(c)
		}
	default: // anything-but
		for i := range f.anyBut {
			if f.anyBut[i].v.canon == v.canon && f.anyBut[i].v.op == v.op {
				f.anyBut[i].clauses.add(c)
				return
			}
		}
		e := anyButEntry{v: v, clauses: clauseRefs{c}}
		switch v.op {
		case opAnyBut, opAnyButCI:
			set := make(map[string]struct{}, len(v.list))
			for _, s := range v.list {
				set[s] = struct{}{}
			}
			e.set = newStrTable(set)
			if v.op == opAnyButCI {
				f.needFold = true
			}
		case opAnyButNum:
			f.needNum = true
		}
		f.anyBut = append(f.anyBut, e)
	}
}

func (w *wildcard) key() string { return strings.Join(w.parts, "\x00*") }

// entry is one pattern of a Matcher.
type entry struct {
	id string
	p  *Pattern
}

// valueWeight estimates how many events a value matches, to choose the
// clause that keys a sub-rule: the rarer the key, the fewer sub-rules are
// looked at per event.
func valueWeight(v *value) int {
	switch v.op {
	case opExact, opExactIP, opNumber, opTrue, opFalse, opNull, opEqualsCI:
		return 1
	case opPrefix, opSuffix, opPrefixCI, opSuffixCI, opWildcard, opCIDR:
		return 2
	case opNumeric:
		return 4
	case opExists:
		return 16
	default:
		return 8
	}
}

func buildSnapshot(entries []entry) *snapshot {
	sort.Slice(entries, func(i, j int) bool { return entries[i].id < entries[j].id })
	s := &snapshot{root: &pathNode{field: -1}}
	fieldIDs := map[string]int32{}
	clauseIDs := map[string]int32{}
	var clauseWeight []int
	var clauseAbsent []bool
	fieldOf := func(path string) int32 {
		if id, ok := fieldIDs[path]; ok {
			return id
		}
		id := int32(len(s.fields))
		fieldIDs[path] = id
		s.fields = append(s.fields, &fieldMatcher{id: id})
		n := s.root
		for _, seg := range strings.Split(path, ".") {
			if n.children == nil {
				n.children = map[string]*pathNode{}
			}
			c := n.children[seg]
			if c == nil {
				c = &pathNode{field: -1}
				n.children[seg] = c
			}
			n = c
		}
		n.field, n.fm = id, s.fields[id]
		return id
	}
	for pi, e := range entries {
		s.ids = append(s.ids, e.id)
		for _, r := range e.p.rules {
			sr := subRule{pattern: int32(pi)}
			for ci := range r {
				cl := &r[ci]
				canons := make([]string, len(cl.values))
				for i := range cl.values {
					canons[i] = cl.values[i].canon
				}
				sort.Strings(canons)
				key := cl.path + "\x00" + strings.Join(canons, "\x00")
				id, ok := clauseIDs[key]
				if !ok {
					id = int32(len(s.clauseField))
					clauseIDs[key] = id
					f := fieldOf(cl.path)
					s.clauseField = append(s.clauseField, f)
					weight, absent := 0, false
					for i := range cl.values {
						v := &cl.values[i]
						s.fields[f].add(v, id)
						weight += valueWeight(v)
						if v.absent() {
							absent = true
						}
					}
					if absent {
						s.absent = append(s.absent, id)
					}
					clauseWeight = append(clauseWeight, weight)
					clauseAbsent = append(clauseAbsent, absent)
				}
				sr.clauses = append(sr.clauses, id)
			}
			s.subRules = append(s.subRules, sr)
		}
	}
	nwild := 0
	var index func(n *pathNode)
	index = func(n *pathNode) {
		n.keys = buildKeyTable(n)
		for _, c := range n.children {
			index(c)
		}
	}
	index(s.root)
	if s.root.keys == nil { // the event is read as an object even with no patterns
		s.root.keys = &keyTable{}
	}
	for _, f := range s.fields {
		for range f.wild.entries {
			f.wild.gid = append(f.wild.gid, int32(nwild))
			nwild++
		}
		f.exactT, f.numTextT, f.ciExactT = newStrTable(f.exact), newStrTable(f.numText), newStrTable(f.ciExact)
		f.exact, f.numText, f.ciExact = nil, nil, nil
		f.wild.finish()
		f.numRanges, f.ranges = newNumIndex(f.ranges), nil
		f.strMore = len(f.prefix.m) > 0 || len(f.suffix.m) > 0 || f.needFold || len(f.wild.entries) > 0 || f.needIP || len(f.anyBut) > 0
		f.prefix.finish(false)
		f.suffix.finish(true)
		f.ciPref.finish(false)
		f.ciSuff.finish(true)
	}
	// Key each sub-rule on its rarest clause that needs a value: a clause
	// many rules share (like "source") is a poor key however exact it is,
	// so the estimate is the clause's weight times the rules sharing it.
	sharers := make([]int, len(s.clauseField))
	for _, sr := range s.subRules {
		for _, c := range sr.clauses {
			sharers[c]++
		}
	}
	s.keyed = make([][]int32, len(s.clauseField))
	for i, sr := range s.subRules {
		best := int32(-1)
		for _, c := range sr.clauses {
			if clauseAbsent[c] {
				continue
			}
			if best < 0 || clauseWeight[c]*sharers[c] < clauseWeight[best]*sharers[best] {
				best = c
			}
		}
		if best < 0 {
			s.always = append(s.always, int32(i))
		} else {
			s.keyed[best] = append(s.keyed[best], int32(i))
		}
		// check looks at the clauses in this order and stops at the first
		// that does not hold: the rarest first, the key (which holds when
		// the sub-rule is looked at) last.
		rank := func(c int32) int {
			if c == best {
				return math.MaxInt
			}
			return clauseWeight[c] * sharers[c]
		}
		sort.SliceStable(sr.clauses, func(a, b int) bool { return rank(sr.clauses[a]) < rank(sr.clauses[b]) })
	}
	nc, nf, np := len(s.clauseField), len(s.fields), len(s.ids)
	s.pool.New = func() any {
		st := newState(s, nc, nf, np)
		st.wildSeen = make([]uint32, nwild)
		return st
	}
	return s
}
