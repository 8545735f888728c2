package notify

import (
	"slices"
	"strings"
)

// Matches reports whether the route takes ev.
func (r *Route) Matches(ev *Event) bool {
	m := &r.Match
	f := &ev.Finding
	if !r.wantsMode(ev) {
		return false
	}
	if len(m.Rules) > 0 && !anyGlob(m.Rules, ev.Rule) && !slices.ContainsFunc(ev.AlsoRules, func(s string) bool { return anyGlob(m.Rules, s) }) {
		return false
	}
	if len(m.Bands) > 0 && !slices.Contains(m.Bands, f.Band) {
		return false
	}
	if m.MinBand != "" && bandRank(f.Band) < bandRank(m.MinBand) {
		return false
	}
	if len(m.Accounts) > 0 && !slices.Contains(m.Accounts, f.Account) {
		return false
	}
	if len(m.Regions) > 0 && !slices.Contains(m.Regions, f.Region) {
		return false
	}
	if len(m.Types) > 0 && !anyGlob(m.Types, f.Type) {
		return false
	}
	if len(m.Kinds) > 0 && !slices.Contains(m.Kinds, ev.Kind) {
		return false
	}
	if len(m.Outcomes) > 0 && !slices.Contains(m.Outcomes, ev.Outcome) {
		return false
	}
	if len(m.Modes) > 0 && !slices.Contains(m.Modes, ev.Mode) {
		return false
	}
	if m.Samples != nil && *m.Samples != f.Sample {
		return false
	}
	return true
}

// wantsMode keeps dry-run decisions (nothing was done) to the routes that
// list dry-run in match.modes: by default people hear about what reflex did
// or waits to do, not about every plan it only recorded.
func (r *Route) wantsMode(ev *Event) bool {
	if ev.Kind == KindDecision && ev.Mode == ModeDryRun {
		return slices.Contains(r.Match.Modes, ModeDryRun)
	}
	return true
}

// ModeDryRun is the mode of a decision that only plans.
const ModeDryRun = "dry-run"

// Continues reports whether later routes apply after this one matched.
func (r *Route) Continues() bool { return r.Continue == nil || *r.Continue }

// Targets returns the (route, channel) pairs ev goes to, each channel once
// (the first route that names it wins). A route takes ev when its match
// does, or when ev names it (Event.Routes: the route of the decision's
// notify step).
func (c *Config) Targets(ev *Event) []Target {
	var out []Target
	seen := map[string]bool{}
	for _, r := range c.Routes {
		named := slices.Contains(ev.Routes, r.Name) && r.wantsMode(ev)
		if !named && !r.Matches(ev) {
			continue
		}
		for _, ch := range r.Channels {
			if !seen[ch] {
				seen[ch] = true
				out = append(out, Target{Route: r, Channel: ch})
			}
		}
		if !r.Continues() {
			break
		}
	}
	return out
}

// Target is one route and channel an event goes to.
type Target struct {
	Route   *Route
	Channel string
}

func bandRank(b string) int {
	switch b {
	case "Low":
		return 1
	case "Medium":
		return 2
	case "High":
		return 3
	case "Critical":
		return 4
	}
	return 0
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches s against p where * matches any run of characters.
func glob(p, s string) bool {
	if !strings.Contains(p, "*") {
		return p == s
	}
	parts := strings.Split(p, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return strings.HasSuffix(s, last)
}
