package pattern

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// The event is read by a hand-written JSON scanner that validates all of it
// but materialises nothing: it walks the tree of field paths the patterns
// use (pathNode), skips every subtree no pattern mentions, and hands each
// value found at a referenced path straight to that field's matchers. It
// finds the end of a string in the bitmap of special bytes made first
// (classify.go). Strings are unescaped only when they contain escapes, into
// a reused buffer.

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
	keys     *keyTable     // children and deeper descendants by dotted name; nil without children
	field    int32         // the field whose path ends here, or -1
	fm       *fieldMatcher // its matchers (nil without a field): one load from the node, not three
}

// failAt records the first error, at offset i, and returns -1: the scanning
// functions return the offset after what they read, or -1 once st.err is set.
//
// It is not inlined: the scanning loops call it from many places, and
// inlined copies of its allocation would crowd their hot paths.
//
//go:noinline
func (st *state) failAt(i int, msg string) int {
	if st.err == nil {
		st.err = &eventError{msg: msg, off: i}
	}
	return -1
}

func (st *state) fail(msg string) error {
	st.failAt(st.i, msg)
	return st.err
}

// wsMask has bit c set for each JSON whitespace byte c.
const wsMask = 1<<' ' | 1<<'\n' | 1<<'\t' | 1<<'\r'

func isWS(c byte) bool { return c <= ' ' && uint64(wsMask)>>c&1 != 0 }

// skipWS returns the offset of the first byte at or after i that is not
// whitespace.
func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// scan reads the whole event.
func (st *state) scan(root *pathNode) error {
	b := st.b
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		st.failAt(i, "an event must be a JSON object")
		return st.err
	}
	// An event with whitespace after its first brace is pretty-printed:
	// skimming, which stops at whitespace, would give up in every object.
	st.spaced = isWS(byteAt(b, i+1))
	if i = st.object(root, i, 1); i < 0 {
		return st.err
	}
	if i = skipWS(b, i); i != len(b) {
		st.failAt(i, "unexpected data after the event object")
		return st.err
	}
	return nil
}

// object reads an object at b[i] ('{') whose path node n has children.
//
// Most of its keys name nothing and most of its values are strings, so
// both are read here without a call when they are plain: a key is looked up
// in n.keys only when some name has its length and first byte (most are
// not), and a string value is skipped to the next special byte. Anything
// else (escapes, invalid strings) goes the long way, which also reports
// errors.
func (st *state) object(n *pathNode, i, depth int) int {
	if depth > maxEventDepth {
		return st.failAt(i, "nesting too deep")
	}
	// b is backed by the padded copy of the event, so bytes up to
	// padBytes past its end read as zeros, which no test below accepts:
	// the end of the event takes the same paths as any unexpected byte.
	b, masks := st.b, st.masks
	keys := n.keys
	if i++; isWS(byteAt(b, i)) {
		i = skipWS(b, i)
	}
	if byteAt(b, i) == '}' {
		return i + 1
	}
	skim := st.skimmable(depth)
	for {
		// Pairs that name nothing are skimmed; the loop reads the others.
		// Once skimming gave up in an object, the loop reads the rest of it:
		// what stopped it (whitespace in a pretty-printed event, mostly)
		// is likely to come again, and each attempt would be wasted.
		var child *pathNode
		read := false // the pair's value has been read
		j, end := i, skimBail
		if skim {
			j, end, child = st.skim(keys, i)
			if st.hits.n != 0 {
				st.matchHits()
			}
			skim = end != skimBail
		}
		switch {
		case end == skimEnd:
			return j
		case end > 0: // b[j:end+1] is a plain key that names child
			if child == nil { // or that one slot could not decide
				child = keys.lookup(b, j+1, end-j-1)
			}
			i = end + 1
			// Most named values are plain strings of a field: matched here
			// as value would, without its call.
			if child != nil && child.fm != nil && byteAt(b, i) == ':' && byteAt(b, i+1) == '"' {
				if k := nextSpecialAt(masks, i+2); byteAt(b, k) == '"' {
					st.matchString(child.fm, b[i+2:k])
					i, read = k+1, true
				}
			}
		default:
			if i = skipWS(b, j); byteAt(b, i) != '"' {
				return st.failAt(i, "expected a string key")
			}
			j = nextSpecialAt(masks, i+1)
			if byteAt(b, j) == '"' {
				// Only a key as long as some name can name something.
				if l := j - i - 1; keys.may(l, byteAt(b, i+1)) {
					child = keys.lookup(b, i+1, l)
				}
				j++
			} else if child, j = st.key(keys, i); j < 0 {
				return -1
			}
			i = j
		}
		if !read {
			if byteAt(b, i) != ':' {
				if i = skipWS(b, i); byteAt(b, i) != ':' {
					return st.failAt(i, "expected ':'")
				}
			}
			if i++; isWS(byteAt(b, i)) {
				i = skipWS(b, i)
			}
			switch {
			case child != nil:
				i = st.value(child, i, depth)
			case byteAt(b, i) == '"':
				if j = nextSpecialAt(masks, i+1); byteAt(b, j) == '"' {
					i = j + 1
				} else {
					i = st.skipString(i)
				}
			default:
				i = st.skipValue(i, depth)
			}
			if i < 0 {
				return -1
			}
		}
		c := byteAt(b, i)
		if c != ',' && c != '}' {
			if i = skipWS(b, i); i >= len(b) {
				return st.failAt(i, "unexpected end of input")
			}
			c = b[i]
		}
		switch c {
		case ',':
			if i++; isWS(byteAt(b, i)) {
				i = skipWS(b, i)
			}
		case '}':
			return i + 1
		default:
			return st.failAt(i, "expected ',' or '}'")
		}
	}
}

// skimmable reports whether the pairs of an object at depth may be
// skimmed. Not in a pretty-printed event: skimming stops at whitespace.
// Nor within fastDepth of maxEventDepth: the skimmer nests up to fastDepth
// inside a pair's value without counting toward the limit, and arrays can
// nest without end along a referenced path.
func (st *state) skimmable(depth int) bool {
	return !st.spaced && depth+fastDepth < maxEventDepth
}

// matchHits matches the named plain strings the skimmer recorded, in
// the order it read them, and empties the record.
func (st *state) matchHits() {
	h := &st.hits
	for k := range h.n {
		st.matchString(h.h[k].node.fm, st.b[h.h[k].start:h.h[k].end])
	}
	h.n = 0
}

// key reads the key at b[i] ('"'), which has an escape or is invalid, and
// returns the node of keys it names (or nil) and the offset after it.
func (st *state) key(keys *keyTable, i int) (*pathNode, int) {
	key, i := st.str(i, &st.keyBuf)
	if i < 0 {
		return nil, -1
	}
	if keys.lens&lenBit(len(key)) == 0 {
		return nil, i
	}
	return keys.findKey(key), i
}

// array reads an array at b[i] ('[') whose elements have path node n.
func (st *state) array(n *pathNode, i, depth int) int {
	if depth > maxEventDepth {
		return st.failAt(i, "nesting too deep")
	}
	b := st.b
	st.trail = append(st.trail, trailEntry{arr: st.arrays})
	st.arrays++
	// Whitespace is looked for only where the expected byte is missing;
	// the padded copy makes every byteAt safe.
	if i++; isWS(byteAt(b, i)) {
		i = skipWS(b, i)
	}
	if byteAt(b, i) == ']' && i < len(b) {
		st.trail = st.trail[:len(st.trail)-1]
		return i + 1
	}
	t := len(st.trail) - 1 // nested arrays push and pop above it
	for idx := uint32(0); ; idx++ {
		st.trail[t].idx = idx
		// Elements that are objects (tags, mostly) go straight to object,
		// or are skimmed here whole: most are small objects of named
		// strings, which one skimmer call reads to their '}'. Any other
		// result is dropped, strings recorded included, and object reads
		// the element from its start.
		if byteAt(b, i) == '{' && n.children != nil {
			j, end := 0, skimBail
			if st.skimmable(depth + 1) {
				if j, end, _ = st.skim(n.keys, i+1); end != skimEnd {
					st.hits.n = 0
				} else if st.hits.n != 0 {
					st.matchHits()
				}
			}
			if end == skimEnd {
				i = j
			} else {
				i = st.object(n, i, depth+1)
			}
		} else {
			i = st.value(n, i, depth)
		}
		if i < 0 {
			return -1
		}
		c := byteAt(b, i)
		if c != ',' && c != ']' {
			if i = skipWS(b, i); i >= len(b) {
				return st.failAt(i, "unexpected end of input")
			}
			c = b[i]
		}
		switch c {
		case ',':
			if i++; isWS(byteAt(b, i)) {
				i = skipWS(b, i)
			}
		case ']':
			st.trail = st.trail[:len(st.trail)-1]
			return i + 1
		default:
			return st.failAt(i, "expected ',' or ']'")
		}
	}
}

// value reads one value at b[i] whose path node n is not nil.
func (st *state) value(n *pathNode, i, depth int) int {
	b := st.b
	if i >= len(b) {
		return st.failAt(i, "unexpected end of input")
	}
	switch c := byteAt(b, i); {
	case c == '{':
		if n.children == nil {
			return st.skipValue(i, depth)
		}
		return st.object(n, i, depth+1)
	case c == '[':
		return st.array(n, i, depth+1)
	case n.fm == nil:
		return st.skipValue(i, depth)
	case c == '"':
		if j := nextSpecialAt(st.masks, i+1); byteAt(b, j) == '"' {
			st.matchString(n.fm, b[i+1:j])
			return j + 1
		}
		s, j := st.str(i, &st.strBuf)
		if j >= 0 {
			st.matchString(n.fm, s)
		}
		return j
	case c == '-' || isDigit(c):
		j := st.number(i)
		if j >= 0 {
			st.matchNumber(n.fm, b[i:j])
		}
		return j
	default:
		k, j := st.literal(i)
		if j >= 0 {
			st.matchLiteral(n.fm, k)
		}
		return j
	}
}

// skip validates the value at b[i], which no pattern refers to, and returns
// the offset after it. depth is the nesting of the enclosing object or
// array. It is the scanner without a path, as one loop over the tokens: the
// kind of each open object or array is kept in a bit stack instead of
// recursing, a string ends at the next special byte of the bitmap, and
// whitespace is only looked for where the expected byte is not found. It
// checks what object, array and value check, in the same order, and fails
// with the same errors at the same offsets.
func (st *state) skip(i, depth int) int {
	b, masks := st.b, st.masks
	base := depth
	var c byte
value:
	if i >= len(b) {
		return st.failAt(i, "unexpected end of input")
	}
	c = b[i]
	if c == '"' {
		if j := nextSpecial(masks, i+1); j < len(b) && b[j] == '"' {
			i = j + 1
		} else if i = st.skipString(i); i < 0 {
			return -1
		}
		goto after
	}
	switch {
	case c == '{':
		if depth >= maxEventDepth {
			return st.failAt(i, "nesting too deep")
		}
		depth++
		st.kinds[depth>>6] |= 1 << (depth & 63)
		if i++; i < len(b) && b[i] == '}' {
			i++
			goto closed
		}
		if i = skipWS(b, i); i < len(b) && b[i] == '}' {
			i++
			goto closed
		}
		goto key
	case c == '[':
		if depth >= maxEventDepth {
			return st.failAt(i, "nesting too deep")
		}
		depth++
		st.kinds[depth>>6] &^= 1 << (depth & 63)
		if i = skipWS(b, i+1); i < len(b) && b[i] == ']' {
			i++
			goto closed
		}
		goto value
	case c == '-' || isDigit(c):
		if i = st.number(i); i < 0 {
			return -1
		}
	case isWS(c):
		i = skipWS(b, i)
		goto value
	default:
		if _, i = st.literal(i); i < 0 {
			return -1
		}
	}
after: // a value has been read
	if depth == base {
		return i
	}
	if i >= len(b) {
		return st.failAt(i, "unexpected end of input")
	}
	c = b[i]
	if st.kinds[depth>>6]>>(depth&63)&1 != 0 { // in an object
		if c == ',' {
			i++
			goto key
		}
		if c == '}' {
			i++
			goto closed
		}
		if isWS(c) {
			i = skipWS(b, i)
			goto after
		}
		return st.failAt(i, "expected ',' or '}'")
	}
	if c == ',' {
		i++
		goto value
	}
	if c == ']' {
		i++
		goto closed
	}
	if isWS(c) {
		i = skipWS(b, i)
		goto after
	}
	return st.failAt(i, "expected ',' or ']'")
closed: // the innermost container has been closed
	depth--
	goto after
key: // a key is next in an object
	if i >= len(b) || b[i] != '"' {
		if i < len(b) && isWS(b[i]) {
			i = skipWS(b, i)
			goto key
		}
		return st.failAt(i, "expected a string key")
	}
	// Keys are read here rather than at value, which would have to tell
	// them from values by a branch that alternates (mispredicted).
	if j := nextSpecial(masks, i+1); j < len(b) && b[j] == '"' {
		i = j + 1
	} else if i = st.skipString(i); i < 0 {
		return -1
	}
	if i >= len(b) || b[i] != ':' {
		if i = skipWS(b, i); i >= len(b) || b[i] != ':' {
			return st.failAt(i, "expected ':'")
		}
	}
	i++
	goto value
}

// skipString validates and skips the string at b[i].
func (st *state) skipString(i int) int {
	b := st.b
	for j := i + 1; ; {
		j = nextSpecial(st.masks, j)
		if j < len(b) {
			if c := b[j]; c == '"' {
				return j + 1
			} else if c == '\\' {
				if n, ok := escapeLen(b, j); ok {
					j += n
					continue
				}
			}
		}
		_, j = st.str(i, &st.strBuf) // records why the string is invalid
		return j
	}
}

// literal reads true, false or null at b[i].
func (st *state) literal(i int) (tokKind, int) {
	b := st.b
	if i+4 <= len(b) {
		switch string(b[i : i+4]) {
		case "true":
			return tTrue, i + 4
		case "null":
			return tNull, i + 4
		case "fals":
			if i+5 <= len(b) && b[i+4] == 'e' {
				return tFalse, i + 5
			}
		}
	}
	return 0, st.failAt(i, "invalid value")
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number validates the JSON number at b[i] and returns the offset after it.
func (st *state) number(i int) int {
	b := st.b
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && isDigit(b[i]):
		i = digitsAt(b, i+1)
	default:
		return st.failAt(i, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return st.failAt(i, "invalid number")
		}
		i = digitsAt(b, i+1)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return st.failAt(i, "invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i
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

// str reads the string at b[i] and returns its unescaped bytes (a slice of
// the event when it has no escapes, else of *buf) and the offset after it.
func (st *state) str(i int, buf *[]byte) ([]byte, int) {
	b := st.b
	start := i + 1
	i = nextSpecial(st.masks, start)
	if i < len(b) && b[i] == '"' {
		return b[start:i], i + 1
	}
	out := append((*buf)[:0], b[start:i]...)
	for {
		if i >= len(b) {
			return nil, st.failAt(i, "unterminated string")
		}
		c := b[i]
		switch {
		case c == '"':
			*buf = out
			return out, i + 1
		case c < 0x20:
			return nil, st.failAt(i, "control character in string")
		case c != '\\': // plain bytes after an escape: up to the next special one
			j := nextSpecial(st.masks, i)
			out = append(out, b[i:j]...)
			i = j
			continue
		}
		n, ok := escapeLen(b, i)
		if !ok {
			return nil, st.failAt(i, "invalid escape in string")
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
				// Only an escape "\uXXXX" right after it can complete the
				// pair; anything else leaves the lone surrogate (U+FFFD).
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
