package pattern

import "testing"

// TestLoneSurrogateEscape: a high-surrogate escape not followed by a
// "\uXXXX" escape stays a lone surrogate (U+FFFD), whatever characters
// follow — found by FuzzMatch ("\ud83d0ude00" was read as 😀).
func TestLoneSurrogateEscape(t *testing.T) {
	tests := []struct {
		event string
		match bool
	}{
		{`{"k":"\ud83d\ude00"}`, true},      // a real pair is 😀
		{`{"k":"\ud83d0ude00"}`, false},     // no backslash before the second u
		{`{"k":"\ud83dxude00"}`, false},     // any other character
		{`{"k":"\ud83d\u0041de00"}`, false}, // a non-surrogate escape after it
	}
	p, err := Parse([]byte(`{"k":["😀"]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		got, err := p.Match([]byte(tt.event))
		if err != nil || got != tt.match {
			t.Errorf("%s: match %v (%v), want %v", tt.event, got, err, tt.match)
		}
	}
}
