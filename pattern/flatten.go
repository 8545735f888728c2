package pattern

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// The event is read once by a hand-written JSON scanner that validates all of
// it but materialises nothing: it walks the tree of field paths the patterns
// use (pathNode), skips every subtree no pattern mentions, and hands each
// value found at a referenced path straight to that field's matchers. Strings
// are unescaped only when they contain escapes, into a reused buffer.

// ErrInvalidEvent is returned (wrapped) when the event is not a JSON object.
var ErrInvalidEvent = errors.New("event is not valid JSON")

// maxEventDepth bounds nesting in events, as encoding/json does.
const maxEventDepth = 10000

type eventError struct {
	msg string
	off int
}

func (e *eventError) Error() string { return ErrInvalidEvent.Error() + ": " + e.msg }
func (e *eventError) Unwrap() error { return ErrInvalidEvent }

// pathNode is one step of the tree of field paths some pattern uses.
type pathNode struct {
	children map[string]*pathNode
	// small holds the children when there are few: comparing a handful of
	// names is faster than hashing the key.
	small []namedNode
	field int32 // the field whose path ends here, or -1
}

type namedNode struct {
	name string
	node *pathNode
}

const smallChildren = 8

func (n *pathNode) lookup(key []byte) *pathNode {
	if n.small != nil {
		for i := range n.small {
			if string(key) == n.small[i].name {
				return n.small[i].node
			}
		}
		return nil
	}
	return n.children[string(key)]
}

// child finds the node for an event key. A key with dots addresses the same
// path as the nested keys, as in EventBridge ({"a.b": 1} is a.b).
func (n *pathNode) child(key []byte) *pathNode {
	if n == nil || n.children == nil {
		return nil
	}
	if bytes.IndexByte(key, '.') < 0 {
		return n.lookup(key)
	}
	for n != nil {
		i := bytes.IndexByte(key, '.')
		if i < 0 {
			return n.lookup(key)
		}
		if n.children == nil {
			return nil
		}
		n = n.lookup(key[:i])
		key = key[i+1:]
	}
	return nil
}

// strSpecial marks the bytes that end the fast scan of a string.
var strSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func (st *state) fail(msg string) error {
	if st.err == nil {
		st.err = &eventError{msg: msg, off: st.i}
	}
	return st.err
}

func (st *state) ws() {
	b, i := st.b, st.i
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	st.i = i
}

// scan reads the whole event.
func (st *state) scan(root *pathNode) error {
	st.ws()
	if st.i >= len(st.b) || st.b[st.i] != '{' {
		return st.fail("an event must be a JSON object")
	}
	if err := st.object(root, 1); err != nil {
		return err
	}
	st.ws()
	if st.i != len(st.b) {
		return st.fail("unexpected data after the event object")
	}
	return nil
}

// object reads an object at st.i ('{') whose path node is n (nil: skip).
func (st *state) object(n *pathNode, depth int) error {
	if depth > maxEventDepth {
		return st.fail("nesting too deep")
	}
	st.i++ // '{'
	st.ws()
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
			key, err := st.str(&st.keyBuf)
			if err != nil {
				return err
			}
			child = n.child(key)
		} else if err := st.skipStr(); err != nil {
			return err
		}
		st.ws()
		if st.i >= len(st.b) || st.b[st.i] != ':' {
			return st.fail("expected ':'")
		}
		st.i++
		st.ws()
		if err := st.value(child, depth); err != nil {
			return err
		}
		st.ws()
		if st.i >= len(st.b) {
			return st.fail("unexpected end of input")
		}
		switch st.b[st.i] {
		case ',':
			st.i++
			st.ws()
		case '}':
			st.i++
			return nil
		default:
			return st.fail("expected ',' or '}'")
		}
	}
}

func (st *state) array(n *pathNode, depth int) error {
	if depth > maxEventDepth {
		return st.fail("nesting too deep")
	}
	st.i++ // '['
	tracked := n != nil
	if tracked {
		st.trail = append(st.trail, trailEntry{arr: st.arrays})
		st.arrays++
	}
	st.ws()
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
		if err := st.value(n, depth); err != nil {
			return err
		}
		st.ws()
		if st.i >= len(st.b) {
			return st.fail("unexpected end of input")
		}
		switch st.b[st.i] {
		case ',':
			st.i++
			st.ws()
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
func (st *state) value(n *pathNode, depth int) error {
	if st.i >= len(st.b) {
		return st.fail("unexpected end of input")
	}
	c := st.b[st.i]
	if n == nil {
		return st.skip(depth)
	}
	switch {
	case c == '{':
		if n.children == nil {
			return st.skip(depth)
		}
		return st.object(n, depth+1)
	case c == '[':
		return st.array(n, depth+1)
	case c == '"':
		if n.field < 0 {
			return st.skipStr()
		}
		s, err := st.str(&st.strBuf)
		if err != nil {
			return err
		}
		st.onString(n.field, s)
	case c == '-' || c >= '0' && c <= '9':
		start := st.i
		if err := st.number(); err != nil {
			return err
		}
		if n.field >= 0 {
			st.onNumber(n.field, st.b[start:st.i])
		}
	default:
		k, err := st.literal()
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
func (st *state) skip(depth int) error {
	if st.i >= len(st.b) {
		return st.fail("unexpected end of input")
	}
	switch c := st.b[st.i]; {
	case c == '{':
		return st.object(nil, depth+1)
	case c == '[':
		return st.array(nil, depth+1)
	case c == '"':
		return st.skipStr()
	case c == '-' || c >= '0' && c <= '9':
		return st.number()
	default:
		_, err := st.literal()
		return err
	}
}

func (st *state) literal() (tokKind, error) {
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

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number validates a JSON number at st.i.
func (st *state) number() error {
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
func (st *state) skipStr() error {
	b := st.b
	i := st.i + 1
	for {
		i = stringStop(b, i)
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
func escapeLen(b []byte, i int) (int, bool) {
	if i+1 >= len(b) {
		return 0, false
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		if i+6 > len(b) {
			return 0, false
		}
		for _, c := range b[i+2 : i+6] {
			if !isHex(c) {
				return 0, false
			}
		}
		return 6, true
	}
	return 0, false
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func hexVal(b []byte) rune {
	var r rune
	for _, c := range b {
		r = r<<4 | rune(unhex(c))
	}
	return r
}

// str reads a string at st.i and returns its unescaped bytes: a slice of the
// event when it has no escapes, else of *buf.
func (st *state) str(buf *[]byte) ([]byte, error) {
	b := st.b
	start := st.i + 1
	i := stringStop(b, start)
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
				if m, ok := escapeLen(b, i+6); ok && m == 6 && b[i+7] == 'u' {
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
