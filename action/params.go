package action

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ParamType is the type of a step parameter.
type ParamType string

// Parameter types.
const (
	TypeString   ParamType = "string"
	TypeBool     ParamType = "bool"
	TypeInt      ParamType = "int"
	TypeDuration ParamType = "duration" // Go duration text: 30s, 5m, 1h
	TypeStrings  ParamType = "strings"  // a list of strings
)

// Param declares one parameter of a step.
type Param struct {
	Name        string    `json:"name"`
	Type        ParamType `json:"type"`
	Required    bool      `json:"required,omitempty"`
	Default     any       `json:"default,omitempty"`
	Enum        []string  `json:"enum,omitempty"` // allowed values of a string parameter
	Description string    `json:"description"`
}

// Params are a step's validated parameter values: string, bool, int64,
// time.Duration or []string according to the declared types, defaults
// filled in.
type Params map[string]any

// String returns a string parameter ("" when unset).
func (p Params) String(name string) string { s, _ := p[name].(string); return s }

// Bool returns a bool parameter.
func (p Params) Bool(name string) bool { b, _ := p[name].(bool); return b }

// Int returns an int parameter.
func (p Params) Int(name string) int64 { n, _ := p[name].(int64); return n }

// Duration returns a duration parameter.
func (p Params) Duration(name string) time.Duration { d, _ := p[name].(time.Duration); return d }

// Strings returns a list parameter.
func (p Params) Strings(name string) []string { s, _ := p[name].([]string); return s }

// MarshalJSON writes durations as text, so the journal can be read back with
// ParseParams.
func (p Params) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(p))
	for k, v := range p {
		if d, ok := v.(time.Duration); ok {
			v = d.String()
		}
		m[k] = v
	}
	return json.Marshal(m)
}

// ParamError is a problem with one parameter.
type ParamError struct {
	Name string // the parameter ("" for the step as a whole)
	Msg  string
}

func (e *ParamError) Error() string {
	if e.Name == "" {
		return e.Msg
	}
	return fmt.Sprintf("parameter %q: %s", e.Name, e.Msg)
}

// ParseParams checks raw values (as decoded from YAML or JSON: string, bool,
// int, int64, uint64, float64, []any) against spec and returns typed values
// with defaults applied, or one error per problem: unknown, missing and
// wrongly typed parameters.
func ParseParams(spec Spec, raw map[string]any) (Params, []*ParamError) {
	out := make(Params, len(spec.Params))
	var errs []*ParamError
	known := make(map[string]bool, len(spec.Params))
	for _, p := range spec.Params {
		known[p.Name] = true
	}
	var unknown []string
	for k := range raw {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		errs = append(errs, &ParamError{Name: k, Msg: "unknown parameter of " + spec.Name + "; it takes " + paramNames(spec)})
	}
	for _, p := range spec.Params {
		v, ok := raw[p.Name]
		if !ok || v == nil {
			if p.Required {
				errs = append(errs, &ParamError{Name: p.Name, Msg: fmt.Sprintf("required by %s: %s (%s)", spec.Name, p.Description, p.Type)})
				continue
			}
			if p.Default == nil {
				continue
			}
			v = p.Default
		}
		tv, err := convert(p, v)
		if err != nil {
			errs = append(errs, &ParamError{Name: p.Name, Msg: err.Error()})
			continue
		}
		out[p.Name] = tv
	}
	return out, errs
}

func paramNames(spec Spec) string {
	if len(spec.Params) == 0 {
		return "no parameters"
	}
	names := make([]string, len(spec.Params))
	for i, p := range spec.Params {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func convert(p Param, v any) (any, error) {
	switch p.Type {
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %s", describe(v))
		}
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, s) {
			return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(p.Enum, ", "))
		}
		return s, nil
	case TypeBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want true or false, got %s", describe(v))
		}
		return b, nil
	case TypeInt:
		switch n := v.(type) {
		case int:
			return int64(n), nil
		case int64:
			return n, nil
		case uint64:
			if n > math.MaxInt64 {
				return nil, fmt.Errorf("%d is too large", n)
			}
			return int64(n), nil
		case float64:
			if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
				return nil, fmt.Errorf("want a whole number, got %v", n)
			}
			return int64(n), nil
		}
		return nil, fmt.Errorf("want a whole number, got %s", describe(v))
	case TypeDuration:
		switch d := v.(type) {
		case time.Duration:
			return d, nil
		case string:
			dd, err := time.ParseDuration(d)
			if err != nil {
				return nil, fmt.Errorf("%q is not a duration (write 30s, 5m, 1h30m)", d)
			}
			if dd < 0 {
				return nil, fmt.Errorf("%q is negative", d)
			}
			return dd, nil
		}
		return nil, fmt.Errorf("want a duration such as 30s or 5m, got %s", describe(v))
	case TypeStrings:
		switch l := v.(type) {
		case []string:
			return l, nil
		case []any:
			out := make([]string, len(l))
			for i, x := range l {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("item %d: want a string, got %s", i+1, describe(x))
				}
				out[i] = s
			}
			return out, nil
		case string:
			return []string{l}, nil
		}
		return nil, fmt.Errorf("want a list of strings, got %s", describe(v))
	}
	return nil, fmt.Errorf("parameter type %q unknown", p.Type)
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case int, int64, uint64, float64:
		return fmt.Sprintf("the number %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}
