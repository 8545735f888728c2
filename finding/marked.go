package finding

import (
	"encoding/json"
	"strings"
)

// markedFast is marked without encoding/json's reflection, for the usual
// additionalInfo: valid JSON whose top-level keys are plain ASCII. ok is
// false when the input is anything else (invalid or deeply nested JSON, a
// key with an escape or a non-ASCII byte); markedSlow then decides, so the
// answer is always encoding/json's. Like json.Unmarshal into a struct, keys
// match the field names case-insensitively and the last of duplicate keys
// wins.
func markedFast(info []byte) (marked, ok bool) {
	sample, value, ok := sampleFields(info, true)
	if !ok {
		return false, false
	}
	if isTrue(sample) {
		return true, true
	}
	if len(value) == 0 || value[0] != '"' {
		return false, true
	}
	var inner string
	if json.Unmarshal(value, &inner) != nil {
		return false, false
	}
	s, _, ok := sampleFields([]byte(inner), false)
	if !ok {
		// not JSON (or unusual JSON): encoding/json says
		return false, false
	}
	return isTrue(s), true
}

// sampleFields validates doc as JSON and returns the raw values of its
// top-level "sample" and (when withValue) "value" keys, as json.Unmarshal
// would set them in json.RawMessage fields. ok is false when doc is not
// valid JSON by the strict grammar below, is nested deeper than maxDepth, or
// has a top-level key with an escape or a non-ASCII byte. A top-level value
// other than an object yields nil values (json.Unmarshal fails or leaves the
// fields empty: neither marks a sample).
func sampleFields(doc []byte, withValue bool) (sample, value []byte, ok bool) {
	p := jscan{b: doc}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '{' {
		p.i++
		p.ws()
		if p.peek() == '}' {
			p.i++
		} else {
			for {
				p.ws()
				start := p.i
				if !p.str() {
					return nil, nil, false
				}
				key := p.b[start+1 : p.i-1]
				for _, c := range key {
					if c == '\\' || c >= 0x80 {
						return nil, nil, false
					}
				}
				p.ws()
				if p.peek() != ':' {
					return nil, nil, false
				}
				p.i++
				p.ws()
				vs := p.i
				if !p.value(1) {
					return nil, nil, false
				}
				switch {
				case strings.EqualFold(string(key), "sample"):
					sample = p.b[vs:p.i]
				case withValue && strings.EqualFold(string(key), "value"):
					value = p.b[vs:p.i]
				}
				p.ws()
				c := p.peek()
				p.i++
				if c == '}' {
					break
				}
				if c != ',' {
					return nil, nil, false
				}
			}
		}
	} else if !p.value(0) {
		return nil, nil, false
	} else {
		sample, value = nil, nil
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, nil, false
	}
	return sample, value, true
}

// maxDepth bounds the nesting sampleFields accepts (encoding/json accepts
// 10000 levels; deeper or equal input goes to encoding/json).
const maxDepth = 512

// jscan is a strict JSON scanner (RFC 8259): whatever it accepts,
// encoding/json accepts too.
type jscan struct {
	b []byte
	i int
}

func (p *jscan) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *jscan) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jscan) value(depth int) bool {
	if depth >= maxDepth {
		return false
	}
	switch p.peek() {
	case '"':
		return p.str()
	case '{':
		p.i++
		p.ws()
		if p.peek() == '}' {
			p.i++
			return true
		}
		for {
			p.ws()
			if !p.str() {
				return false
			}
			p.ws()
			if p.peek() != ':' {
				return false
			}
			p.i++
			p.ws()
			if !p.value(depth + 1) {
				return false
			}
			p.ws()
			c := p.peek()
			p.i++
			if c == '}' {
				return true
			}
			if c != ',' {
				return false
			}
		}
	case '[':
		p.i++
		p.ws()
		if p.peek() == ']' {
			p.i++
			return true
		}
		for {
			p.ws()
			if !p.value(depth + 1) {
				return false
			}
			p.ws()
			c := p.peek()
			p.i++
			if c == ']' {
				return true
			}
			if c != ',' {
				return false
			}
		}
	case 't':
		return p.lit("true")
	case 'f':
		return p.lit("false")
	case 'n':
		return p.lit("null")
	}
	return p.num()
}

func (p *jscan) lit(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

func (p *jscan) digits() int {
	n := 0
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

func (p *jscan) num() bool {
	if p.peek() == '-' {
		p.i++
	}
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case c >= '1' && c <= '9':
		p.digits()
	default:
		return false
	}
	if p.peek() == '.' {
		p.i++
		if p.digits() == 0 {
			return false
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if p.digits() == 0 {
			return false
		}
	}
	return true
}

func (p *jscan) str() bool {
	if p.peek() != '"' {
		return false
	}
	p.i++
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return true
		case c == '\\':
			p.i++
			switch p.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i++
			case 'u':
				p.i++
				for range 4 {
					if !isHex(p.peek()) {
						return false
					}
					p.i++
				}
			default:
				return false
			}
		case c < 0x20:
			return false
		default:
			p.i++
		}
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
