// Package forward computes the EventBridge rule patterns that forward to
// reflex exactly the GuardDuty findings some reflex rule can match, so the
// infrastructure (Terraform, reflex setup) never disagrees with the
// configuration: nothing a rule needs is filtered out upstream, and nothing
// no rule can use is sent.
//
// The union of the rules' patterns is written with "$or" and packed into as
// few EventBridge rules as EventBridge's limits allow: a pattern of at most
// 2,048 characters (an adjustable quota) and at most 1,000 "$or"
// combinations, each candidate checked by the pattern package's own
// validation.
package forward

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/reflexsec/reflex/pattern"
)

// Limits of EventBridge that bound the result.
const (
	MaxRulesPerBus     = 300 // rules per event bus (100 in some Regions)
	MaxWildcardRules   = 30  // rules containing a wildcard, per event bus
	findingSource      = "aws.guardduty"
	findingDetailType  = "GuardDuty Finding"
	findingsOnlySample = `{"source":"aws.guardduty","detail-type":"GuardDuty Finding"}`
)

// Rule is one reflex rule: its name and its pattern (JSON).
type Rule struct {
	Name    string
	Pattern string
}

// Group is one EventBridge rule to create: its pattern and the reflex rules
// it forwards findings for.
type Group struct {
	Pattern string   `json:"pattern"`
	Rules   []string `json:"rules"`
}

// Skipped is a reflex rule that can never match a GuardDuty finding (its
// source or detail-type excludes findings), so nothing is forwarded for it.
type Skipped struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// Result is the set of EventBridge rules for a configuration.
type Result struct {
	Groups   []Group   `json:"groups"`
	Skipped  []Skipped `json:"skipped,omitempty"`
	Warnings []string  `json:"warnings,omitempty"`
}

// Patterns returns the patterns of each group, in order.
func (r *Result) Patterns() []string {
	out := make([]string, len(r.Groups))
	for i, g := range r.Groups {
		out[i] = g.Pattern
	}
	return out
}

// Options changes the limits used; the zero value is EventBridge's defaults.
type Options struct {
	// MaxSize is the pattern size quota in characters (default 2,048).
	MaxSize int
}

// branch is one reflex rule's pattern without the keys every forwarded event
// satisfies anyway.
type branch struct {
	rule string
	obj  map[string]json.RawMessage
}

// Compute builds the EventBridge rules for the given reflex rules.
func Compute(rules []Rule, opt Options) (*Result, error) {
	if opt.MaxSize == 0 {
		opt.MaxSize = pattern.DefaultMaxSize
	}
	res := &Result{}
	var branches []branch
	var all []string
	for _, r := range rules {
		b, skip, err := reduce(r)
		if err != nil {
			return nil, err
		}
		if skip != "" {
			res.Skipped = append(res.Skipped, Skipped{Rule: r.Name, Reason: skip})
			continue
		}
		all = append(all, r.Name)
		if len(b.obj) == 0 {
			// A rule that takes every finding: one catch-all rule covers all.
			p, _ := build(nil)
			res.Groups = []Group{{Pattern: p, Rules: nil}}
			branches = nil
			break
		}
		branches = append(branches, b)
	}
	if len(res.Groups) == 1 {
		res.Groups[0].Rules = all
		return res, nil
	}
	if len(branches) == 0 {
		return res, nil
	}
	// Greedy packing: add rules to the current group while the union is a
	// valid pattern within the limits.
	var cur []branch
	flush := func() error {
		p, err := build(cur)
		if err != nil {
			return err
		}
		g := Group{Pattern: p}
		for _, b := range cur {
			g.Rules = append(g.Rules, b.rule)
		}
		res.Groups = append(res.Groups, g)
		cur = nil
		return nil
	}
	for _, b := range branches {
		if p, err := build(append(cur, b)); err == nil && valid(p, opt) == nil {
			cur = append(cur, b)
			continue
		}
		if len(cur) > 0 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		p, err := build([]branch{b})
		if err != nil {
			return nil, err
		}
		if err := valid(p, opt); err != nil {
			return nil, fmt.Errorf("rule %q: its forwarding pattern is not a valid EventBridge pattern: %w (simplify the rule's pattern or raise the pattern size quota)", b.rule, err)
		}
		cur = []branch{b}
	}
	if len(cur) > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if n := len(res.Groups); n > MaxRulesPerBus {
		return nil, fmt.Errorf("the configuration needs %d EventBridge rules, more than the %d an event bus allows", n, MaxRulesPerBus)
	}
	wild := 0
	for _, g := range res.Groups {
		if strings.Contains(g.Pattern, `"wildcard"`) {
			wild++
		}
	}
	if wild > MaxWildcardRules {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d of the EventBridge rules use wildcard; an event bus allows %d such rules", wild, MaxWildcardRules))
	}
	return res, nil
}

func valid(p string, opt Options) error {
	_, err := pattern.ParseOptions{MaxSize: opt.MaxSize}.Parse([]byte(p))
	return err
}

// reduce drops a rule pattern's source and detail-type when they accept
// GuardDuty findings (the forwarding pattern requires them anyway), and
// reports the rule as skipped when they exclude findings.
func reduce(r Rule) (branch, string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.Pattern), &obj); err != nil {
		return branch{}, "", fmt.Errorf("rule %q: pattern: %w", r.Name, err)
	}
	for k, v := range obj {
		obj[k] = plain(v)
	}
	for _, key := range []string{"source", "detail-type"} {
		v, ok := obj[key]
		if !ok {
			continue
		}
		sub, err := json.Marshal(map[string]json.RawMessage{key: v})
		if err != nil {
			return branch{}, "", err
		}
		p, err := pattern.Parse(sub)
		if err != nil {
			return branch{}, "", fmt.Errorf("rule %q: %s: %w", r.Name, key, err)
		}
		ok, err = p.Match([]byte(findingsOnlySample))
		if err != nil {
			return branch{}, "", err
		}
		if !ok {
			return branch{}, fmt.Sprintf("its %s %s never matches a GuardDuty finding (source %q, detail-type %q)", key, compact(v), findingSource, findingDetailType), nil
		}
		delete(obj, key)
	}
	return branch{rule: r.Name, obj: obj}, "", nil
}

// build writes the forwarding pattern for a set of branches: findings only,
// and any of the branches.
func build(bs []branch) (string, error) {
	out := map[string]any{
		"source":      []string{findingSource},
		"detail-type": []string{findingDetailType},
	}
	switch len(bs) {
	case 0:
	case 1:
		for k, v := range bs[0].obj {
			out[k] = v
		}
	default:
		or := make([]map[string]json.RawMessage, len(bs))
		for i, b := range bs {
			or[i] = b.obj
		}
		out["$or"] = or
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return "", err
	}
	return strings.TrimSpace(buf.String()), nil
}

// plain re-encodes a JSON value without HTML escaping ("\u003e=" becomes
// ">="), keeping numbers as written, so patterns read as users wrote them.
func plain(b json.RawMessage) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return b
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return b
	}
	return bytes.TrimSpace(buf.Bytes())
}

func compact(b json.RawMessage) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}
