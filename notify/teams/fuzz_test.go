package teams_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/reflexsec/reflex/notify/notifytest"
	"github.com/reflexsec/reflex/notify/teams"
)

// FuzzEscape checks that escaped text has no Markdown construct left: every
// special character is preceded by a backslash, no "{{", no "://", no list
// marker at a line start.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{notifytest.HostileTitle, "- a\n1. b\n+ c", "\\*", "{{{", ":://", "[a](b)"} {
		f.Add(s)
	}
	special := regexp.MustCompile("[\\[\\]()*_~`<>#|!]")
	f.Fuzz(func(t *testing.T, s string) {
		e := teams.Escape(s)
		for _, loc := range special.FindAllStringIndex(e, -1) {
			// count the backslashes before it: an odd number escapes it
			n := 0
			for i := loc[0] - 1; i >= 0 && e[i] == '\\'; i-- {
				n++
			}
			if n%2 == 0 {
				t.Fatalf("unescaped %q at %d in %q (from %q)", e[loc[0]:loc[1]], loc[0], e, s)
			}
		}
		if strings.Contains(e, "{{") || strings.Contains(e, "://") {
			t.Fatalf("%q keeps {{ or ://", e)
		}
		if regexp.MustCompile(`(?m)^[ \t]*([-+]|[0-9]+[.)])`).MatchString(e) {
			t.Fatalf("a list marker starts a line in %q", e)
		}
	})
}
