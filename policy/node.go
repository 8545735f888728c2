package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/goccy/go-yaml/ast"
)

// Pos is a position in the configuration file (1-based).
type Pos struct {
	Line, Col int
}

// kind of a node.
type kind int

const (
	kNull kind = iota
	kScalar
	kMap
	kSeq
)

func (k kind) String() string {
	return [...]string{"nothing", "a value", "a mapping", "a list"}[k]
}

// node is a YAML (or JSON) value with its position, independent of the YAML
// library: what the decoder and the validation walk.
type node struct {
	kind   kind
	pos    Pos
	value  any // scalar: string, bool, int64, uint64, float64
	quoted bool
	keys   []*node // map keys (scalars), in order
	vals   []*node // map values
	items  []*node // list items
}

func (n *node) describe() string {
	if n == nil {
		return "nothing"
	}
	if n.kind == kScalar {
		switch v := n.value.(type) {
		case string:
			return strconv.Quote(v)
		default:
			return fmt.Sprintf("%v", v)
		}
	}
	return n.kind.String()
}

func (n *node) str() (string, bool) {
	if n == nil || n.kind != kScalar {
		return "", false
	}
	s, ok := n.value.(string)
	return s, ok
}

// text is the scalar as text, whatever its type (for map keys).
func (n *node) text() string {
	if n == nil || n.kind != kScalar {
		return ""
	}
	if s, ok := n.value.(string); ok {
		return s
	}
	return fmt.Sprint(n.value)
}

// toAny converts the node to plain Go values (map[string]any, []any,
// string, bool, int64, uint64, float64, nil).
func (n *node) toAny() any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case kScalar:
		return n.value
	case kMap:
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			m[k.text()] = n.vals[i].toAny()
		}
		return m
	case kSeq:
		l := make([]any, len(n.items))
		for i, it := range n.items {
			l[i] = it.toAny()
		}
		return l
	}
	return nil
}

// toJSON renders the node as JSON, keeping key order.
func (n *node) toJSON() ([]byte, error) {
	var buf []byte
	var walk func(*node) error
	walk = func(n *node) error {
		if n == nil {
			buf = append(buf, "null"...)
			return nil
		}
		switch n.kind {
		case kNull:
			buf = append(buf, "null"...)
		case kScalar:
			switch v := n.value.(type) {
			case float64:
				if math.IsInf(v, 0) || math.IsNaN(v) {
					return fmt.Errorf("%v cannot be written in JSON", v)
				}
			}
			b, err := json.Marshal(n.value)
			if err != nil {
				return err
			}
			buf = append(buf, b...)
		case kMap:
			buf = append(buf, '{')
			for i, k := range n.keys {
				if i > 0 {
					buf = append(buf, ',')
				}
				kb, _ := json.Marshal(k.text())
				buf = append(buf, kb...)
				buf = append(buf, ':')
				if err := walk(n.vals[i]); err != nil {
					return err
				}
			}
			buf = append(buf, '}')
		case kSeq:
			buf = append(buf, '[')
			for i, it := range n.items {
				if i > 0 {
					buf = append(buf, ',')
				}
				if err := walk(it); err != nil {
					return err
				}
			}
			buf = append(buf, ']')
		}
		return nil
	}
	err := walk(n)
	return buf, err
}

// converter turns a goccy AST into nodes, resolving anchors, aliases and
// merge keys.
type converter struct {
	anchors map[string]*node
	errs    *Errors
	depth   int
}

func posOf(n ast.Node) Pos {
	if n == nil {
		return Pos{}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Pos{}
	}
	return Pos{Line: tk.Position.Line, Col: tk.Position.Column}
}

const maxDepth = 200

func (c *converter) convert(an ast.Node) *node {
	if an == nil {
		return &node{kind: kNull}
	}
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxDepth {
		c.errs.add(posOf(an), "the document nests deeper than %d levels", maxDepth)
		return &node{kind: kNull, pos: posOf(an)}
	}
	p := posOf(an)
	switch v := an.(type) {
	case *ast.DocumentNode:
		return c.convert(v.Body)
	case *ast.NullNode:
		return &node{kind: kNull, pos: p}
	case *ast.StringNode:
		q := false
		if tk := v.GetToken(); tk != nil {
			q = tk.Type.String() == "DoubleQuote" || tk.Type.String() == "SingleQuote"
		}
		return &node{kind: kScalar, pos: p, value: v.Value, quoted: q}
	case *ast.LiteralNode:
		if v.Value == nil {
			return &node{kind: kScalar, pos: p, value: ""}
		}
		return &node{kind: kScalar, pos: p, value: v.Value.Value, quoted: true}
	case *ast.IntegerNode:
		switch n := v.Value.(type) {
		case int64:
			return &node{kind: kScalar, pos: p, value: n}
		case uint64:
			return &node{kind: kScalar, pos: p, value: n}
		case int:
			return &node{kind: kScalar, pos: p, value: int64(n)}
		case uint:
			return &node{kind: kScalar, pos: p, value: uint64(n)}
		}
		return &node{kind: kScalar, pos: p, value: fmt.Sprint(v.Value)}
	case *ast.FloatNode:
		return &node{kind: kScalar, pos: p, value: v.Value}
	case *ast.BoolNode:
		return &node{kind: kScalar, pos: p, value: v.Value}
	case *ast.InfinityNode:
		return &node{kind: kScalar, pos: p, value: v.Value}
	case *ast.NanNode:
		return &node{kind: kScalar, pos: p, value: math.NaN()}
	case *ast.TagNode:
		inner := c.convert(v.Value)
		if v.Start != nil && (v.Start.Value == "!!str" || v.Start.Value == "!str") && inner.kind == kScalar {
			inner.value = inner.text()
			inner.quoted = true
		}
		return inner
	case *ast.AnchorNode:
		n := c.convert(v.Value)
		if v.Name != nil {
			c.anchors[v.Name.GetToken().Value] = n
		}
		return n
	case *ast.AliasNode:
		name := ""
		if v.Value != nil {
			name = v.Value.GetToken().Value
		}
		n, ok := c.anchors[name]
		if !ok {
			c.errs.add(p, "alias *%s names no anchor defined before it", name)
			return &node{kind: kNull, pos: p}
		}
		return n
	case *ast.MappingNode:
		m := &node{kind: kMap, pos: p}
		for _, mv := range v.Values {
			c.addPair(m, mv)
		}
		if !v.IsFlowStyle && len(m.keys) > 0 {
			m.pos = m.keys[0].pos // a block mapping starts at its first key
		}
		return m
	case *ast.MappingValueNode:
		m := &node{kind: kMap, pos: p}
		c.addPair(m, v)
		if len(m.keys) > 0 {
			m.pos = m.keys[0].pos
		}
		return m
	case *ast.SequenceNode:
		s := &node{kind: kSeq, pos: p}
		for _, it := range v.Values {
			s.items = append(s.items, c.convert(it))
		}
		return s
	case *ast.CommentGroupNode, *ast.CommentNode:
		return &node{kind: kNull, pos: p}
	}
	c.errs.add(p, "unsupported YAML construct (%s)", an.Type())
	return &node{kind: kNull, pos: p}
}

func (c *converter) addPair(m *node, mv *ast.MappingValueNode) {
	if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
		src := c.convert(mv.Value)
		var srcs []*node
		switch src.kind {
		case kMap:
			srcs = []*node{src}
		case kSeq:
			srcs = src.items
		}
		for _, s := range srcs {
			if s.kind != kMap {
				c.errs.add(src.pos, "merge key <<: want a mapping or a list of mappings, got %s", s.kind)
				continue
			}
			for i, k := range s.keys {
				if m.lookup(k.text()) == nil {
					m.keys = append(m.keys, k)
					m.vals = append(m.vals, s.vals[i])
				}
			}
		}
		return
	}
	var kn *node
	if mk, ok := mv.Key.(*ast.MappingKeyNode); ok {
		kn = c.convert(mk.Value)
	} else {
		kn = c.convert(mv.Key)
	}
	if kn.kind != kScalar {
		c.errs.add(kn.pos, "a key must be a plain value, not %s", kn.kind)
		return
	}
	val := c.convert(mv.Value)
	if val.pos == (Pos{}) {
		val.pos = kn.pos
	}
	for i, k := range m.keys {
		if k.text() == kn.text() {
			c.errs.add(kn.pos, "key %q is repeated (first at line %d); keep one", kn.text(), k.pos.Line)
			m.vals[i] = val
			return
		}
	}
	m.keys = append(m.keys, kn)
	m.vals = append(m.vals, val)
}

func (n *node) lookup(key string) *node {
	if n == nil || n.kind != kMap {
		return nil
	}
	for i, k := range n.keys {
		if k.text() == key {
			return n.vals[i]
		}
	}
	return nil
}
