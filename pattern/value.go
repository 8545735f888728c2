package pattern

// opKind is what one element of a field's value list tests.
type opKind uint8

const (
	opExact          opKind = iota // a string, compared byte for byte
	opExactIP                      // a string that is an IP address: any spelling of it
	opNumber                       // a number literal: numerically equal, or the same text
	opTrue                         // true
	opFalse                        // false
	opNull                         // null
	opPrefix                       // {"prefix": s}
	opSuffix                       // {"suffix": s}
	opPrefixCI                     // {"prefix": {"equals-ignore-case": s}}
	opSuffixCI                     // {"suffix": {"equals-ignore-case": s}}
	opEqualsCI                     // {"equals-ignore-case": s}
	opWildcard                     // {"wildcard": s}
	opNumeric                      // {"numeric": [...]}
	opExists                       // {"exists": bool}
	opCIDR                         // {"cidr": s}
	opAnyBut                       // {"anything-but": s | [s...]}
	opAnyButNum                    // {"anything-but": n | [n...]}
	opAnyButPrefix                 // {"anything-but": {"prefix": s | [s...]}}
	opAnyButSuffix                 // {"anything-but": {"suffix": s | [s...]}}
	opAnyButCI                     // {"anything-but": {"equals-ignore-case": s | [s...]}}
	opAnyButWildcard               // {"anything-but": {"wildcard": s | [s...]}}
)

// value is one compiled element of a field's value list.
type value struct {
	op     opKind
	s      string   // operand of the string operators; the literal's text for opNumber
	list   []string // anything-but string operands (folded for opAnyButCI)
	nums   []int64  // anything-but number operands, quantized
	q      int64    // opNumber: quantized value, when qok
	qok    bool
	rng    numRange    // opNumeric
	ip     ipRange     // opExactIP, opCIDR
	wc     *wildcard   // opWildcard
	wcs    []*wildcard // opAnyButWildcard
	exists bool        // opExists
	canon  string      // compact JSON of the element, for de-duplication
}

// absent reports whether the value is satisfied by the field having no value
// at all.
func (v *value) absent() bool { return v.op == opExists && !v.exists }

// clause is one field of a rule with its value list: it holds when any value
// holds.
type clause struct {
	path   string
	values []value
}

// rule is one conjunction of clauses, sorted by path; a pattern with $or is
// the disjunction of several rules.
type rule []clause
