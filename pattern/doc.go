// Package pattern implements the Amazon EventBridge event-pattern language:
// it parses and validates patterns with EventBridge's own rules and error
// messages, compiles many patterns into one Matcher, and matches raw JSON
// event bytes against them.
//
// A pattern means here what it means in EventBridge. Where the AWS
// documentation and the behaviour of EventBridge differ, the package follows
// the observed behaviour (recorded with real TestEventPattern calls) and,
// where nothing was observed, AWS's open-source engine aws/event-ruler. The
// choices are listed in README.md.
//
// # Language
//
// A pattern is a JSON object with the nesting of the events it matches. Every
// leaf is an array of values: the field matches when any value matches (OR),
// and the pattern matches when every field matches (AND). Values are exact
// strings, numbers (compared numerically), true, false and null, or one of
// the operators prefix, suffix, equals-ignore-case, wildcard, anything-but,
// numeric, exists and cidr. "$or" combines alternative sub-patterns at any
// level. Event arrays match when any element matches; fields taken from
// objects inside an array must come from the same element.
//
// # Matching
//
// Parse validates one pattern. A Matcher holds many patterns, each with an id,
// and returns the ids that match an event. Matching flattens the event once,
// skipping every subtree no pattern refers to, evaluates indexed per-field
// value matchers (hash sets, prefix and suffix tables, numeric intervals, IP
// ranges, wildcards) and combines the results per pattern, so its cost grows
// with the fields an event has in common with the patterns, not with the
// number of patterns. Matching does not allocate in steady state and is safe
// for concurrent use; patterns can be added and removed at any time.
package pattern
