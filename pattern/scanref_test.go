package pattern

// The scanner as it was before it was made faster (commit 7857b6a), kept as
// the reference the fast scanner must agree with: same matches, same error
// message and offset, on every event (TestScanReference, FuzzScanReference).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func (n *pathNode) refLookup(key []byte) *pathNode {
	return n.children[string(key)]
}

// child finds the node for an event key. A key with dots addresses the same
// path as the nested keys, as in EventBridge ({"a.b": 1} is a.b).
func (n *pathNode) refChild(key []byte) *pathNode {
	if n == nil || n.children == nil {
		return nil
	}
	if bytes.IndexByte(key, '.') < 0 {
		return n.refLookup(key)
	}
	for n != nil {
		i := bytes.IndexByte(key, '.')
		if i < 0 {
			return n.refLookup(key)
		}
		if n.children == nil {
			return nil
		}
		n = n.refLookup(key[:i])
		key = key[i+1:]
	}
	return nil
}

func (st *state) refWs() {
	b, i := st.b, st.i
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	st.i = i
}

// scan reads the whole event.
func (st *state) refScan(root *pathNode) error {
	st.refWs()
	if st.i >= len(st.b) || st.b[st.i] != '{' {
		return st.fail("an event must be a JSON object")
	}
	if err := st.refObject(root, 1); err != nil {
		return err
	}
	st.refWs()
	if st.i != len(st.b) {
		return st.fail("unexpected data after the event object")
	}
	return nil
}

// object reads an object at st.i ('{') whose path node is n (nil: skip).
func (st *state) refObject(n *pathNode, depth int) error {
	if depth > maxEventDepth {
		return st.fail("nesting too deep")
	}
	st.i++ // '{'
	st.refWs()
	if st.i < len(st.b) && st.b[st.i] == '}' {
		st.i++
		return nil
	}
	for {
		if st.i >= len(st.b) || st.b[st.i] != '"' {
			return st.fail("expected a string key")
		}
		var child *pathNode
		if n != nil {
			key, err := st.refStr(&st.keyBuf)
			if err != nil {
				return err
			}
			child = n.refChild(key)
		} else if err := st.refSkipStr(); err != nil {
			return err
		}
		st.refWs()
		if st.i >= len(st.b) || st.b[st.i] != ':' {
			return st.fail("expected ':'")
		}
		st.i++
		st.refWs()
		if err := st.refValue(child, depth); err != nil {
			return err
		}
		st.refWs()
		if st.i >= len(st.b) {
			return st.fail("unexpected end of input")
		}
		switch st.b[st.i] {
		case ',':
			st.i++
			st.refWs()
		case '}':
			st.i++
			return nil
		default:
			return st.fail("expected ',' or '}'")
		}
	}
}

func (st *state) refArray(n *pathNode, depth int) error {
	if depth > maxEventDepth {
		return st.fail("nesting too deep")
	}
	st.i++ // '['
	tracked := n != nil
	if tracked {
		st.trail = append(st.trail, trailEntry{arr: st.arrays})
		st.arrays++
	}
	st.refWs()
	if st.i < len(st.b) && st.b[st.i] == ']' {
		st.i++
		if tracked {
			st.trail = st.trail[:len(st.trail)-1]
		}
		return nil
	}
	for idx := uint32(0); ; idx++ {
		if tracked {
			st.trail[len(st.trail)-1].idx = idx
		}
		if err := st.refValue(n, depth); err != nil {
			return err
		}
		st.refWs()
		if st.i >= len(st.b) {
			return st.fail("unexpected end of input")
		}
		switch st.b[st.i] {
		case ',':
			st.i++
			st.refWs()
		case ']':
			st.i++
			if tracked {
				st.trail = st.trail[:len(st.trail)-1]
			}
			return nil
		default:
			return st.fail("expected ',' or ']'")
		}
	}
}

// value reads one value at st.i; n is its path node, nil when no pattern
// refers to it or below it.
func (st *state) refValue(n *pathNode, depth int) error {
	if st.i >= len(st.b) {
		return st.fail("unexpected end of input")
	}
	c := st.b[st.i]
	if n == nil {
		return st.refSkip(depth)
	}
	switch {
	case c == '{':
		if n.children == nil {
			return st.refSkip(depth)
		}
		return st.refObject(n, depth+1)
	case c == '[':
		return st.refArray(n, depth+1)
	case c == '"':
		if n.field < 0 {
			return st.refSkipStr()
		}
		s, err := st.refStr(&st.strBuf)
		if err != nil {
			return err
		}
		st.onString(n.field, s)
	case c == '-' || c >= '0' && c <= '9':
		start := st.i
		if err := st.refNumber(); err != nil {
			return err
		}
		if n.field >= 0 {
			st.onNumber(n.field, st.b[start:st.i])
		}
	default:
		k, err := st.refLiteral()
		if err != nil {
			return err
		}
		if n.field >= 0 {
			st.onLiteral(n.field, k)
		}
	}
	return nil
}

// skip validates and skips one value.
func (st *state) refSkip(depth int) error {
	if st.i >= len(st.b) {
		return st.fail("unexpected end of input")
	}
	switch c := st.b[st.i]; {
	case c == '{':
		return st.refObject(nil, depth+1)
	case c == '[':
		return st.refArray(nil, depth+1)
	case c == '"':
		return st.refSkipStr()
	case c == '-' || c >= '0' && c <= '9':
		return st.refNumber()
	default:
		_, err := st.refLiteral()
		return err
	}
}

func (st *state) refLiteral() (tokKind, error) {
	rest := st.b[st.i:]
	switch {
	case bytes.HasPrefix(rest, []byte("true")):
		st.i += 4
		return tTrue, nil
	case bytes.HasPrefix(rest, []byte("false")):
		st.i += 5
		return tFalse, nil
	case bytes.HasPrefix(rest, []byte("null")):
		st.i += 4
		return tNull, nil
	}
	return 0, st.fail("invalid value")
}

// number validates a JSON number at st.i.
func (st *state) refNumber() error {
	b, i := st.b, st.i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && isDigit(b[i]):
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		st.i = i
		return st.fail("invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			st.i = i
			return st.fail("invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			st.i = i
			return st.fail("invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	st.i = i
	return nil
}

// skipStr validates and skips a string at st.i.
func (st *state) refSkipStr() error {
	b := st.b
	i := st.i + 1
	for {
		i = refStringStop(b, i)
		if i >= len(b) {
			st.i = i
			return st.fail("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			st.i = i + 1
			return nil
		case c == '\\':
			n, ok := escapeLen(b, i)
			if !ok {
				st.i = i
				return st.fail("invalid escape in string")
			}
			i += n
		default:
			st.i = i
			return st.fail("control character in string")
		}
	}
}

// escapeLen returns the length of the escape sequence at b[i] ('\\').

// str reads a string at st.i and returns its unescaped bytes: a slice of the
// event when it has no escapes, else of *buf.
func (st *state) refStr(buf *[]byte) ([]byte, error) {
	b := st.b
	start := st.i + 1
	i := refStringStop(b, start)
	if i < len(b) && b[i] == '"' {
		st.i = i + 1
		return b[start:i], nil
	}
	out := append((*buf)[:0], b[start:i]...)
	for {
		if i >= len(b) {
			st.i = i
			return nil, st.fail("unterminated string")
		}
		c := b[i]
		switch {
		case c == '"':
			st.i = i + 1
			*buf = out
			return out, nil
		case c < 0x20:
			st.i = i
			return nil, st.fail("control character in string")
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		n, ok := escapeLen(b, i)
		if !ok {
			st.i = i
			return nil, st.fail("invalid escape in string")
		}
		switch e := b[i+1]; e {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hexVal(b[i+2 : i+6])
			if utf16.IsSurrogate(r) {
				if m, ok := escapeLen(b, i+6); ok && m == 6 && b[i+6] == '\\' && b[i+7] == 'u' {
					if d := utf16.DecodeRune(r, hexVal(b[i+8:i+12])); d != utf8.RuneError {
						r = d
						n += 6
					}
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			out = append(out, e)
		}
		i += n
	}
}

// special returns a mask with the high bit set in each byte of x that is a
// quote, a backslash or below 0x20. Only the lowest set bit is exact, which
// is the only one used.
func refSpecial(x uint64) uint64 {
	q := x ^ (refLSB * '"')
	s := x ^ (refLSB * '\\')
	return ((q-refLSB)&^q | (s-refLSB)&^s | (x-refLSB*0x20)&^x) & refMSB
}

// stringStop returns the index of the first quote, backslash or control
// byte at or after i, or len(b).
func refStringStop(b []byte, i int) int {
	for ; i+16 <= len(b); i += 16 {
		if m := refSpecial(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		if m := refSpecial(binary.LittleEndian.Uint64(b[i+8:])); m != 0 {
			return i + 8 + bits.TrailingZeros64(m)/8
		}
	}
	for ; i+8 <= len(b); i += 8 {
		if m := refSpecial(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if refStrSpecial[b[i]] {
			return i
		}
	}
	return i
}

const (
	refLSB = 0x0101010101010101
	refMSB = 0x8080808080808080
)

var refStrSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// refMatch is MatchAppend with the reference scanner.
func refMatch(m *Matcher, event []byte) ([]string, error) {
	s := m.current()
	st := s.pool.Get().(*state)
	defer func() {
		st.release()
		s.pool.Put(st)
	}()
	st.begin(event)
	if err := st.refScan(s.root); err != nil {
		return nil, err
	}
	st.finish()
	var ids []string
	for _, p := range st.matched {
		ids = append(ids, s.ids[p])
	}
	return ids, nil
}

// sameAsReference reports how the matcher and the reference scanner differ
// on an event ("" when they agree): ids, and the error's message and offset.
func sameAsReference(m *Matcher, event []byte) string {
	got, gerr := m.Match(event)
	want, werr := refMatch(m, event)
	switch {
	case (gerr == nil) != (werr == nil):
		return fmt.Sprintf("error %v, reference %v", gerr, werr)
	case gerr != nil:
		g, w := gerr.(*eventError), werr.(*eventError)
		if g.msg != w.msg || g.off != w.off {
			return fmt.Sprintf("error %q at %d, reference %q at %d", g.msg, g.off, w.msg, w.off)
		}
	case !slices.Equal(got, want):
		return fmt.Sprintf("matches %v, reference %v", got, want)
	}
	return ""
}

// eachMutation calls f with the event cut at every cut-th length and with
// the bytes at every stride-th position replaced by each byte JSON gives a meaning to
// (and a few it does not). f must not keep its argument.
func eachMutation(event []byte, cut, stride int, f func([]byte) string) string {
	if d := f(event); d != "" {
		return d
	}
	for i := 0; i < len(event); i += cut {
		if d := f(event[:i:i]); d != "" {
			return d
		}
	}
	const bytesOfNote = "\"\\{}[],: \n\t\r/0159-+.eEtfnulrbx\x00\x1f\x7f\xff"
	buf := slices.Clone(event)
	for i := 0; i < len(event); i += stride {
		for j := range len(bytesOfNote) {
			buf[i] = bytesOfNote[j]
			if d := f(buf); d != "" {
				return d
			}
		}
		buf[i] = event[i]
	}
	return ""
}

func TestScanReference(t *testing.T) { checkScanReference(t, 1) }

// checkScanReference compares the scanner with the reference on the
// conformance events, the bundled events and mutations of them; sparse
// divides the number of mutations tried.
func checkScanReference(t *testing.T, sparse int) {
	var pats []string
	var events []string
	for _, c := range conformanceCases() {
		if c.event != "" {
			pats = append(pats, c.pattern)
			events = append(events, c.event)
		}
	}
	_, bundled := loadEvents(t)
	bench := benchMatcher(t, 1000)
	deep := func(open, close string, n int) string {
		return `{"a":` + strings.Repeat(open, n) + strings.Repeat(close, n) + `}`
	}
	extra := []string{
		deep("[", "]", maxEventDepth-1), deep("[", "]", maxEventDepth),
		deep(`{"a":`, "}", maxEventDepth-1), deep(`{"a":`, "}", maxEventDepth),
		deep(`{"b":`, "}", maxEventDepth-1), deep(`[{"a":`, "}]", maxEventDepth/2),
		deep(`{"detail":`, "}", maxEventDepth), `{"a":` + strings.Repeat("[", maxEventDepth+5),
		` {"a" : [ 1 , 2.5e-3 , -0 , "x\u00e9\ud83d\ude00\"" , true , false , null , { } , [ ] ] } `,
		`{"detail":{"type":"a\u0041\n","severity":7.5,"severity":8,"resource":{"resourceType":"Instance","resourceType":["x",{"y":1}]}}}`,
		`{"detail.type":"UnauthorizedAccess:EC2/TorClient","detail":{"severity":9}}`,
	}
	for _, e := range extra {
		if d := sameAsReference(bench, []byte(e)); d != "" {
			t.Errorf("event %.80q: %s", e, d)
		}
	}
	matchers := []*Matcher{bench}
	for _, p := range pats {
		m := NewMatcher()
		if err := m.Add("p", []byte(p)); err != nil {
			t.Fatal(err)
		}
		matchers = append(matchers, m)
	}
	slow := sparse // the race detector makes the checks ~50x slower: check fewer
	if raceEnabled {
		slow *= 16
	}
	for i, e := range events {
		m := matchers[i%len(matchers)]
		if d := eachMutation([]byte(e), 1, (1+len(e)/48)*slow, func(ev []byte) string {
			if d := sameAsReference(m, ev); d != "" {
				return fmt.Sprintf("event %q: %s", ev, d)
			}
			return ""
		}); d != "" {
			t.Fatal(d)
		}
	}
	stride := 37 * slow
	if testing.Short() {
		stride = 401
	}
	for _, e := range bundled {
		if d := eachMutation(e, slow, stride, func(ev []byte) string {
			if d := sameAsReference(bench, ev); d != "" {
				return fmt.Sprintf("event %q: %s", ev, d)
			}
			return ""
		}); d != "" {
			t.Fatal(d)
		}
	}
}

func FuzzScanReference(f *testing.F) {
	pats, evs := fuzzSeeds()
	for i, e := range evs {
		f.Add([]byte(pats[i%len(pats)]), []byte(e))
	}
	_, bundled := loadEvents(f)
	for i, e := range bundled[:4] {
		f.Add([]byte(pats[i]), e)
	}
	f.Fuzz(func(t *testing.T, src, event []byte) {
		m := NewMatcher()
		if err := m.Add("p", src); err != nil {
			return
		}
		if d := sameAsReference(m, event); d != "" {
			t.Fatalf("pattern %s\nevent %q\n%s", src, event, d)
		}
	})
}
