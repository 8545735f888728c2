package pattern

import (
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Matcher matches events against many patterns, each with an id. It is safe
// for concurrent use: matching reads an immutable compiled snapshot, and
// Add and Remove build the next one, which the first Match after a change
// compiles (so adding many patterns costs one compilation).
type Matcher struct {
	mu      sync.Mutex
	entries map[string]*Pattern
	dirty   atomic.Bool
	snap    atomic.Pointer[snapshot]
}

// NewMatcher returns an empty Matcher.
func NewMatcher() *Matcher {
	m := &Matcher{entries: map[string]*Pattern{}}
	m.snap.Store(buildSnapshot(nil))
	return m
}

// Add parses src and adds it under id; re-adding an id replaces its pattern.
func (m *Matcher) Add(id string, src []byte) error {
	p, err := Parse(src)
	if err != nil {
		return err
	}
	return m.AddPattern(id, p)
}

// AddPattern adds a parsed pattern under id, replacing any pattern with that
// id.
func (m *Matcher) AddPattern(id string, p *Pattern) error {
	m.mu.Lock()
	m.entries[id] = p
	m.dirty.Store(true)
	m.mu.Unlock()
	return nil
}

// Remove deletes the pattern with this id and reports whether there was one.
func (m *Matcher) Remove(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[id]; !ok {
		return false
	}
	delete(m.entries, id)
	m.dirty.Store(true)
	return true
}

// Len returns the number of patterns.
func (m *Matcher) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// current returns the snapshot for the latest patterns, compiling it if
// patterns changed since the last one.
func (m *Matcher) current() *snapshot {
	if !m.dirty.Load() {
		return m.snap.Load()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dirty.Load() {
		entries := make([]entry, 0, len(m.entries))
		for id, p := range m.entries {
			entries = append(entries, entry{id: id, p: p})
		}
		m.snap.Store(buildSnapshot(entries))
		m.dirty.Store(false)
	}
	return m.snap.Load()
}

// Match returns the ids of the patterns the event (raw JSON) matches, sorted.
// The error is non-nil only when the event is not a valid JSON object.
func (m *Matcher) Match(event []byte) ([]string, error) {
	return m.MatchAppend(nil, event)
}

// MatchAppend appends the ids of the matching patterns, sorted, to dst and
// returns it. With a dst of enough capacity it does not allocate.
func (m *Matcher) MatchAppend(dst []string, event []byte) ([]string, error) {
	s := m.current()
	st := s.pool.Get().(*state)
	err := st.run(event)
	if err == nil {
		for _, p := range st.matched {
			dst = append(dst, s.ids[p])
		}
	}
	st.release()
	s.pool.Put(st)
	return dst, err
}

// trailEntry says which element of which array a value is in.
type trailEntry struct {
	arr, idx uint32
}

// leafRec is the array trail of one value inside arrays.
type leafRec struct {
	start, n int32
}

type listNode struct {
	leaf, next int32
}

// state is the per-event scratch space of one snapshot; it is pooled, and
// epoch stamps make clearing it O(1) per event.
type state struct {
	s     *snapshot
	epoch uint32

	// scanner
	b      []byte
	i      int
	err    error
	masks  []uint64 // the event's bitmap of special bytes (specialMasks)
	pad    []byte   // b's backing array: the event and padBytes zeros (skipfast.go)
	bPtr   *byte    // b's and masks' first elements, for the assembly skimmer
	spaced bool     // the event is pretty-printed: no skimming (scan)
	mPtr   *uint64
	hits   strHits // the skimmer's named strings (skim.go)
	keyBuf []byte
	strBuf []byte
	fold   []byte
	trail  []trailEntry
	arrays uint32
	cur    int32 // the leaf of the value being matched, or leafPending
	// kinds has bit d set when the container open at depth d in a skipped
	// subtree is an object (clear: an array)
	kinds [maxEventDepth/64 + 1]uint64

	// per field: how many values were seen
	fieldEpoch []uint32
	// per clause: its state, together so that marking or checking a clause
	// touches one cache line (the clauses of 1,000 rules outgrow L1)
	cl    []clauseState
	nodes []listNode

	satList  []int32
	leaves   []leafRec
	trailBuf []trailEntry

	patEpoch []uint32
	matched  []int32

	// wildcard de-duplication within one value
	wildSeen []uint32
	wildSeq  uint32

	// consistency search
	pending []int32
	chosen  []int32
	budget  int
}

// clauseState is a clause's per-event state: sat and free are epochs.
type clauseState struct {
	sat  uint32 // satisfied
	free uint32 // satisfied by a value outside arrays, or by absence
	head int32  // the array values that satisfy it (→ nodes)
}

func newState(s *snapshot, nc, nf, np int) *state {
	return &state{
		s:          s,
		fieldEpoch: make([]uint32, nf),
		cl:         make([]clauseState, nc),
		patEpoch:   make([]uint32, np),
	}
}

func (st *state) release() {
	st.b, st.bPtr, st.mPtr = nil, nil, nil
	st.err = nil
	if cap(st.pad) > maxPooledPad {
		st.pad = nil // a rare large event: its copy is not kept in the pool
	}
}

// maxPooledPad is the largest event copy a pooled state keeps.
const maxPooledPad = 1 << 20

func (st *state) nextEpoch() {
	st.epoch++
	if st.epoch == 0 { // wrapped: clear the stamps once
		clear(st.fieldEpoch)
		clear(st.cl)
		clear(st.patEpoch)
		st.epoch = 1
	}
}

func (st *state) run(event []byte) error {
	st.begin(event)
	if err := st.scan(st.s.root); err != nil {
		return err
	}
	st.finish()
	return nil
}

// begin resets the per-event state for event.
func (st *state) begin(event []byte) {
	st.nextEpoch()
	n := len(event)
	if cap(st.pad) < n+padBytes {
		st.pad = make([]byte, n+padBytes)
	}
	st.pad = st.pad[:n+padBytes]
	st.masks = specialMasks(event, st.masks, st.pad) // and copies event to pad
	st.b, st.i, st.err = st.pad[:n:n], 0, nil
	st.bPtr, st.mPtr = unsafe.SliceData(st.pad), unsafe.SliceData(st.masks)
	st.trail = st.trail[:0]
	st.arrays = 0
	st.satList = st.satList[:0]
	st.nodes = st.nodes[:0]
	st.leaves = st.leaves[:0]
	st.trailBuf = st.trailBuf[:0]
	st.matched = st.matched[:0]
}

// finish evaluates the sub-rules once the event has been scanned.
func (st *state) finish() {
	s := st.s
	e := st.epoch
	for _, c := range s.absent {
		if st.fieldEpoch[s.clauseField[c]] != e {
			st.mark(c, -1)
		}
	}
	for i := 0; i < len(st.satList); i++ {
		for _, sr := range s.keyed[st.satList[i]] {
			st.check(sr)
		}
	}
	for _, sr := range s.always {
		st.check(sr)
	}
	// A handful of patterns match an event: sorted by insertion, which
	// costs less than slices.Sort's set-up for so few.
	if m := st.matched; len(m) > 16 {
		slices.Sort(m)
	} else {
		for i := 1; i < len(m); i++ {
			for j := i; j > 0 && m[j] < m[j-1]; j-- {
				m[j], m[j-1] = m[j-1], m[j]
			}
		}
	}
}

// check adds the sub-rule's pattern to the result if all its clauses hold
// with values that can come from the same array elements.
func (st *state) check(i int32) {
	sr := &st.s.subRules[i]
	e := st.epoch
	if st.patEpoch[sr.pattern] == e {
		return
	}
	st.pending = st.pending[:0]
	cl := st.cl
	for _, c := range sr.clauses {
		cs := &cl[c]
		if cs.sat != e {
			return
		}
		if cs.free != e {
			st.pending = append(st.pending, c)
		}
	}
	if len(st.pending) > 1 && !st.consistent() {
		return
	}
	st.patEpoch[sr.pattern] = e
	st.matched = append(st.matched, sr.pattern)
}

// maxConsistencySteps bounds the search for array-consistent values, so a
// hostile event cannot make matching slow; a search that runs out of steps
// counts as no match.
const maxConsistencySteps = 1 << 14

// consistent reports whether each pending clause can take one of its array
// values so that no two values come from different elements of one array
// (event-ruler's array consistency).
func (st *state) consistent() bool {
	st.chosen = st.chosen[:0]
	st.budget = maxConsistencySteps
	return st.choose(0)
}

func (st *state) choose(k int) bool {
	if k == len(st.pending) {
		return true
	}
	for n := st.cl[st.pending[k]].head; n >= 0; n = st.nodes[n].next {
		if st.budget--; st.budget < 0 {
			return false
		}
		leaf := st.nodes[n].leaf
		ok := true
		for _, other := range st.chosen {
			if !st.compatible(leaf, other) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		st.chosen = append(st.chosen, leaf)
		if st.choose(k + 1) {
			return true
		}
		st.chosen = st.chosen[:len(st.chosen)-1]
	}
	return false
}

// compatible: two values conflict when they sit in different elements of
// an array they share. Trails run from the root, so shared arrays are a
// common prefix.
func (st *state) compatible(a, b int32) bool {
	la, lb := st.leaves[a], st.leaves[b]
	ta := st.trailBuf[la.start : la.start+la.n]
	tb := st.trailBuf[lb.start : lb.start+lb.n]
	for i := 0; i < len(ta) && i < len(tb); i++ {
		if ta[i].arr != tb[i].arr {
			return true
		}
		if ta[i].idx != tb[i].idx {
			return false
		}
	}
	return true
}

// mark records that clause c holds, by value leaf (-1: a value outside
// arrays, or the field's absence).
func (st *state) mark(c int32, leaf int32) {
	e := st.epoch
	cs := st.hold(c)
	if cs.free == e {
		return
	}
	if leaf < 0 {
		cs.free = e
		return
	}
	if h := cs.head; h >= 0 && st.nodes[h].leaf == leaf {
		return
	}
	st.nodes = append(st.nodes, listNode{leaf: leaf, next: cs.head})
	cs.head = int32(len(st.nodes) - 1)
}

// hold records that clause c holds in this event and returns its state.
func (st *state) hold(c int32) *clauseState {
	cs := &st.cl[c]
	if cs.sat != st.epoch {
		cs.sat, cs.head = st.epoch, -1
		st.satList = append(st.satList, c)
	}
	return cs
}

// markAll records that the clauses cs hold, by the value being matched.
// Most lists are empty, so this test is inlined and the work is not.
func (st *state) markAll(cs clauseRefs) {
	if len(cs) != 0 {
		st.markSome(cs)
	}
}

// markSome is markAll's loop. A value outside arrays (most values) holds
// its clauses free of any array element: mark's other cases are skipped.
func (st *state) markSome(cs clauseRefs) {
	leaf := st.cur
	if leaf == leafPending {
		leaf = st.leaf()
		st.cur = leaf
	}
	if leaf >= 0 {
		for _, c := range cs {
			st.mark(c, leaf)
		}
		return
	}
	for _, c := range cs {
		st.hold(c).free = st.epoch
	}
}

// leafPending is st.cur while the value being matched has satisfied no
// clause yet: most values satisfy none, and their array trail is not
// recorded.
const leafPending = -2

// startValue starts the matching of a value of field f.
func (st *state) startValue(f int32) {
	st.fieldEpoch[f] = st.epoch
	st.cur = leafPending
}

// leaf records the array trail of the value being matched and returns its
// leaf index for array consistency (-1 when it is not inside an array).
func (st *state) leaf() int32 {
	if len(st.trail) == 0 {
		return -1
	}
	st.leaves = append(st.leaves, leafRec{start: int32(len(st.trailBuf)), n: int32(len(st.trail))})
	//lint:ignore S1011 trails are one or two entries long: a loop beats the memmove call of append(...)
	for _, t := range st.trail {
		st.trailBuf = append(st.trailBuf, t)
	}
	return int32(len(st.leaves) - 1)
}

// onString, onNumber and onLiteral match a value of field f.
func (st *state) onString(f int32, s []byte)   { st.matchString(st.s.fields[f], s) }
func (st *state) onNumber(f int32, t []byte)   { st.matchNumber(st.s.fields[f], t) }
func (st *state) onLiteral(f int32, k tokKind) { st.matchLiteral(st.s.fields[f], k) }

// matchString, matchNumber and matchLiteral match a value of the field
// whose matchers are fm.
func (st *state) matchString(fm *fieldMatcher, s []byte) {
	st.startValue(fm.id)
	// Most values fail the exact values' filters: tested here, inlined.
	if t := fm.exactT; t != nil {
		if f, g := filterBits(s); t.hasBits(f, g) {
			if cs, ok := t.find(s); ok {
				st.markAll(cs)
			}
		}
	}
	// Most fields have exact values only (or exact values and exists):
	// the other operators are out of line.
	if fm.strMore {
		st.onStringMore(fm, s)
	}
	st.markAll(fm.exists)
}

// onStringMore matches a string value against the operators of fm other
// than exact values and exists.
func (st *state) onStringMore(fm *fieldMatcher, s []byte) {
	for k, l := range fm.prefix.lens {
		if l > len(s) {
			break
		}
		if l > 0 && fm.prefix.skip(k, s[0]) {
			continue
		}
		if cs, ok := fm.prefix.t.get(s[:l]); ok {
			st.markAll(cs)
		}
	}
	for k, l := range fm.suffix.lens {
		if l > len(s) {
			break
		}
		if l > 0 && fm.suffix.skip(k, s[len(s)-1]) {
			continue
		}
		if cs, ok := fm.suffix.t.get(s[len(s)-l:]); ok {
			st.markAll(cs)
		}
	}
	var folded []byte
	if fm.needFold {
		st.fold = appendFold(st.fold[:0], s)
		folded = st.fold
		if fm.ciExactT != nil {
			if cs, ok := fm.ciExactT.get(folded); ok {
				st.markAll(cs)
			}
		}
		for k, l := range fm.ciPref.lens {
			if l > len(folded) {
				break
			}
			if l > 0 && fm.ciPref.skip(k, folded[0]) {
				continue
			}
			if cs, ok := fm.ciPref.t.get(folded[:l]); ok {
				st.markAll(cs)
			}
		}
		for k, l := range fm.ciSuff.lens {
			if l > len(folded) {
				break
			}
			if l > 0 && fm.ciSuff.skip(k, folded[len(folded)-1]) {
				continue
			}
			if cs, ok := fm.ciSuff.t.get(folded[len(folded)-l:]); ok {
				st.markAll(cs)
			}
		}
	}
	if len(fm.wild.entries) > 0 {
		st.matchWild(&fm.wild, s)
	}
	if fm.needIP {
		if a, looks, ok := parseIP(bytesToString(s)); looks && ok {
			st.matchIP(&fm.ips, a)
		}
	}
	for i := range fm.anyBut {
		e := &fm.anyBut[i]
		if !e.excludesString(s, folded) {
			st.markAll(e.clauses)
		}
	}
}

func (st *state) matchNumber(fm *fieldMatcher, t []byte) {
	st.startValue(fm.id)
	if fm.numTextT != nil {
		if cs, ok := fm.numTextT.get(t); ok {
			st.markAll(cs)
		}
	}
	var q int64
	qok := false
	if fm.needNum {
		if fv, ok := parseFloatBytes(t); ok {
			q, qok = quantize(fv)
		}
	}
	if qok {
		if fm.numEq != nil {
			if cs, ok := fm.numEq[q]; ok {
				st.markAll(cs)
			}
		}
		if fm.numRanges != nil {
			st.matchRanges(fm.numRanges, q)
		}
	}
	for i := range fm.anyBut {
		e := &fm.anyBut[i]
		if e.v.op == opAnyButNum && qok && slices.Contains(e.v.nums, q) {
			continue
		}
		st.markAll(e.clauses)
	}
	st.markAll(fm.exists)
}

func (st *state) matchLiteral(fm *fieldMatcher, k tokKind) {
	st.startValue(fm.id)
	switch k {
	case tTrue:
		st.markAll(fm.trueC)
	case tFalse:
		st.markAll(fm.falseC)
	default:
		st.markAll(fm.nullC)
	}
	// anything-but never excludes true, false or null.
	for i := range fm.anyBut {
		st.markAll(fm.anyBut[i].clauses)
	}
	st.markAll(fm.exists)
}

// excludesString reports whether the anything-but value excludes the string
// s (folded is its folded form, when the field folds).
func (e *anyButEntry) excludesString(s, folded []byte) bool {
	v := e.v
	switch v.op {
	case opAnyBut:
		return e.set.has(s)
	case opAnyButCI:
		return e.set.has(folded)
	case opAnyButPrefix:
		for _, p := range v.list {
			if len(s) >= len(p) && string(s[:len(p)]) == p {
				return true
			}
		}
	case opAnyButSuffix:
		for _, p := range v.list {
			if len(s) >= len(p) && string(s[len(s)-len(p):]) == p {
				return true
			}
		}
	case opAnyButWildcard:
		for _, w := range v.wcs {
			if w.match(s) {
				return true
			}
		}
	}
	return false
}
