package pattern

import (
	"sort"
	"sync"
)

// Pattern is one validated event pattern. It is immutable and safe for
// concurrent use.
type Pattern struct {
	canon string
	rules []rule // the $or expansion: the pattern matches when any rule does

	once   sync.Once
	single *Matcher // built on first use by Match
}

// String returns the pattern as compact JSON: the source with insignificant
// whitespace removed and strings written in a canonical escaping. Parsing it
// gives an equivalent pattern.
func (p *Pattern) String() string { return p.canon }

// Fields returns the dotted paths of the event fields the pattern refers to
// (for example "detail.severity"), sorted, without duplicates.
func (p *Pattern) Fields() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range p.rules {
		for _, c := range r {
			if !seen[c.path] {
				seen[c.path] = true
				out = append(out, c.path)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Match reports whether the event (raw JSON) matches the pattern. The error
// is non-nil only when the event is not a valid JSON object. Matching many
// events against many patterns is faster with a Matcher.
func (p *Pattern) Match(event []byte) (bool, error) {
	p.once.Do(func() {
		p.single = NewMatcher()
		_ = p.single.AddPattern("", p)
	})
	var buf [1]string
	ids, err := p.single.MatchAppend(buf[:0], event)
	return len(ids) > 0, err
}
