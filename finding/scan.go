package finding

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Limits bound what one record may cost. A record is one top-level JSON
// value of the input: an event, a finding, a GetFindings page or an array.
type Limits struct {
	// MaxRecordBytes is the largest record read; larger ones are reported
	// and skipped. GetFindings returns at most 50 findings a page and an
	// EventBridge event is at most 256 KB, so the default leaves room for
	// exports written as one large array.
	MaxRecordBytes int
	// MaxDepth is the deepest nesting accepted. Real findings nest about a
	// dozen levels; the limit keeps hostile input from costing stack.
	MaxDepth int
}

// DefaultLimits are the limits NewReader and ParseBytes use.
var DefaultLimits = Limits{MaxRecordBytes: 64 << 20, MaxDepth: 128}

// scanner splits an input into top-level JSON values without decoding them,
// tracking line and column so errors can point at the input. After a record
// it cannot delimit (not JSON, too deep, too large) it resynchronises at the
// next line that starts with '{' or '[' — the start of the next record in
// JSON Lines and in pretty-printed concatenated JSON alike.
type scanner struct {
	src     io.Reader // the input
	pending []byte    // bytes pushed back, read before src
	r       *bufio.Reader
	limits  Limits
	line    int // line of the next byte, 1-based
	col     int // column of the next byte, 1-based
	start   bool
	buf     []byte
}

func newScanner(r io.Reader, l Limits) *scanner {
	if l.MaxRecordBytes <= 0 {
		l.MaxRecordBytes = DefaultLimits.MaxRecordBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	s := &scanner{src: r, limits: l, line: 1, col: 1, start: true}
	s.r = bufio.NewReaderSize(pendingReader{s}, 64<<10)
	return s
}

// pendingReader reads the pushed-back bytes, then the input.
type pendingReader struct{ s *scanner }

func (p pendingReader) Read(b []byte) (int, error) {
	if len(p.s.pending) > 0 {
		n := copy(b, p.s.pending)
		p.s.pending = p.s.pending[n:]
		return n, nil
	}
	return p.s.src.Read(b)
}

// pushBack makes the scanner read b next, as if it started at line:col.
// The reader's buffered bytes come after b, so nothing is lost or reordered.
func (s *scanner) pushBack(b []byte, line, col int) {
	buffered, _ := s.r.Peek(s.r.Buffered())
	rest := make([]byte, 0, len(b)+len(buffered)+len(s.pending))
	rest = append(append(append(rest, b...), buffered...), s.pending...)
	s.pending = rest
	s.r.Reset(pendingReader{s})
	s.line, s.col = line, col
}

// splitAtRecordStart finds, in a record that failed, the first later line
// that starts with '{' or '[': in JSON Lines and in concatenated
// pretty-printed JSON alike such a line starts the next record, so a broken
// record must not swallow the ones after it. It returns the offset of that
// line, or -1.
func splitAtRecordStart(rec []byte) int {
	for i := 1; i < len(rec); i++ {
		if rec[i-1] == '\n' && (rec[i] == '{' || rec[i] == '[') {
			return i
		}
	}
	return -1
}

// scanError is a problem found while delimiting a record.
type scanError struct {
	line, col int
	msg       string
}

func (e *scanError) Error() string { return fmt.Sprintf("%d:%d: %s", e.line, e.col, e.msg) }

func (s *scanner) advance(c byte) {
	if c == '\n' {
		s.line++
		s.col = 1
	} else {
		s.col++
	}
}

// next returns the next record's bytes (valid until the next call) and the
// position of its first byte. It returns io.EOF at the end of input and a
// *scanError for a record it could not delimit; the scanner is then past it.
func (s *scanner) next() (rec []byte, line, col int, err error) {
	// Skip white space, a UTF-8 byte order mark at the start, and record
	// separators (RFC 7464 JSON text sequences).
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return nil, 0, 0, ioErr(err)
		}
		if s.start && c == 0xEF {
			if b, _ := s.r.Peek(2); len(b) == 2 && b[0] == 0xBB && b[1] == 0xBF {
				_, _ = s.r.Discard(2)
				continue
			}
		}
		s.start = false
		switch c {
		case ' ', '\t', '\r', '\n', 0x1e:
			s.advance(c)
			continue
		}
		if err := s.r.UnreadByte(); err != nil {
			return nil, 0, 0, err
		}
		break
	}
	line, col = s.line, s.col
	c, _ := s.r.ReadByte()
	if c != '{' && c != '[' {
		s.advance(c)
		msg := fmt.Sprintf("invalid character %s looking for the beginning of a JSON object", quoteByte(c))
		if err := s.resync(); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, 0, err
		}
		return nil, line, col, &scanError{line, col, msg}
	}
	s.buf = append(s.buf[:0], c)
	s.advance(c)
	depth, inString, escaped := 1, false, false
	for depth > 0 {
		if s.r.Buffered() == 0 {
			if _, err := s.r.Peek(1); err != nil {
				if errors.Is(err, io.EOF) {
					el, ec := s.line, s.col
					if cut := splitAtRecordStart(s.buf); cut > 0 {
						// A later record starts inside this one: report
						// this one truncated where the next begins and
						// read on from there.
						l, c := lineCol(s.buf[:cut], line, col)
						tail := bytes.Clone(s.buf[cut:])
						s.pushBack(tail, l, c)
						el, ec = l, c
					}
					return nil, line, col, &scanError{el, ec, fmt.Sprintf("unexpected end of record: the record starting at %d:%d is truncated", line, col)}
				}
				return nil, 0, 0, err
			}
		}
		// Work on what the reader has buffered and consume only the bytes
		// that belong to this record: the next record may start on the
		// same line.
		chunk, _ := s.r.Peek(s.r.Buffered())
		n, tooDeep := 0, false
		for n < len(chunk) && depth > 0 {
			c := chunk[n]
			n++
			if inString {
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == '"':
					inString = false
				}
				continue
			}
			switch c {
			case '"':
				inString = true
			case '{', '[':
				depth++
				if depth > s.limits.MaxDepth {
					tooDeep = true
				}
			case '}', ']':
				depth--
			}
			if tooDeep {
				break
			}
		}
		chunk = chunk[:n]
		if len(s.buf)+len(chunk) > s.limits.MaxRecordBytes || tooDeep {
			s.advanceAll(chunk)
			_, _ = s.r.Discard(n)
			el, ec := s.line, s.col-1
			msg := fmt.Sprintf("record starting at %d:%d is larger than %d bytes", line, col, s.limits.MaxRecordBytes)
			if tooDeep {
				msg = fmt.Sprintf("JSON nested deeper than %d levels in the record starting at %d:%d", s.limits.MaxDepth, line, col)
			}
			if err := s.resync(); err != nil && !errors.Is(err, io.EOF) {
				return nil, 0, 0, err
			}
			return nil, line, col, &scanError{el, ec, msg}
		}
		s.buf = append(s.buf, chunk...)
		s.advanceAll(chunk)
		_, _ = s.r.Discard(n)
	}
	return s.buf, line, col, nil
}

func (s *scanner) advanceAll(b []byte) {
	if nl := bytes.Count(b, newline); nl > 0 {
		s.line += nl
		s.col = len(b) - bytes.LastIndexByte(b, '\n')
		return
	}
	s.col += len(b)
}

var newline = []byte{'\n'}

// resync skips to the next line that starts with '{' or '['.
func (s *scanner) resync() error {
	atLineStart := s.col == 1
	for {
		if atLineStart {
			b, err := s.r.Peek(1)
			if err != nil {
				return ioErr(err)
			}
			if b[0] == '{' || b[0] == '[' {
				return nil
			}
		}
		c, err := s.r.ReadByte()
		if err != nil {
			return ioErr(err)
		}
		s.advance(c)
		atLineStart = c == '\n'
	}
}

// lineCol is the position just after b, which starts at line:col.
func lineCol(b []byte, line, col int) (int, int) {
	if nl := bytes.Count(b, newline); nl > 0 {
		return line + nl, len(b) - bytes.LastIndexByte(b, '\n')
	}
	return line, col + len(b)
}

func ioErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	return err
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", string(c))
	}
	return fmt.Sprintf("0x%02x", c)
}
