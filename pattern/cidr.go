package pattern

import (
	"strings"
)

// IP addresses follow event-ruler's CIDR.java: a string is an IP address when
// it has the shape of one (four dot-separated decimal groups, or hex digits
// and colons with at least one colon) and parses as one. Addresses are
// compared as numbers, so "2001:db8::1" equals
// "2001:0db8:0000:0000:0000:0000:0000:0001" and an exact IP in a pattern
// matches every spelling of that address.

// ipAddr is an IPv4 or IPv6 address as a 128-bit number; IPv4 uses lo only.
type ipAddr struct {
	hi, lo uint64
	v4     bool
}

func (a ipAddr) less(b ipAddr) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

// ipRange is an inclusive range of addresses of one family.
type ipRange struct {
	lo, hi ipAddr
}

func (r ipRange) contains(a ipAddr) bool {
	return a.v4 == r.lo.v4 && !a.less(r.lo) && !r.hi.less(a)
}

func looksLikeIPv4(s string) bool {
	groups, n := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			n++
		case c == '.':
			if n == 0 {
				return false
			}
			groups++
			n = 0
		default:
			return false
		}
	}
	return groups == 3 && n > 0
}

func looksLikeIPv6(s string) bool {
	colon := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			colon = true
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return colon
}

// parseIP reports whether s looks like an IP address (looks) and, if so,
// whether it is a valid one.
func parseIP(s string) (a ipAddr, looks, ok bool) {
	if looksLikeIPv4(s) {
		a, ok = parseIPv4(s)
		return a, true, ok
	}
	if looksLikeIPv6(s) {
		a, ok = parseIPv6(s)
		return a, true, ok
	}
	return ipAddr{}, false, false
}

// parseIPv4 parses four decimal groups of at most 255; like Java, leading
// zeros are allowed and read as decimal.
func parseIPv4(s string) (ipAddr, bool) {
	var v, g uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			v = v<<8 | g
			g = 0
			continue
		}
		g = g*10 + uint64(c-'0')
		if g > 255 {
			return ipAddr{}, false
		}
	}
	return ipAddr{lo: v<<8 | g, v4: true}, true
}

// parseIPv6 parses colon-hex notation with at most one "::". An IPv4-mapped
// address (::ffff:a.b.c.d written in hex) is an IPv4 address, as in Java.
func parseIPv6(s string) (ipAddr, bool) {
	var groups [8]uint16
	n := 0
	gap := -1
	i := 0
	if strings.HasPrefix(s, "::") {
		gap = 0
		i = 2
		if len(s) == 2 {
			return ipAddr{}, true
		}
	} else if strings.HasPrefix(s, ":") {
		return ipAddr{}, false
	}
	for i < len(s) {
		if n == 8 {
			return ipAddr{}, false
		}
		var g uint32
		d := 0
		for i < len(s) && s[i] != ':' {
			g = g<<4 | uint32(unhex(s[i]))
			d++
			i++
			if d > 4 {
				return ipAddr{}, false
			}
		}
		if d == 0 {
			return ipAddr{}, false
		}
		groups[n] = uint16(g)
		n++
		if i == len(s) {
			break
		}
		i++ // the colon
		if i == len(s) {
			return ipAddr{}, false // a trailing single colon
		}
		if s[i] == ':' {
			if gap >= 0 {
				return ipAddr{}, false
			}
			gap = n
			i++
		}
	}
	if gap < 0 && n != 8 || gap >= 0 && n == 8 {
		return ipAddr{}, false
	}
	var full [8]uint16
	if gap >= 0 {
		copy(full[:gap], groups[:gap])
		copy(full[8-(n-gap):], groups[gap:n])
	} else {
		full = groups
	}
	var a ipAddr
	for k := 0; k < 4; k++ {
		a.hi = a.hi<<16 | uint64(full[k])
		a.lo = a.lo<<16 | uint64(full[k+4])
	}
	if a.hi == 0 && a.lo>>32 == 0xffff {
		return ipAddr{lo: a.lo & 0xffffffff, v4: true}, true
	}
	return a, true
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// parseCIDR parses a cidr operand with CIDR.java's checks and messages. Host
// bits are masked off, so 10.0.0.7/24 is 10.0.0.0-10.0.0.255.
func parseCIDR(s string) (ipRange, string) {
	parts := strings.Split(s, "/")
	for len(parts) > 0 && parts[len(parts)-1] == "" { // Java's String.split drops trailing empty strings
		parts = parts[:len(parts)-1]
	}
	if len(parts) != 2 {
		return ipRange{}, "Malformed CIDR, one '/' required"
	}
	bits, ok := javaParseInt(parts[1])
	if !ok {
		return ipRange{}, "Malformed CIDR, mask bits must be an integer"
	}
	if bits < 0 {
		return ipRange{}, "Malformed CIDR, mask bits must not be negative"
	}
	a, looks, valid := parseIP(parts[0])
	if !looks {
		return ipRange{}, "Nonstandard IP address: " + parts[0]
	}
	if !valid {
		return ipRange{}, "Invalid IP address: " + parts[0]
	}
	if a.v4 {
		if bits > 31 {
			return ipRange{}, "IPv4 mask bits must be < 32"
		}
		host := uint64(1)<<(32-bits) - 1
		return ipRange{lo: ipAddr{lo: a.lo &^ host, v4: true}, hi: ipAddr{lo: a.lo | host, v4: true}}, ""
	}
	if bits > 127 {
		return ipRange{}, "IPv6 mask bits must be < 128"
	}
	var hostHi, hostLo uint64
	switch {
	case bits == 0:
		hostHi, hostLo = ^uint64(0), ^uint64(0)
	case bits < 64:
		hostHi, hostLo = ^uint64(0)>>bits, ^uint64(0)
	default:
		hostLo = ^uint64(0) >> (bits - 64)
	}
	return ipRange{
		lo: ipAddr{hi: a.hi &^ hostHi, lo: a.lo &^ hostLo},
		hi: ipAddr{hi: a.hi | hostHi, lo: a.lo | hostLo},
	}, ""
}

// javaParseInt accepts what Java's Integer.parseInt accepts (ASCII digits).
func javaParseInt(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
		if s == "" {
			return 0, false
		}
	}
	v := int64(0) // not int: 1<<31 must fit on 32-bit platforms too
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int64(s[i]-'0')
		if v > 1<<31 {
			return 0, false
		}
	}
	if neg {
		return int(-v), true
	}
	if v > 1<<31-1 {
		return 0, false
	}
	return int(v), true
}
