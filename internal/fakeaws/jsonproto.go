package fakeaws

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Helpers for the JSON protocols (awsJson 1.0/1.1 and REST-JSON): bodies
// are decoded into generic maps, numbers kept as json.Number.

func jsonUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func jsonMarshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("{}")
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// flattenJSON writes v into m with dotted keys and 1-based list indexes.
func flattenJSON(prefix string, v any, m map[string]string) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			flattenJSON(join(k), x, m)
		}
	case []any:
		for i, x := range t {
			flattenJSON(join(strconv.Itoa(i+1)), x, m)
		}
	case nil:
	case string:
		m[prefix] = t
	case json.Number:
		m[prefix] = t.String()
	case bool:
		m[prefix] = strconv.FormatBool(t)
	default:
		m[prefix] = string(jsonMarshal(t))
	}
}

// jstr returns the string at key k of a JSON object (or "").
func jstr(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func jint(m map[string]any, k string, def int) int {
	switch v := m[k].(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return int(n)
		}
		if f, err := v.Float64(); err == nil {
			return int(f)
		}
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

func jbool(m map[string]any, k string) (bool, bool) {
	v, ok := m[k].(bool)
	return v, ok
}

func jobj(m map[string]any, k string) map[string]any {
	v, _ := m[k].(map[string]any)
	return v
}

func jlist(m map[string]any, k string) []any {
	v, _ := m[k].([]any)
	return v
}

func jstrs(m map[string]any, k string) []string {
	var out []string
	for _, x := range jlist(m, k) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// deepCopy copies a decoded JSON value.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = deepCopy(x)
		}
		return l
	}
	return v
}
