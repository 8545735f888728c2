package pattern

import (
	"bytes"
	"fmt"
	"math/bits"
)

// A wildcard value has '*' for zero or more characters; "\*" is a literal
// star and "\\" a literal backslash. Any other backslash, and "**", are
// errors with event-ruler's messages. Positions in those messages count
// bytes of the value with its opening quote, as event-ruler's parser sees
// it, so they equal what EventBridge reports.

type wildcard struct {
	// parts are the literal pieces between stars: the value matches
	// parts[0] * parts[1] * ... * parts[n-1].
	parts []string
}

// parseWildcard checks a wildcard operand and splits it into its literal
// parts.
func parseWildcard(s string) (*wildcard, string) {
	parts, msg := splitWildcard(s)
	if msg != "" {
		return nil, msg
	}
	w := &wildcard{parts: parts}
	if wildcardComplexity(w) > maxWildcardComplexity {
		return nil, "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character"
	}
	return w, ""
}

func splitWildcard(s string) ([]string, string) {
	var parts []string
	var cur []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '*':
			if i+1 < len(s) && s[i+1] == '*' {
				return nil, fmt.Sprintf("Consecutive wildcard characters at pos %d", i+1)
			}
			parts = append(parts, string(cur))
			cur = cur[:0]
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '\\') {
				cur = append(cur, s[i+1])
				i++
				continue
			}
			return nil, fmt.Sprintf("Invalid escape character at pos %d", i+1)
		default:
			cur = append(cur, c)
		}
	}
	parts = append(parts, string(cur))
	return parts, ""
}

// match reports whether v matches the whole wildcard. Leftmost matching of
// each middle part is correct for '*'-only globs, so this is linear in the
// value's length per part.
func (w *wildcard) match(v []byte) bool {
	n := len(w.parts)
	if n == 1 {
		return string(v) == w.parts[0]
	}
	first, last := w.parts[0], w.parts[n-1]
	if len(v) < len(first)+len(last) || string(v[:len(first)]) != first || string(v[len(v)-len(last):]) != last {
		return false
	}
	mid := v[len(first) : len(v)-len(last)]
	for _, p := range w.parts[1 : n-1] {
		i := bytes.Index(mid, []byte(p))
		if i < 0 {
			return false
		}
		mid = mid[i+len(p):]
	}
	return true
}

// maxWildcardComplexity bounds the number of automaton states one input can
// keep alive at once. EventBridge does not publish its threshold; this one
// accepts the documented repeating example "/Users/*/dir/dir/dir/dir/dir/doc.txt"
// (complexity 8) and rejects "*:*:*:*:*:event-bus/*" (11), which AWS was
// observed to reject.
const maxWildcardComplexity = 10

// wildcardComplexity returns the largest number of states of the pattern's
// automaton that one input can keep active at the same time — the measure
// event-ruler's MachineComplexityEvaluator uses — by exploring the subset
// automaton over the pattern's own bytes plus one "other" byte. The search is
// capped, and a pattern that reaches the cap counts as too complex.
func wildcardComplexity(w *wildcard) int {
	// Token i is a literal byte, or a star (-1).
	var toks []int
	for i, p := range w.parts {
		if i > 0 {
			toks = append(toks, -1)
		}
		for j := 0; j < len(p); j++ {
			toks = append(toks, int(p[j]))
		}
	}
	m := len(toks) + 1 // states 0..len(toks); the last one accepts
	if len(w.parts) == 1 {
		return 1
	}
	words := (m + 63) / 64
	closure := func(set []uint64) {
		for i := 0; i < len(toks); i++ {
			if set[i/64]&(1<<(i%64)) != 0 && toks[i] == -1 {
				set[(i+1)/64] |= 1 << ((i + 1) % 64)
			}
		}
	}
	var alphabet []int
	seen := map[int]bool{}
	for _, t := range toks {
		if t >= 0 && !seen[t] {
			seen[t] = true
			alphabet = append(alphabet, t)
		}
	}
	alphabet = append(alphabet, 256) // any byte the pattern does not name

	start := make([]uint64, words)
	start[0] = 1
	closure(start)
	visited := map[string]bool{}
	queue := [][]uint64{start}
	best := 0
	const maxSets = 4096
	for len(queue) > 0 {
		set := queue[0]
		queue = queue[1:]
		key := fmt.Sprint(set)
		if visited[key] {
			continue
		}
		visited[key] = true
		if len(visited) > maxSets {
			return maxWildcardComplexity + 1
		}
		size := 0
		for _, x := range set {
			size += bits.OnesCount64(x)
		}
		if size > best {
			best = size
			if best > maxWildcardComplexity {
				return best
			}
		}
		for _, c := range alphabet {
			next := make([]uint64, words)
			any := false
			for i := 0; i < len(toks); i++ {
				if set[i/64]&(1<<(i%64)) == 0 {
					continue
				}
				switch toks[i] {
				case -1:
					next[i/64] |= 1 << (i % 64)
					any = true
				case c:
					next[(i+1)/64] |= 1 << ((i + 1) % 64)
					any = true
				}
			}
			if any {
				closure(next)
				queue = append(queue, next)
			}
		}
	}
	return best
}
