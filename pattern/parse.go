package pattern

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits EventBridge applies to patterns (D-quota, D-md).
const (
	// DefaultMaxSize is EventBridge's default event pattern size quota, in
	// characters. The quota is adjustable; see ParseOptions.
	DefaultMaxSize = 2048
	// MaxCombinations is how many sub-patterns $or may expand to.
	MaxCombinations = 1000
)

// ParseOptions changes the limits Parse applies.
type ParseOptions struct {
	// MaxSize is the largest pattern accepted, in characters; 0 means
	// DefaultMaxSize and a negative value means no limit.
	MaxSize int
}

// Parse validates one pattern (JSON text) with EventBridge's rules. An error
// is an *Error whose message is EventBridge's.
func Parse(src []byte) (*Pattern, error) {
	return ParseOptions{}.Parse(src)
}

// Parse validates one pattern with the options' limits.
func (o ParseOptions) Parse(src []byte) (*Pattern, error) {
	max := o.MaxSize
	if max == 0 {
		max = DefaultMaxSize
	}
	if max > 0 && len(src) > max {
		if n := utf8.RuneCount(src); n > max {
			return nil, errAt(-1, "Event pattern is %d characters long, more than the limit of %d", n, max)
		}
	}
	c := &compiler{lx: newLexer(src)}
	rules, err := c.compile()
	if err != nil {
		return nil, err
	}
	return &Pattern{canon: string(c.lx.canon), rules: toRules(rules)}, nil
}

// ruleMap is one sub-rule while compiling: field path → value list.
type ruleMap map[string][]value

// compiler is a port of event-ruler's JsonRuleCompiler: it walks the token
// stream in order, so the first problem in document order is the one
// reported, with the same message.
type compiler struct {
	lx   *lexer
	path []string
}

func (c *compiler) next() (token, *Error) { return c.lx.next() }

func (c *compiler) compile() ([]ruleMap, *Error) {
	t, err := c.next()
	if err != nil {
		return nil, err
	}
	if t.kind != tBeginObj {
		return nil, errAt(t.off, "Filter is not an object")
	}
	var rules []ruleMap
	if rules, err = c.object(rules, false); err != nil {
		return nil, err
	}
	if t, err = c.next(); err != nil {
		return nil, err
	}
	if t.kind != tEOF {
		return nil, errAt(t.off, "Unexpected content after the pattern object")
	}
	return rules, nil
}

// reserved are the names that cannot be fields inside $or
// (Constants.RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP).
var reserved = map[string]bool{
	"exactly": true, "equals-ignore-case": true, "prefix": true, "suffix": true,
	"anything-but": true, "exists": true, "wildcard": true, "numeric": true, "cidr": true,
	"=": true, "<": true, "<=": true, ">": true, ">=": true,
	"regex": true, "not-wildcard": true, "not-equals-ignore-case": true,
	"date-after": true, "date-on-or-after": true, "date-before": true, "date-on-or-before": true,
	"in-date-range": true, "ip-address-in-range": true, "ip-address-not-in-range": true,
}

// object reads the members of an object whose '{' was just read.
func (c *compiler) object(rules []ruleMap, inOr bool) ([]ruleMap, *Error) {
	present := false
	for {
		t, err := c.next()
		if err != nil {
			return nil, err
		}
		if t.kind == tEndObj {
			break
		}
		present = true
		name := t.text
		if name == "$or" {
			if rules, err = c.or(rules); err != nil {
				return nil, err
			}
			continue
		}
		if inOr && reserved[name] {
			return nil, errAt(t.off, "%s is Ruler reserved fieldName which cannot be used inside $or.", name)
		}
		v, err := c.next()
		if err != nil {
			return nil, err
		}
		switch v.kind {
		case tBeginObj:
			c.path = append(c.path, name)
			rules, err = c.object(rules, inOr)
			c.path = c.path[:len(c.path)-1]
			if err != nil {
				return nil, err
			}
		case tBeginArr:
			if rules, err = c.writeRules(rules, c.extended(name)); err != nil {
				return nil, err
			}
		default:
			return nil, errAt(v.off, "%q must be an object or an array", name)
		}
	}
	if !present {
		return nil, errAt(c.lx.pos-1, "Empty objects are not allowed")
	}
	return rules, nil
}

func (c *compiler) extended(name string) string {
	if len(c.path) == 0 {
		return name
	}
	return strings.Join(c.path, ".") + "." + name
}

func copyRules(rules []ruleMap) []ruleMap {
	out := make([]ruleMap, len(rules))
	for i, r := range rules {
		m := make(ruleMap, len(r))
		for k, v := range r {
			m[k] = v
		}
		out[i] = m
	}
	return out
}

// or expands a "$or" member: every branch forks a copy of the rules so far.
func (c *compiler) or(rules []ruleMap) ([]ruleMap, *Error) {
	current := copyRules(rules)
	t, err := c.next()
	if err != nil {
		return nil, err
	}
	if t.kind != tBeginArr {
		return nil, errAt(t.off, "It must be an Array followed with $or.")
	}
	var out []ruleMap
	branches := 0
	for {
		t, err := c.next()
		if err != nil {
			return nil, err
		}
		if t.kind == tEndArr {
			break
		}
		branches++
		if t.kind != tBeginObj {
			return nil, errAt(t.off, "Only JSON object is allowed in array of $or relationship.")
		}
		fork := copyRules(current)
		if len(fork) == 0 {
			fork = append(fork, ruleMap{})
		}
		if fork, err = c.object(fork, true); err != nil {
			return nil, err
		}
		out = append(out, fork...)
		if len(out) > MaxCombinations {
			return nil, errAt(t.off, "The $or combinations in the pattern are more than the limit of %d", MaxCombinations)
		}
	}
	if branches < 2 {
		return nil, errAt(c.lx.pos-1, "There must have at least 2 Objects in $or relationship.")
	}
	return out, nil
}

// writeRules reads a field's value list (after its '[') and sets it in
// every rule; a field set twice keeps its last list.
func (c *compiler) writeRules(rules []ruleMap, name string) ([]ruleMap, *Error) {
	var values []value
	for {
		start := len(c.lx.canon)
		t, err := c.next()
		if err != nil {
			return nil, err
		}
		if t.kind == tEndArr {
			break
		}
		if start < len(c.lx.canon) && c.lx.canon[start] == ',' {
			start++
		}
		var v value
		switch t.kind {
		case tBeginObj:
			if v, err = c.matchExpression(); err != nil {
				return nil, err
			}
		case tString:
			if a, looks, ok := parseIP(t.text); looks && ok {
				v = value{op: opExactIP, s: t.text, ip: ipRange{lo: a, hi: a}}
			} else {
				v = value{op: opExact, s: t.text}
			}
		case tInt, tFloat:
			v = value{op: opNumber, s: t.text}
			v.q, v.qok = quantizeText(t.text)
		case tTrue:
			v = value{op: opTrue}
		case tFalse:
			v = value{op: opFalse}
		case tNull:
			v = value{op: opNull}
		default:
			return nil, errAt(t.off, "Match value must be String, number, true, false, or null")
		}
		v.canon = string(c.lx.canon[start:])
		values = append(values, v)
	}
	if len(values) == 0 {
		return nil, errAt(c.lx.pos-1, "Empty arrays are not allowed")
	}
	if len(rules) == 0 {
		rules = append(rules, ruleMap{})
	}
	for _, r := range rules {
		r[name] = values
	}
	return rules, nil
}

// end expects the '}' that closes a match expression.
func (c *compiler) end() *Error {
	t, err := c.next()
	if err != nil {
		return err
	}
	if t.kind != tEndObj {
		return errAt(t.off, "Only one key allowed in match expression")
	}
	return nil
}

func (c *compiler) endNumeric() *Error {
	t, err := c.next()
	if err != nil {
		return err
	}
	if t.kind != tEndObj {
		return errAt(t.off, "Too many elements in numeric expression")
	}
	return nil
}

// matchExpression reads an operator object after its '{'.
func (c *compiler) matchExpression() (value, *Error) {
	t, err := c.next()
	if err != nil {
		return value{}, err
	}
	if t.kind != tField {
		return value{}, errAt(t.off, "Match expression name not found")
	}
	switch t.text {
	case "exactly":
		return c.stringOp(opExact, "exact match pattern must be a string")
	case "prefix":
		return c.affix(opPrefix, opPrefixCI, "prefix")
	case "suffix":
		return c.affix(opSuffix, opSuffixCI, "suffix")
	case "equals-ignore-case":
		v, err := c.stringOp(opEqualsCI, "equals-ignore-case match pattern must be a string")
		v.s = foldString(v.s)
		return v, err
	case "wildcard":
		v, err := c.next()
		if err != nil {
			return value{}, err
		}
		if v.kind != tString {
			return value{}, errAt(v.off, "wildcard match pattern must be a string")
		}
		w, msg := parseWildcard(v.text)
		if msg != "" {
			return value{}, errMsg(v.off, msg)
		}
		if err := c.end(); err != nil {
			return value{}, err
		}
		return value{op: opWildcard, s: v.text, wc: w}, nil
	case "numeric":
		v, err := c.next()
		if err != nil {
			return value{}, err
		}
		if v.kind != tBeginArr {
			return value{}, errAt(v.off, "Value of numeric must be an array.")
		}
		r, err := c.numeric()
		if err != nil {
			return value{}, err
		}
		if err := c.endNumeric(); err != nil {
			return value{}, err
		}
		return value{op: opNumeric, rng: r}, nil
	case "anything-but":
		return c.anythingBut()
	case "exists":
		v, err := c.next()
		if err != nil {
			return value{}, err
		}
		if v.kind != tTrue && v.kind != tFalse {
			return value{}, errAt(v.off, "exists match pattern must be either true or false.")
		}
		if err := c.end(); err != nil {
			return value{}, err
		}
		return value{op: opExists, exists: v.kind == tTrue}, nil
	case "cidr":
		v, err := c.next()
		if err != nil {
			return value{}, err
		}
		if v.kind != tString {
			// event-ruler's message, observed from EventBridge too.
			return value{}, errAt(v.off, "prefix match pattern must be a string")
		}
		r, msg := parseCIDR(v.text)
		if msg != "" {
			return value{}, errMsg(v.off, msg)
		}
		if err := c.end(); err != nil {
			return value{}, err
		}
		return value{op: opCIDR, s: v.text, ip: r}, nil
	default:
		return value{}, errAt(t.off, "Unrecognized match type %s", t.text)
	}
}

func (c *compiler) stringOp(op opKind, msg string) (value, *Error) {
	v, err := c.next()
	if err != nil {
		return value{}, err
	}
	if v.kind != tString {
		return value{}, errMsg(v.off, msg)
	}
	if err := c.end(); err != nil {
		return value{}, err
	}
	return value{op: op, s: v.text}, nil
}

// affix reads the operand of prefix or suffix: a string, or
// {"equals-ignore-case": string}.
func (c *compiler) affix(op, opCI opKind, name string) (value, *Error) {
	v, err := c.next()
	if err != nil {
		return value{}, err
	}
	if v.kind == tBeginObj {
		k, err := c.next()
		if err != nil {
			return value{}, err
		}
		title := strings.ToUpper(name[:1]) + name[1:]
		if k.kind != tField {
			return value{}, errAt(k.off, "%s expression name not found", title)
		}
		if k.text != "equals-ignore-case" {
			return value{}, errAt(k.off, "Unsupported %s pattern: %s", name, k.text)
		}
		s, err := c.next()
		if err != nil {
			return value{}, err
		}
		if s.kind != tString {
			return value{}, errAt(s.off, "equals-ignore-case match pattern must be a string")
		}
		if err := c.end(); err != nil {
			return value{}, err
		}
		if err := c.end(); err != nil {
			return value{}, err
		}
		return value{op: opCI, s: foldString(s.text)}, nil
	}
	if v.kind != tString {
		return value{}, errAt(v.off, "%s match pattern must be a string", name)
	}
	if err := c.end(); err != nil {
		return value{}, err
	}
	return value{op: op, s: v.text}, nil
}

func (c *compiler) anythingBut() (value, *Error) {
	t, err := c.next()
	if err != nil {
		return value{}, err
	}
	op := opAnyBut
	nested := false
	if t.kind == tBeginObj {
		nested = true
		k, err := c.next()
		if err != nil {
			return value{}, err
		}
		if k.kind != tField {
			return value{}, errAt(k.off, "Anything-But expression name not found")
		}
		switch k.text {
		case "equals-ignore-case":
			op = opAnyButCI
		case "prefix":
			op = opAnyButPrefix
		case "suffix":
			op = opAnyButSuffix
		case "wildcard":
			op = opAnyButWildcard
		default:
			return value{}, errAt(k.off, "Unsupported anything-but pattern: %s", k.text)
		}
		if t, err = c.next(); err != nil {
			return value{}, err
		}
	}
	if t.kind != tBeginArr && t.kind != tString && !t.kind.numeric() {
		return value{}, errAt(t.off, "Value of anything-but must be an array or single string/number value.")
	}
	var v value
	if op == opAnyBut {
		v, err = c.anythingButPlain(t)
	} else {
		v, err = c.anythingButSet(t, op)
	}
	if err != nil {
		return value{}, err
	}
	if err := c.endNumeric(); err != nil {
		return value{}, err
	}
	if nested {
		if err := c.endNumeric(); err != nil {
			return value{}, err
		}
	}
	return v, nil
}

// anythingButPlain reads anything-but's plain operand: one string or number,
// or a list that is all strings or all numbers.
func (c *compiler) anythingButPlain(t token) (value, *Error) {
	if t.kind != tBeginArr {
		if t.kind == tString {
			return value{op: opAnyBut, list: []string{t.text}}, nil
		}
		q, ok := quantizeText(t.text)
		if !ok {
			return value{}, errMsg(t.off, numRangeMsg)
		}
		return value{op: opAnyButNum, nums: []int64{q}}, nil
	}
	var strs []string
	var nums []int64
	for {
		e, err := c.next()
		if err != nil {
			return value{}, err
		}
		if e.kind == tEndArr {
			break
		}
		switch {
		case e.kind == tString:
			strs = append(strs, e.text)
		case e.kind.numeric():
			q, ok := quantizeText(e.text)
			if !ok {
				return value{}, errMsg(e.off, numRangeMsg)
			}
			nums = append(nums, q)
		default:
			return value{}, errAt(e.off, "Inside anything but list, start|null|boolean is not supported.")
		}
	}
	if len(strs) > 0 == (len(nums) > 0) {
		return value{}, errAt(c.lx.pos-1, "Inside anything but list, either all values are number or string, mixed type is not supported")
	}
	if len(nums) > 0 {
		return value{op: opAnyButNum, nums: nums}, nil
	}
	return value{op: opAnyBut, list: strs}, nil
}

// anythingButSet reads the operand of anything-but's prefix, suffix,
// equals-ignore-case or wildcard: a string or a list of strings.
func (c *compiler) anythingButSet(t token, op opKind) (value, *Error) {
	v := value{op: op}
	add := func(e token) *Error {
		if e.kind != tString {
			switch op {
			case opAnyButCI:
				return errAt(e.off, "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")
			case opAnyButWildcard:
				return errAt(e.off, "wildcard match pattern must be a string")
			default:
				return errAt(e.off, "prefix/suffix match pattern must be a string")
			}
		}
		s := e.text
		switch op {
		case opAnyButPrefix, opAnyButSuffix:
			if s == "" {
				return errAt(e.off, "Null prefix/suffix not allowed")
			}
		case opAnyButCI:
			s = foldString(s)
		case opAnyButWildcard:
			w, msg := parseWildcard(s)
			if msg != "" {
				return errMsg(e.off, msg)
			}
			v.wcs = append(v.wcs, w)
		}
		v.list = append(v.list, s)
		return nil
	}
	if t.kind != tBeginArr {
		return v, add(t)
	}
	for {
		e, err := c.next()
		if err != nil {
			return value{}, err
		}
		if e.kind == tEndArr {
			return v, nil
		}
		if err := add(e); err != nil {
			return value{}, err
		}
	}
}

// numeric reads a numeric expression after its '['.
func (c *compiler) numeric() (numRange, *Error) {
	t, err := c.next()
	if err != nil {
		return numRange{}, err
	}
	if t.kind != tString {
		return numRange{}, errAt(t.off, "Invalid member in numeric match: %s", tokenText(t))
	}
	opName := t.text
	operand := func(name string) (int64, *Error) {
		v, err := c.next()
		if err != nil {
			return 0, err
		}
		if !v.kind.numeric() {
			return 0, errAt(v.off, "Value of %s must be numeric", name)
		}
		q, ok := quantizeText(v.text)
		if !ok {
			return 0, errMsg(v.off, numRangeMsg)
		}
		return q, nil
	}
	closeArr := func() *Error {
		v, err := c.next()
		if err != nil {
			return err
		}
		if v.kind != tEndArr {
			return errAt(v.off, "Too many elements in numeric expression")
		}
		return nil
	}
	switch opName {
	case "=":
		q, err := operand("equals")
		if err != nil {
			return numRange{}, err
		}
		return numRange{lo: q, hi: q}, closeArr()
	case "<", "<=":
		q, err := operand(opName)
		if err != nil {
			return numRange{}, err
		}
		return numRange{lo: qMin, hi: q, hiOpen: opName == "<"}, closeArr()
	case ">", ">=":
		lo, err := operand(opName)
		if err != nil {
			return numRange{}, err
		}
		r := numRange{lo: lo, loOpen: opName == ">", hi: qMax}
		t, err := c.next()
		if err != nil {
			return numRange{}, err
		}
		if t.kind == tEndArr {
			return r, nil
		}
		if t.kind != tString {
			return numRange{}, errAt(t.off, "Bad value in numeric range: %s", tokenText(t))
		}
		if t.text != "<" && t.text != "<=" {
			return numRange{}, errAt(t.off, "Bad numeric range operator: %s", t.text)
		}
		hi, err := operand(t.text)
		if err != nil {
			return numRange{}, err
		}
		r.hi, r.hiOpen = hi, t.text == "<"
		if r.lo >= r.hi {
			return numRange{}, errAt(t.off, "Bottom must be less than top")
		}
		e, err := c.next()
		if err != nil {
			return numRange{}, err
		}
		if e.kind != tEndArr {
			return numRange{}, errAt(e.off, "Too many terms in numeric range expression")
		}
		return r, nil
	default:
		return numRange{}, errAt(t.off, "Unrecognized numeric range operator: %s", opName)
	}
}

// tokenText is what Jackson's getText() returns for a token.
func tokenText(t token) string {
	switch t.kind {
	case tBeginObj:
		return "{"
	case tEndObj:
		return "}"
	case tBeginArr:
		return "["
	case tEndArr:
		return "]"
	}
	return t.text
}

// toRules turns the compiler's maps into rules with clauses sorted by path.
func toRules(maps []ruleMap) []rule {
	rules := make([]rule, 0, len(maps))
	for _, m := range maps {
		r := make(rule, 0, len(m))
		for path, vals := range m {
			r = append(r, clause{path: path, values: vals})
		}
		sort.Slice(r, func(i, j int) bool { return r[i].path < r[j].path })
		rules = append(rules, r)
	}
	return rules
}
