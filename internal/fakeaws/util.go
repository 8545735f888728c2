package fakeaws

import (
	"cmp"
	"encoding/xml"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

func sortedKeys[M ~map[string]V, V any](m M) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// params reads AWS query-style form parameters (EC2 query and AWS query).
type params url.Values

func (p params) s(k string) string { return url.Values(p).Get(k) }

func (p params) has(k string) bool { _, ok := p[k]; return ok }

func (p params) b(k string) bool { return strings.EqualFold(p.s(k), "true") }

func (p params) i(k string, def int) int {
	if v, err := strconv.Atoi(p.s(k)); err == nil {
		return v
	}
	return def
}

// indexes returns, in numeric order, the N of every key "prefix.N" or
// "prefix.N.…".
func (p params) indexes(prefix string) []int {
	seen := map[int]bool{}
	pre := prefix + "."
	for k := range p {
		if !strings.HasPrefix(k, pre) {
			continue
		}
		rest := k[len(pre):]
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			rest = rest[:i]
		}
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// subs returns the prefixes "prefix.N" of a list of structures.
func (p params) subs(prefix string) []string {
	var out []string
	for _, n := range p.indexes(prefix) {
		out = append(out, prefix+"."+strconv.Itoa(n))
	}
	return out
}

// list returns the values of "prefix.N", in order.
func (p params) list(prefix string) []string {
	var out []string
	for _, n := range p.indexes(prefix) {
		if v, ok := p[prefix+"."+strconv.Itoa(n)]; ok && len(v) > 0 {
			out = append(out, v[0])
		}
	}
	return out
}

// flatten returns the form as a flat map (the call log's parameters).
func (p params) flatten() map[string]string {
	m := make(map[string]string, len(p))
	for k, v := range p {
		if len(v) > 0 {
			m[k] = v[0]
		}
	}
	return m
}

// xw writes XML by hand: AWS's XML shapes are simple and the order of
// elements matters little to the SDK's decoders.
type xw struct{ b strings.Builder }

func (x *xw) open(n string) *xw  { x.b.WriteString("<" + n + ">"); return x }
func (x *xw) close(n string) *xw { x.b.WriteString("</" + n + ">"); return x }

func (x *xw) el(n, v string) *xw {
	x.b.WriteString("<" + n + ">")
	_ = xml.EscapeText(&x.b, []byte(v))
	x.b.WriteString("</" + n + ">")
	return x
}

// opt writes the element only when v is not empty.
func (x *xw) opt(n, v string) *xw {
	if v != "" {
		x.el(n, v)
	}
	return x
}

func (x *xw) bool(n string, v bool) *xw { return x.el(n, strconv.FormatBool(v)) }
func (x *xw) int(n string, v int) *xw   { return x.el(n, strconv.Itoa(v)) }
func (x *xw) time(n string, t time.Time) *xw {
	return x.el(n, t.UTC().Format("2006-01-02T15:04:05.000Z"))
}
func (x *xw) String() string { return x.b.String() }

// members writes a query-protocol list: <n><member>…</member></n>.
func (x *xw) members(n string, vals []string) *xw {
	x.open(n)
	for _, v := range vals {
		x.el("member", v)
	}
	return x.close(n)
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// wildcard matches s against a pattern with * and ? (EC2 filter values).
func wildcard(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	// path.Match treats '/' specially and '[' as a class; escape those.
	p := strings.NewReplacer("[", `\[`, `\`, `\\`).Replace(pattern)
	ok, err := path.Match(strings.ReplaceAll(p, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}

// page returns items[start:start+max] and the next token (an offset).
func page[T any](items []T, token string, max, def int) ([]T, string, bool) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", false
		}
		start = n
	}
	if max <= 0 {
		max = def
	}
	end := min(start+max, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, true
}

func sortBy[T any, K cmp.Ordered](s []T, key func(T) K) {
	slices.SortStableFunc(s, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
}

// requestedIDs returns the ids a Describe request names in param, each
// checked by check (whose error is the request's), or, when it names none,
// every id of all in creation order.
func requestedIDs[V any](r *request, param string, all map[string]V, check func(id string) error) ([]string, error) {
	ids := r.form.list(param)
	for _, id := range ids {
		if err := check(id); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		ids = r.ordered(sortedKeys(all))
	}
	return ids, nil
}
