package pattern

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The pattern is read as a stream of tokens, as event-ruler reads it with
// Jackson: EventBridge reports the first problem it meets in document order,
// so a streaming reader gives the same message when a pattern has several.
// Syntax errors use Jackson's wording.

type tokKind uint8

const (
	tEOF tokKind = iota
	tBeginObj
	tEndObj
	tBeginArr
	tEndArr
	tField
	tString
	tInt
	tFloat
	tTrue
	tFalse
	tNull
)

func (k tokKind) numeric() bool { return k == tInt || k == tFloat }

type token struct {
	kind tokKind
	text string // field name, unescaped string, number literal or the literal's text
	off  int    // byte offset of the token in the source
}

// maxNesting is Jackson's default StreamReadConstraints nesting limit.
const maxNesting = 1000

// Context states of an open object or array.
const (
	stFirst = iota // just opened: a key/value or the close marker
	stValue        // object only: key read, value next
	stAfter        // after a value: a comma or the close marker
	stNext         // after a comma: a key/value must follow
)

type frame struct {
	obj   bool
	state uint8
}

// lexer is a strict, streaming JSON reader for patterns. It also writes a
// compact copy of what it reads (canon), used as the pattern's String form.
type lexer struct {
	src      []byte
	pos      int
	stack    []frame
	rootDone bool
	canon    []byte
}

func newLexer(src []byte) *lexer {
	return &lexer{src: src, canon: make([]byte, 0, len(src))}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (l *lexer) skipSpace() {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.pos++
	}
}

func charDesc(c byte) string {
	if c < 0x20 {
		return fmt.Sprintf("(CTRL-CHAR, code %d)", c)
	}
	if c >= 0x80 {
		return fmt.Sprintf("(code %d / 0x%x)", c, c)
	}
	return fmt.Sprintf("'%c' (code %d)", c, c)
}

func (l *lexer) unexpected(what string) *Error {
	c := l.src[l.pos]
	return errAt(l.pos, "Unexpected character (%s): %s", charDesc(c), what)
}

func (l *lexer) eof() *Error {
	if len(l.stack) == 0 {
		return errAt(l.pos, "Unexpected end-of-input")
	}
	if l.stack[len(l.stack)-1].obj {
		return errAt(l.pos, "Unexpected end-of-input: expected close marker for Object")
	}
	return errAt(l.pos, "Unexpected end-of-input: expected close marker for Array")
}

// next returns the next token.
func (l *lexer) next() (token, *Error) {
	l.skipSpace()
	if len(l.stack) == 0 {
		if l.rootDone {
			if l.pos < len(l.src) {
				return token{}, l.unexpected("expected end of input after the pattern object")
			}
			return token{kind: tEOF, off: l.pos}, nil
		}
		if l.pos >= len(l.src) {
			return token{kind: tEOF, off: l.pos}, nil
		}
		return l.value()
	}
	if l.pos >= len(l.src) {
		return token{}, l.eof()
	}
	top := &l.stack[len(l.stack)-1]
	c := l.src[l.pos]
	switch top.state {
	case stAfter:
		if c == ',' {
			l.pos++
			l.canon = append(l.canon, ',')
			top.state = stNext
			return l.next()
		}
		if top.obj && c == '}' || !top.obj && c == ']' {
			return l.close()
		}
		if top.obj {
			return token{}, l.unexpected("was expecting comma to separate Object entries")
		}
		return token{}, l.unexpected("was expecting comma to separate Array entries")
	case stFirst, stNext:
		if top.state == stFirst && (top.obj && c == '}' || !top.obj && c == ']') {
			return l.close()
		}
		if top.obj {
			return l.field()
		}
		top.state = stAfter
		return l.value()
	default: // stValue
		top.state = stAfter
		return l.value()
	}
}

func (l *lexer) close() (token, *Error) {
	off := l.pos
	c := l.src[l.pos]
	l.pos++
	l.canon = append(l.canon, c)
	l.stack = l.stack[:len(l.stack)-1]
	if len(l.stack) == 0 {
		l.rootDone = true
	}
	if c == '}' {
		return token{kind: tEndObj, off: off}, nil
	}
	return token{kind: tEndArr, off: off}, nil
}

func (l *lexer) field() (token, *Error) {
	if l.src[l.pos] != '"' {
		return token{}, l.unexpected("was expecting double-quote to start field name")
	}
	off := l.pos
	name, err := l.str()
	if err != nil {
		return token{}, err
	}
	l.skipSpace()
	if l.pos >= len(l.src) {
		return token{}, l.eof()
	}
	if l.src[l.pos] != ':' {
		return token{}, l.unexpected("was expecting a colon to separate field name and value")
	}
	l.pos++
	l.canon = appendQuoted(l.canon, name)
	l.canon = append(l.canon, ':')
	l.stack[len(l.stack)-1].state = stValue
	return token{kind: tField, text: name, off: off}, nil
}

func (l *lexer) value() (token, *Error) {
	if l.pos >= len(l.src) {
		return token{}, l.eof()
	}
	off := l.pos
	c := l.src[l.pos]
	switch {
	case c == '{' || c == '[':
		if len(l.stack) >= maxNesting {
			return token{}, errAt(off, "Document nesting depth (%d) exceeds the maximum allowed (%d, from `StreamReadConstraints.getMaxNestingDepth()`)", len(l.stack)+1, maxNesting)
		}
		l.pos++
		l.canon = append(l.canon, c)
		l.stack = append(l.stack, frame{obj: c == '{', state: stFirst})
		if c == '{' {
			return token{kind: tBeginObj, off: off}, nil
		}
		return token{kind: tBeginArr, off: off}, nil
	case c == '"':
		s, err := l.str()
		if err != nil {
			return token{}, err
		}
		l.canon = appendQuoted(l.canon, s)
		l.scalarDone()
		return token{kind: tString, text: s, off: off}, nil
	case c == '-' || c >= '0' && c <= '9':
		t, err := l.number()
		if err != nil {
			return token{}, err
		}
		l.canon = append(l.canon, t.text...)
		l.scalarDone()
		return t, nil
	case c == ']' || c == '}' || c == ',' || c == ':':
		return token{}, l.unexpected("expected a value")
	}
	// A bare word: true, false, null or an unrecognized token.
	end := l.pos
	for end < len(l.src) && !isSpace(l.src[end]) && !isDelim(l.src[end]) && end-l.pos < 256 {
		end++
	}
	word := string(l.src[l.pos:end])
	var k tokKind
	switch word {
	case "true":
		k = tTrue
	case "false":
		k = tFalse
	case "null":
		k = tNull
	default:
		return token{}, errAt(off, "Unrecognized token '%s': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')", word)
	}
	l.pos = end
	l.canon = append(l.canon, word...)
	l.scalarDone()
	return token{kind: k, text: word, off: off}, nil
}

func isDelim(c byte) bool {
	switch c {
	case '{', '}', '[', ']', ',', ':', '"':
		return true
	}
	return false
}

func (l *lexer) scalarDone() {
	if len(l.stack) == 0 {
		l.rootDone = true
	}
}

// number reads a JSON number, with Jackson's complaints about bad ones.
func (l *lexer) number() (token, *Error) {
	s := l.src
	start := l.pos
	i := l.pos
	kind := tInt
	if s[i] == '-' {
		i++
		if i >= len(s) {
			l.pos = i
			return token{}, errAt(i, "Unexpected end-of-input in a Number value")
		}
		if s[i] < '0' || s[i] > '9' {
			l.pos = i
			return token{}, l.unexpected("expected digit (0-9) to follow minus sign, for valid numeric value")
		}
	}
	if s[i] == '0' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
		return token{}, errAt(i, "Invalid numeric value: Leading zeroes not allowed")
	}
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i < len(s) && s[i] == '.' {
		kind = tFloat
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			l.pos = min(i, len(s)-1)
			if i >= len(s) {
				return token{}, errAt(i, "Unexpected end-of-input in a Number value")
			}
			return token{}, l.unexpected("Decimal point not followed by a digit")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		kind = tFloat
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			if i >= len(s) {
				return token{}, errAt(i, "Unexpected end-of-input in a Number value")
			}
			l.pos = i
			return token{}, l.unexpected("Exponent indicator not followed by a digit")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && !isSpace(s[i]) && !isDelim(s[i]) {
		l.pos = i
		return token{}, l.unexpected("Expected space separating root-level values")
	}
	l.pos = i
	return token{kind: kind, text: string(s[start:i]), off: start}, nil
}

// str reads a quoted string at l.pos and returns it unescaped.
func (l *lexer) str() (string, *Error) {
	s := l.src
	i := l.pos + 1
	start := i
	// Fast path: no escapes.
	for i < len(s) && s[i] != '"' && s[i] != '\\' && s[i] >= 0x20 {
		i++
	}
	if i < len(s) && s[i] == '"' {
		l.pos = i + 1
		return string(s[start:i]), nil
	}
	buf := append([]byte(nil), s[start:i]...)
	for {
		if i >= len(s) {
			l.pos = i
			return "", errAt(i, "Unexpected end-of-input: was expecting closing quote for a string value")
		}
		c := s[i]
		switch {
		case c == '"':
			l.pos = i + 1
			return string(buf), nil
		case c < 0x20:
			l.pos = i
			return "", errAt(i, "Illegal unquoted character (%s): has to be escaped using backslash to be included in string value", charDesc(c))
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		i++
		if i >= len(s) {
			l.pos = i
			return "", errAt(i, "Unexpected end-of-input in character escape sequence")
		}
		e := s[i]
		i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(s, i)
			if !ok {
				l.pos = i
				return "", errAt(i, "Unexpected character in character escape sequence: expected a hex-digit for character escape sequence")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(s, i+2); ok && i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					}
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			l.pos = i - 1
			return "", errAt(i-1, "Unrecognized character escape %s", charDesc(e))
		}
	}
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s[i:i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}

const hexDigits = "0123456789abcdef"

// appendQuoted appends s as a JSON string, escaping only what JSON requires.
func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
