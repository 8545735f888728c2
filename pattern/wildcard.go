package pattern

import (
	"fmt"
	"strings"
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
	if len(v) < len(first)+len(last) || !equalStr(v[:len(first)], first) || !equalStr(v[len(v)-len(last):], last) {
		return false
	}
	mid := bytesToString(v[len(first) : len(v)-len(last)])
	for _, p := range w.parts[1 : n-1] {
		i := strings.Index(mid, p)
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
// (complexity 7) and rejects "*:*:*:*:*:event-bus/*" (11), which AWS was
// observed to reject.
const maxWildcardComplexity = 10

// wildcardComplexity bounds the measure event-ruler's
// MachineComplexityEvaluator uses: the most states of the pattern's
// automaton that one input can keep active at the same time. Each star's
// loop stays active once reached (one state each), and inside the literal
// part after a star an input keeps as many positions alive as the longest
// chain of borders (prefixes that are also suffixes) of a prefix of that
// part, found with the KMP failure function. The sum is computed in linear
// time, so no pattern can make validation slow.
func wildcardComplexity(w *wildcard) int {
	stars := len(w.parts) - 1
	if stars == 0 {
		return 1
	}
	total := stars
	for _, seg := range w.parts[1:] {
		total += maxBorderChain(seg)
	}
	return total
}

// maxBorderChain returns, over the prefixes of s, the largest number of
// prefixes of s that end at the same position (the prefix itself and its
// borders, recursively).
func maxBorderChain(s string) int {
	if s == "" {
		return 0
	}
	fail := make([]int, len(s)+1) // fail[j]: longest proper border of s[:j]
	chain := make([]int, len(s)+1)
	fail[0] = -1
	best := 0
	k := -1
	for j := 0; j < len(s); j++ {
		for k >= 0 && s[k] != s[j] {
			k = fail[k]
		}
		k++
		fail[j+1] = k
		chain[j+1] = 1
		if k > 0 {
			chain[j+1] = chain[k] + 1
		}
		best = max(best, chain[j+1])
	}
	return best
}
