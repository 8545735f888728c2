package engine

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/reflexsec/reflex/pattern"
	"github.com/reflexsec/reflex/policy"
)

// eventDoc is a finding's event, parsed once for explanations.
type eventDoc struct {
	raw []byte
	doc any
}

func newEventDoc(raw []byte) *eventDoc {
	d := &eventDoc{raw: raw}
	_ = json.Unmarshal(raw, &d.doc)
	return d
}

// at returns the event's value at a dotted path, as JSON text.
func (d *eventDoc) at(path []string) (string, bool) {
	cur := d.doc
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		cur, ok = m[p]
		if !ok {
			return "", false
		}
	}
	s := compactValue(cur)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s, true
}

type leaf struct {
	path []string
	cond json.RawMessage
}

// leaves lists the pattern's field conditions, in a stable order.
func leaves(prefix []string, obj map[string]json.RawMessage, out *[]leaf) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := obj[k]
		path := append(append([]string(nil), prefix...), k)
		var sub map[string]json.RawMessage
		if len(v) > 0 && v[0] == '{' && json.Unmarshal(v, &sub) == nil && !strings.HasPrefix(k, "$") {
			leaves(path, sub, out)
			continue
		}
		*out = append(*out, leaf{path, v})
	}
}

// explainMismatch names the fields of r's pattern the event fails. A
// pattern with $or or other combinators that no single field explains gets
// a general answer.
func explainMismatch(r *policy.Rule, ev *eventDoc) string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.PatternJSON), &obj); err != nil {
		return "pattern does not match"
	}
	var ls []leaf
	leaves(nil, obj, &ls)
	var fails []string
	for _, l := range ls {
		// rebuild a one-field pattern
		var b strings.Builder
		for _, p := range l.path {
			k, _ := json.Marshal(p)
			b.WriteString("{")
			b.Write(k)
			b.WriteString(":")
		}
		b.Write(l.cond)
		b.WriteString(strings.Repeat("}", len(l.path)))
		pt, err := pattern.Parse([]byte(b.String()))
		if err != nil {
			continue
		}
		ok, err := pt.Match(ev.raw)
		if err != nil || ok {
			continue
		}
		name := strings.Join(l.path, ".")
		got, present := ev.at(l.path)
		if !present {
			got = "no such field"
		}
		fails = append(fails, fmt.Sprintf("%s: pattern wants %s, finding has %s", name, compact(l.cond), got))
	}
	if len(fails) == 0 {
		return "pattern does not match (no single field explains it: see the combination of fields)"
	}
	return "pattern does not match: " + strings.Join(fails, "; ")
}

func compact(b json.RawMessage) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(buf.String())
}

func compactValue(v any) string {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(buf.String())
}
