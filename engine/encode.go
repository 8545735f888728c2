package engine

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/reflexsec/reflex/finding"
)

// errSlowPath makes appendPlan give up: the value needs encoding/json.
var errSlowPath = errors.New("engine: plan needs encoding/json")

// encodePlan is json.Marshal(pl), byte for byte, without reflection: the
// ledger stores a plan with every decision, and encoding/json was a third
// of the decision's CPU. Strings are escaped as encoding/json escapes them;
// anything else it does not handle exactly (a time outside UTC or years
// 0-9999, a number encoding/json would write in exponent form, a step with
// its target or calls) is left to encoding/json, for the whole plan. TestEncodePlanMatchesJSON checks the
// equivalence.
func encodePlan(pl *Plan) ([]byte, error) {
	b, err := appendPlan(make([]byte, 0, planSize(pl)), pl)
	if err == nil {
		return b, nil
	}
	return json.Marshal(pl)
}

// planSize is about the length of pl's JSON, so that encoding it allocates
// once.
func planSize(pl *Plan) int {
	fs := &pl.Finding
	n := 400 + len(pl.DecisionID) + len(fs.Key) + len(fs.Type) + len(fs.Title) + len(fs.SampleWhy) + len(fs.Origin) + len(pl.Summary) +
		250*len(fs.Resources)
	for _, r := range pl.Rules {
		n += 40 + len(r.Rule) + len(r.Why) + len(r.Mode)
	}
	for _, g := range pl.Guards {
		n += 40 + len(g.Guard) + len(g.Verdict) + len(g.Reason)
	}
	for _, ps := range pl.Steps {
		if ps != nil {
			n += 160 + len(ps.Key) + len(ps.Name) + len(ps.Rule) + len(ps.TargetID) + len(ps.Reason) + 64*len(ps.Params)
		}
	}
	return n + n/16
}

func appendPlan(b []byte, pl *Plan) ([]byte, error) {
	var err error
	ok := true
	str := func(s string) {
		if ok {
			b, ok = appendStr(b, s)
		}
	}
	tm := func(t time.Time) {
		if ok {
			b, ok = appendTime(b, t)
		}
	}
	b = append(b, `{"decision_id":`...)
	str(pl.DecisionID)
	fs := &pl.Finding
	b = append(b, `,"finding":{"key":`...)
	str(fs.Key)
	b = append(b, `,"type":`...)
	str(fs.Type)
	b = append(b, `,"severity":`...)
	if ok {
		b, ok = appendFloat(b, fs.Severity)
	}
	b = append(b, `,"band":`...)
	str(fs.Band)
	if fs.Title != "" {
		b = append(b, `,"title":`...)
		str(fs.Title)
	}
	b = append(b, `,"updated_at":`...)
	tm(fs.UpdatedAt)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, fs.Count, 10)
	b = append(b, `,"sample":`...)
	b = strconv.AppendBool(b, fs.Sample)
	if fs.SampleWhy != "" {
		b = append(b, `,"sample_reason":`...)
		str(fs.SampleWhy)
	}
	if len(fs.Resources) > 0 {
		b = append(b, `,"resources":[`...)
		for i := range fs.Resources {
			if i > 0 {
				b = append(b, ',')
			}
			if ok {
				b, ok = appendResource(b, &fs.Resources[i])
			}
		}
		b = append(b, ']')
	}
	if fs.Origin != "" {
		b = append(b, `,"origin":`...)
		str(fs.Origin)
	}
	b = append(b, `},"change":`...)
	str(pl.Change)
	b = append(b, `,"rules":`...)
	if pl.Rules == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, r := range pl.Rules {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"rule":`...)
			str(r.Rule)
			b = append(b, `,"matched":`...)
			b = strconv.AppendBool(b, r.Matched)
			b = append(b, `,"why":`...)
			str(r.Why)
			if r.Mode != "" {
				b = append(b, `,"mode":`...)
				str(r.Mode)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"guards":`...)
	if pl.Guards == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, g := range pl.Guards {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"guard":`...)
			str(g.Guard)
			b = append(b, `,"verdict":`...)
			str(g.Verdict)
			b = append(b, `,"reason":`...)
			str(g.Reason)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"steps":`...)
	if pl.Steps == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, ps := range pl.Steps {
			if i > 0 {
				b = append(b, ',')
			}
			if ps == nil {
				b = append(b, "null"...)
				continue
			}
			if ps.Target != nil || len(ps.Calls) > 0 {
				return nil, errSlowPath
			}
			b = append(b, `{"seq":`...)
			b = strconv.AppendInt(b, int64(ps.Seq), 10)
			b = append(b, `,"key":`...)
			str(ps.Key)
			b = append(b, `,"step":`...)
			str(ps.Name)
			b = append(b, `,"rule":`...)
			str(ps.Rule)
			if len(ps.AlsoFrom) > 0 {
				b = append(b, `,"also_from":[`...)
				for j, s := range ps.AlsoFrom {
					if j > 0 {
						b = append(b, ',')
					}
					str(s)
				}
				b = append(b, ']')
			}
			if ps.TargetID != "" {
				b = append(b, `,"target_id":`...)
				str(ps.TargetID)
			}
			if len(ps.Params) > 0 {
				p, err := json.Marshal(ps.Params)
				if err != nil {
					return nil, err
				}
				b = append(b, `,"params":`...)
				b = append(b, p...)
			}
			b = append(b, `,"effect":`...)
			str(string(ps.Effect))
			b = append(b, `,"available":`...)
			b = strconv.AppendBool(b, ps.Available)
			b = append(b, `,"on_failure":`...)
			str(ps.OnFailure)
			if ps.Timeout != "" {
				b = append(b, `,"timeout":`...)
				str(ps.Timeout)
			}
			if ps.Retries != nil {
				b = append(b, `,"retries":`...)
				b = strconv.AppendInt(b, int64(*ps.Retries), 10)
			}
			b = append(b, `,"status":`...)
			str(ps.Status)
			if ps.Reason != "" {
				b = append(b, `,"reason":`...)
				str(ps.Reason)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if pl.RequestedMode != "" {
		b = append(b, `,"requested_mode":`...)
		str(pl.RequestedMode)
	}
	b = append(b, `,"mode":`...)
	str(pl.Mode)
	b = append(b, `,"status":`...)
	str(pl.Status)
	b = append(b, `,"summary":`...)
	str(pl.Summary)
	b = append(b, `,"decided_at":`...)
	tm(pl.DecidedAt)
	b = append(b, '}')
	if !ok {
		return nil, errSlowPath
	}
	return b, err
}

func appendResource(b []byte, r *finding.ResourceRef) ([]byte, bool) {
	ok := true
	field := func(name, v string, omitEmpty bool) {
		if ok && (v != "" || !omitEmpty) {
			b = append(b, name...)
			b, ok = appendStr(b, v)
		}
	}
	field(`{"kind":`, r.Kind, false)
	field(`,"id":`, r.ID, true)
	field(`,"name":`, r.Name, true)
	field(`,"arn":`, r.ARN, true)
	field(`,"accountId":`, r.AccountID, true)
	field(`,"region":`, r.Region, true)
	for _, m := range []struct {
		name string
		m    map[string]string
	}{{`,"tags":{`, r.Tags}, {`,"attrs":{`, r.Attrs}} {
		if len(m.m) == 0 || !ok {
			continue
		}
		b = append(b, m.name...)
		keys := make([]string, 0, len(m.m))
		for k := range m.m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			field("", k, false)
			b = append(b, ':')
			field("", m.m[k], false)
		}
		b = append(b, '}')
	}
	return append(b, '}'), ok
}

// jsonSafe are the ASCII bytes encoding/json writes as they are.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendStr quotes s exactly as encoding/json does (HTML characters,
// control characters, invalid UTF-8, U+2028 and U+2029 escaped).
func appendStr(b []byte, s string) ([]byte, bool) {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += n
			continue
		}
		i += n
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"'), true
}

// appendTime is time.Time's MarshalJSON for UTC times of years 0-9999.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	if t.Location() != time.UTC || t.Year() < 0 || t.Year() > 9999 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// appendFloat is encoding/json's float64 for the numbers it writes without
// an exponent.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return b, false
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64), true
}
