package pattern

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// The naive matcher is the benchmark's baseline and the fuzzers' oracle:
// decode the event into maps with encoding/json, then for every pattern walk
// the decoded tree along each field path and test each value directly. It
// shares only the parser with the real matcher, not the indexing, scanning,
// or array-consistency code.

type naiveLeaf struct {
	v     any // string, json.Number, bool or nil
	trail []naiveStep
}

type naiveStep struct {
	array string // where the array is, with the indexes of enclosing arrays
	idx   int
}

func naiveDecode(event []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, fmt.Errorf("not an object")
	}
	if len(bytes.TrimSpace(event[dec.InputOffset():])) > 0 {
		return nil, fmt.Errorf("trailing data")
	}
	return doc, nil
}

// naiveLeaves finds the values at a dotted path; keys with dots in the event
// address the same paths as nested keys.
func naiveLeaves(node any, path, loc string, trail []naiveStep, out []naiveLeaf) []naiveLeaf {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			switch {
			case k == path:
				out = naiveValues(v, loc+"."+k, trail, out)
			case strings.HasPrefix(path, k+"."):
				out = naiveLeaves(v, path[len(k)+1:], loc+"."+k, trail, out)
			}
		}
	case []any:
		for i, e := range n {
			t := append(slices.Clip(trail), naiveStep{loc, i})
			out = naiveLeaves(e, path, fmt.Sprintf("%s[%d]", loc, i), t, out)
		}
	}
	return out
}

// naiveValues collects the scalar values of a field (arrays flattened,
// objects are not values).
func naiveValues(v any, loc string, trail []naiveStep, out []naiveLeaf) []naiveLeaf {
	switch x := v.(type) {
	case map[string]any:
		return out
	case []any:
		for i, e := range x {
			t := append(slices.Clip(trail), naiveStep{loc, i})
			out = naiveValues(e, fmt.Sprintf("%s[%d]", loc, i), t, out)
		}
		return out
	}
	return append(out, naiveLeaf{v: v, trail: trail})
}

func naiveCompatible(a, b []naiveStep) bool {
	for _, x := range a {
		for _, y := range b {
			if x.array == y.array && x.idx != y.idx {
				return false
			}
		}
	}
	return true
}

// naiveMatch returns whether the pattern matches the decoded event.
func naiveMatch(p *Pattern, doc map[string]any) bool {
	for _, r := range p.rules {
		if naiveRule(r, doc) {
			return true
		}
	}
	return false
}

func naiveRule(r rule, doc map[string]any) bool {
	// For each clause, the values that satisfy it; nil entry = absence.
	var options [][]*naiveLeaf
	for _, c := range r {
		leaves := naiveLeaves(doc, c.path, "", nil, nil)
		var ok []*naiveLeaf
		if len(leaves) == 0 {
			for i := range c.values {
				if c.values[i].absent() {
					ok = append(ok, nil)
					break
				}
			}
		}
		for i := range leaves {
			for j := range c.values {
				if naiveValue(&c.values[j], leaves[i].v) {
					ok = append(ok, &leaves[i])
					break
				}
			}
		}
		if len(ok) == 0 {
			return false
		}
		options = append(options, ok)
	}
	var pick func(k int, chosen []*naiveLeaf) bool
	pick = func(k int, chosen []*naiveLeaf) bool {
		if k == len(options) {
			return true
		}
		for _, l := range options[k] {
			good := true
			for _, o := range chosen {
				if l != nil && o != nil && !naiveCompatible(l.trail, o.trail) {
					good = false
					break
				}
			}
			if good && pick(k+1, append(chosen, l)) {
				return true
			}
		}
		return false
	}
	return pick(0, nil)
}

// naiveValue tests one pattern value against one event value.
func naiveValue(v *value, x any) bool {
	s, isStr := x.(string)
	num, isNum := x.(json.Number)
	var q int64
	qok := false
	if isNum {
		if f, ok := parseFloatBytes([]byte(num)); ok {
			q, qok = quantize(f)
		}
	}
	switch v.op {
	case opExact:
		return isStr && s == v.s
	case opExactIP, opCIDR:
		if !isStr {
			return false
		}
		a, looks, ok := parseIP(s)
		return looks && ok && v.ip.contains(a)
	case opNumber:
		return isNum && (string(num) == v.s || v.qok && qok && q == v.q)
	case opTrue:
		return x == true
	case opFalse:
		return x == false
	case opNull:
		return x == nil
	case opPrefix:
		return isStr && strings.HasPrefix(s, v.s)
	case opSuffix:
		return isStr && strings.HasSuffix(s, v.s)
	case opPrefixCI:
		return isStr && strings.HasPrefix(foldString(s), v.s)
	case opSuffixCI:
		return isStr && strings.HasSuffix(foldString(s), v.s)
	case opEqualsCI:
		return isStr && foldString(s) == v.s
	case opWildcard:
		return isStr && v.wc.match([]byte(s))
	case opNumeric:
		return qok && v.rng.contains(q)
	case opExists:
		return v.exists
	case opAnyBut:
		return !isStr || !slices.Contains(v.list, s)
	case opAnyButNum:
		return !qok || !slices.Contains(v.nums, q)
	case opAnyButPrefix:
		if !isStr {
			return true
		}
		for _, p := range v.list {
			if strings.HasPrefix(s, p) {
				return false
			}
		}
		return true
	case opAnyButSuffix:
		if !isStr {
			return true
		}
		for _, p := range v.list {
			if strings.HasSuffix(s, p) {
				return false
			}
		}
		return true
	case opAnyButCI:
		return !isStr || !slices.Contains(v.list, foldString(s))
	case opAnyButWildcard:
		if !isStr {
			return true
		}
		for _, w := range v.wcs {
			if w.match([]byte(s)) {
				return false
			}
		}
		return true
	}
	panic("unknown op")
}

// hasDuplicateKeys reports whether some object in the event repeats a key.
// encoding/json keeps the last value of a repeated key while the matcher,
// like event-ruler's streaming flattener, sees every value, so the naive
// matcher is no oracle for such events.
func hasDuplicateKeys(event []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(event))
	type frame struct {
		keys  map[string]bool
		isObj bool
		key   bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.isObj && top.key {
			if s, ok := tok.(string); ok {
				if top.keys[s] {
					return true
				}
				top.keys[s] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.isObj {
			top.key = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, isObj: true, key: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].isObj {
				stack[len(stack)-1].key = true
			}
		}
	}
}
