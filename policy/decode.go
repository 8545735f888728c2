package policy

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Duration is a time.Duration written as Go duration text (30s, 5m, 1h).
type Duration time.Duration

// MarshalText writes the duration as text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// keyPos records where each key of a mapping was, for later messages.
type keyPos map[string]Pos

// of returns the position of key's value, or def.
func (k keyPos) of(key string, def Pos) Pos {
	if p, ok := k[key]; ok {
		return p
	}
	return def
}

var (
	durationType = reflect.TypeFor[Duration]()
	nodeType     = reflect.TypeFor[*node]()
	posType      = reflect.TypeFor[Pos]()
	keyPosType   = reflect.TypeFor[keyPos]()
)

// decoder fills Go structs from nodes, reporting every problem with its
// position instead of stopping at the first. Struct fields are named by
// their `yaml:"name"` tag; a field of type Pos receives the mapping's
// position, one of type keyPos the positions of its values, one of type
// *node the raw node.
type decoder struct {
	errs *Errors
}

func (d *decoder) decode(n *node, v reflect.Value, what string) {
	if n == nil {
		return
	}
	t := v.Type()
	switch {
	case t == nodeType:
		v.Set(reflect.ValueOf(n))
		return
	case t == durationType:
		if n.kind == kNull {
			return
		}
		s, ok := n.str()
		if !ok {
			d.errs.add(n.pos, "%s: want a duration such as 30s, 5m or 1h, got %s", what, n.describe())
			return
		}
		dur, err := time.ParseDuration(s)
		if err != nil || dur < 0 {
			d.errs.add(n.pos, "%s: %q is not a duration: write 30s, 5m, 1h30m", what, s)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if n.kind == kNull {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), what)
	case reflect.Struct:
		d.decodeStruct(n, v, what)
	case reflect.Slice:
		if n.kind == kNull {
			return
		}
		items := n.items
		if n.kind != kSeq {
			if t.Elem().Kind() == reflect.String && n.kind == kScalar {
				items = []*node{n} // a single value where a list is expected
			} else {
				d.errs.add(n.pos, "%s: want a list, got %s", what, n.describe())
				return
			}
		}
		s := reflect.MakeSlice(t, len(items), len(items))
		for i, it := range items {
			d.decode(it, s.Index(i), fmt.Sprintf("%s[%d]", what, i+1))
		}
		v.Set(s)
	case reflect.Map:
		if n.kind == kNull {
			return
		}
		if n.kind != kMap {
			d.errs.add(n.pos, "%s: want a mapping of names to values, got %s", what, n.describe())
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.keys))
		for i, k := range n.keys {
			ev := reflect.New(t.Elem()).Elem()
			d.decode(n.vals[i], ev, join(what, k.text()))
			m.SetMapIndex(reflect.ValueOf(k.text()).Convert(t.Key()), ev)
		}
		v.Set(m)
	case reflect.String:
		if n.kind == kNull {
			return
		}
		if n.kind != kScalar {
			d.errs.add(n.pos, "%s: want a text value, got %s", what, n.describe())
			return
		}
		switch x := n.value.(type) {
		case string:
			v.SetString(x)
		case int64, uint64:
			v.SetString(fmt.Sprint(x)) // account ids written unquoted
		default:
			d.errs.add(n.pos, "%s: want a text value, got %s (quote it)", what, n.describe())
		}
	case reflect.Bool:
		if n.kind == kNull {
			return
		}
		b, ok := n.value.(bool)
		if n.kind != kScalar || !ok {
			d.errs.add(n.pos, "%s: want true or false, got %s", what, n.describe())
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if n.kind == kNull {
			return
		}
		switch x := n.value.(type) {
		case int64:
			v.SetInt(x)
			return
		case uint64:
			if x <= math.MaxInt32 {
				v.SetInt(int64(x))
				return
			}
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				v.SetInt(int64(x))
				return
			}
		}
		d.errs.add(n.pos, "%s: want a whole number, got %s", what, n.describe())
	case reflect.Float64:
		if n.kind == kNull {
			return
		}
		switch x := n.value.(type) {
		case int64:
			v.SetFloat(float64(x))
		case uint64:
			v.SetFloat(float64(x))
		case float64:
			v.SetFloat(x)
		default:
			d.errs.add(n.pos, "%s: want a number, got %s", what, n.describe())
		}
	case reflect.Interface:
		v.Set(reflect.ValueOf(n.toAny()))
	default:
		panic(fmt.Sprintf("policy: cannot decode into %s", t))
	}
}

type fieldInfo struct {
	index int
	name  string
}

func (d *decoder) decodeStruct(n *node, v reflect.Value, what string) {
	t := v.Type()
	var fields []fieldInfo
	var known []string
	for i := range t.NumField() {
		f := t.Field(i)
		switch f.Type {
		case posType:
			v.Field(i).Set(reflect.ValueOf(n.pos))
			continue
		case keyPosType:
			kp := keyPos{}
			for j, k := range n.keys {
				p := n.vals[j].pos
				if n.vals[j].kind == kNull || p == (Pos{}) {
					p = k.pos
				}
				kp[k.text()] = p
			}
			v.Field(i).Set(reflect.ValueOf(kp))
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields = append(fields, fieldInfo{i, name})
		known = append(known, name)
	}
	if n.kind == kNull {
		return
	}
	if n.kind != kMap {
		d.errs.add(n.pos, "%s: want a mapping (key: value lines), got %s", what, n.describe())
		return
	}
	for j, k := range n.keys {
		key := k.text()
		found := false
		for _, f := range fields {
			if f.name == key {
				d.decode(n.vals[j], v.Field(f.index), join(what, key))
				found = true
				break
			}
		}
		if !found {
			d.errs.add(k.pos, "unknown key %q%s%s", key, in(what), suggest(key, known))
		}
	}
}

// suggest names the closest known key, or lists them.
func suggest(key string, known []string) string { return suggestAmong(key, known, "keys") }

// suggestAmong names the closest of known, or lists them as "known WHAT".
func suggestAmong(key string, known []string, what string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		if dd := distance(strings.ToLower(key), k); dd < bestD {
			best, bestD = k, dd
		}
	}
	if best != "" && bestD <= max(2, len(key)/3) {
		return fmt.Sprintf(": did you mean %q?", best)
	}
	s := append([]string(nil), known...)
	sort.Strings(s)
	return "; known " + what + ": " + strings.Join(s, ", ")
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func join(what, key string) string {
	if what == "" {
		return key
	}
	return what + "." + key
}

func in(what string) string {
	if what == "" {
		return " at the top level"
	}
	return " in " + what
}
