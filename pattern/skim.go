package pattern

import "bytes"

// Skimming: in an object on a referenced path, most pairs name nothing,
// and their values are read only to be validated. The skimmer (state.skim:
// skimPairsAsm on amd64, skimPairsGo elsewhere) goes past such
// pairs as long as they are plain compact JSON, in one loop with little
// to keep, and stops at the first pair that needs the object loop: a key
// that names something (a key whose length and first byte pass the key
// filter is looked up in its one slot, as keyTable.slot does), or
// anything it does not read itself (whitespace, escapes, exponents,
// nesting deeper than fastDepth, errors). Reading nothing but valid JSON
// and recording nothing, it can always stop and let the checked path read
// the same pair again.

// The skimmer's results: where it stopped is pos, and end says why.
//
//   - end > 0: b[pos] is the quote of a key that names a node, b[end] its
//     closing quote, and child that node; or, with child nil, a key the
//     one-slot look-up (keyTable.slot) could not decide, left to
//     keyTable.lookup. Keys that pass the filter but name nothing are
//     skimmed like the others.
//   - end == skimBail (0): b[pos] is where the pair the skimmer could not
//     read starts (after a ',', perhaps whitespace).
//   - end == skimEnd (-1): the object is closed, pos is after its '}'.
//
// Three results rather than a separate reason, so that the method that
// calls the assembly stays within the inliner's budget.
const (
	skimBail = 0
	skimEnd  = -1
)

// A key that names a field whose value is a plain string (the usual
// named pair: a type, an account, a tag's key and value) does not stop
// the skimmer: it records the string in its strHits and goes on, so
// that a run of pairs costs one call whatever they name, and the object
// loop then matches the strings in order. Other named pairs, or one more
// once strHitCap are recorded, stop it as above.

// strHit is a named plain string: b[start:end] is the string (between its
// quotes), the value of node's field.
type strHit struct {
	node       *pathNode
	start, end int
}

// strHitCap is how many strings one run of the skimmer records.
const strHitCap = 16

// strHits are the strings one run of the skimmer recorded; n is zero
// between runs.
type strHits struct {
	n int
	h [strHitCap]strHit
}

// skimPairsGo is the skimmer in Go: from b[i], where a key is expected in
// an object whose names are in keys, it goes past the pairs whose key
// names nothing and whose value is plain compact JSON, and returns where it
// stopped and why (see skimBail). b must be the scanner's padded copy of
// the event and masks its bitmap; the named plain strings it goes past are
// appended to hits. It is the portable version and the reference for the
// assembly one, which must return and record the same for every input.
func skimPairsGo(b []byte, masks []uint64, keys *keyTable, i int, hits *strHits) (pos, end int, child *pathNode) {
	var (
		kinds uint64 // bit d set: the container open at depth d is an object
		d     int    // depth inside the value, 0 at the pair
		j, k  int
		c     byte
	)
pair:
	if byteAt(b, i) != '"' {
		return i, skimBail, nil
	}
	j = nextSpecialAt(masks, i+1)
	if byteAt(b, j) != '"' {
		return i, skimBail, nil
	}
	if keys.may(j-i-1, byteAt(b, i+1)) {
		n, ok := keys.slot(b, i+1, j-i-1)
		if !ok {
			return i, j, nil
		}
		if n != nil {
			// A field's plain string is recorded; anything else, or a
			// string once the record is full, is left to the object loop.
			if n.fm == nil || byteAt(b, j+1) != ':' || byteAt(b, j+2) != '"' || hits.n == strHitCap {
				return i, j, n
			}
			e := nextSpecialAt(masks, j+3)
			if byteAt(b, e) != '"' {
				return i, j, n
			}
			hits.h[hits.n] = strHit{node: n, start: j + 3, end: e}
			hits.n++
			k = e + 1
			goto after
		}
	}
	if byteAt(b, j+1) != ':' {
		return i, skimBail, nil
	}
	k = j + 2
value:
	switch c = byteAt(b, k); {
	case c == '"':
		if j = nextSpecialAt(masks, k+1); byteAt(b, j) != '"' {
			return i, skimBail, nil
		}
		k = j + 1
	case c == '{':
		if d++; d > fastDepth {
			return i, skimBail, nil
		}
		kinds |= 1 << (d & 63)
		k++
		if c = byteAt(b, k); c == '"' {
			goto key
		}
		if c != '}' {
			return i, skimBail, nil
		}
		k++
		d--
	case c == '[':
		if d++; d > fastDepth {
			return i, skimBail, nil
		}
		kinds &^= 1 << (d & 63)
		k++
		if byteAt(b, k) != ']' {
			goto value
		}
		k++
		d--
	case c == '-' || isDigit(c):
		if k = skimNumber(b, k); k < 0 {
			return i, skimBail, nil
		}
	case c == 't':
		if load32At(b, k) != wordTrue {
			return i, skimBail, nil
		}
		k += 4
	case c == 'n':
		if load32At(b, k) != wordNull {
			return i, skimBail, nil
		}
		k += 4
	case c == 'f':
		if load32At(b, k) != wordFals || byteAt(b, k+4) != 'e' {
			return i, skimBail, nil
		}
		k += 5
	default:
		return i, skimBail, nil
	}
after: // a value has been read; b[k] follows it
	c = byteAt(b, k)
	if d > 0 {
		if kinds>>(d&63)&1 != 0 {
			if c == ',' {
				k++
				goto key
			}
			if c == '}' {
				k++
				d--
				goto after
			}
		} else {
			if c == ',' {
				k++
				goto value
			}
			if c == ']' {
				k++
				d--
				goto after
			}
		}
		return i, skimBail, nil
	}
	if c == ',' {
		i = k + 1
		goto pair
	}
	if c == '}' {
		return k + 1, skimEnd, nil
	}
	return i, skimBail, nil
key: // b[k] should be the quote of a key inside the value
	if byteAt(b, k) != '"' {
		return i, skimBail, nil
	}
	if j = nextSpecialAt(masks, k+1); byteAt(b, j) != '"' || byteAt(b, j+1) != ':' {
		return i, skimBail, nil
	}
	k = j + 2
	goto value
}

// skimNumber returns the offset after the number at b[k] if it is valid
// and has no exponent (the assembly leaves exponents to the caller), else
// -1.
func skimNumber(b []byte, k int) int {
	e := numberEndFast(b, k)
	if e < 0 || bytes.ContainsAny(b[k:e], "eE") {
		return -1
	}
	return e
}
