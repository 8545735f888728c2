package pattern

import (
	"unicode"
	"unicode/utf8"
)

// appendFold appends the case-folded form of s to dst. Both sides of an
// equals-ignore-case comparison are folded the same way, so comparing folded
// forms is comparing ignoring case; like event-ruler and quamina, non-ASCII
// letters fold too (É matches é). Bytes that are not UTF-8 are kept as they
// are.
func appendFold(dst []byte, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size <= 1 {
			dst = append(dst, c)
			i++
			continue
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(unicode.ToUpper(r)))
		i += size
	}
	return dst
}

func foldString(s string) string { return string(appendFold(nil, []byte(s))) }
