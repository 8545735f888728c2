package pattern

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// skimHit stands for any hit (end > 0) in the tests' tables.
const skimHit = 1

// skimBoth runs the skimmer (assembly on amd64) and skimPairsGo on event
// from offset i, in an object whose names are names (a name "a.b" is also
// filed as a dotted descendant; a name written "=a" is a field's, whose
// plain strings are recorded), and fails the test unless they agree. It
// returns where skimming stopped, why (skimHit for a hit), the node named
// by a hit's key, and the recorded strings as "name=string".
func skimBoth(t *testing.T, event []byte, names []string, i int) (pos, why int, child *pathNode, recorded []string) {
	t.Helper()
	if !asmSkimmer() {
		t.Skip("the CPU has no BMI1: the assembly skimmer is off (TestWithoutBMI1 covers that)")
	}
	pad := make([]byte, len(event)+padBytes)
	masks := specialMasks(event, nil, pad)
	b := pad[:len(event):len(event)]
	root := &pathNode{children: map[string]*pathNode{}}
	for _, n := range names {
		if name, ok := strings.CutPrefix(n, "="); ok {
			root.children[name] = &pathNode{field: 0, fm: &fieldMatcher{}}
		} else {
			root.children[n] = &pathNode{field: -1}
		}
	}
	keys := buildKeyTable(root)
	if keys == nil {
		keys = &keyTable{slots: make([]keySlot, 1), shift: 64, perfect: true}
		keys.slots[0].n = -1
	}
	st := &state{b: b, masks: masks, bPtr: unsafe.SliceData(b), mPtr: unsafe.SliceData(masks)}
	pos, end, child := st.skim(keys, i)
	var ghits strHits
	gpos, gend, gchild := skimPairsGo(b, masks, keys, i, &ghits)
	if pos != gpos || end != gend || child != gchild || st.hits != ghits {
		t.Fatalf("skim %q from %d: skim = (%d, %d, %p, %v), skimPairsGo = (%d, %d, %p, %v)", event, i, pos, end, child, st.hits, gpos, gend, gchild, ghits)
	}
	for _, h := range st.hits.h[:st.hits.n] {
		name, found := "", false
		for n, node := range root.children {
			if node == h.node {
				name, found = n, true
			}
		}
		if h.node.fm == nil || !found || b[h.start-1] != '"' || b[h.end] != '"' || nextSpecial(masks, h.start) != h.end {
			t.Fatalf("skim %q from %d: recorded %+v, not a field's plain string", event, i, h)
		}
		recorded = append(recorded, name+"="+string(b[h.start:h.end]))
	}
	why = end
	if end > 0 {
		why = skimHit
		if b[pos] != '"' || b[end] != '"' || nextSpecial(masks, pos+1) != end {
			t.Fatalf("skim %q from %d: a hit at %d ending at %d is not a plain key", event, i, pos, end)
		}
		if child != nil && child != root.children[string(b[pos+1:end])] {
			t.Fatalf("skim %q from %d: the hit %s names %p, not its node", event, i, b[pos:end+1], child)
		}
	}
	return pos, why, child, recorded
}

// TestSkim checks where skimming stops and why, from the first key of
// each object (offset 1), on both implementations: it goes past plain
// compact pairs of every kind of value and stops at a name's key, at the
// end of the object, and at anything it leaves to the checked path, at
// the start of the pair it could not read.
func TestSkim(t *testing.T) {
	deep := `{"a":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `,"z":1}`
	tooDeep := `{"a":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`
	for _, tc := range []struct {
		name, event string
		names       []string
		pos, why    int
		recorded    string // the strings recorded, "name=string" separated by spaces
	}{
		{"empty object is not skimmed (the caller sees '}')", `{}`, nil, 1, skimBail, ""},
		{"strings to the end", `{"a":"x","bb":"y"}`, nil, 18, skimEnd, ""},
		{"every kind of value", `{"s":"x","n":-12.50,"z":0,"t":true,"f":false,"u":null,"o":{"k":[1,{"x":[]},{}]},"e":[]}`, nil, 87, skimEnd, ""},
		{"a name's key", `{"a":"x","type":"y"}`, []string{"type"}, 9, skimHit, ""},
		{"same length and first byte as a name: looked up, skimmed", `{"a":"x","tame":"y"}`, []string{"type"}, 20, skimEnd, ""},
		{"a name longer than 16 bytes: left to the Go look-up", `{"a":"x","instanceDetailsXYZ":"y"}`, []string{"instanceDetailsXYZ"}, 9, skimHit, ""},
		{"the first key", `{"type":"y"}`, []string{"type"}, 1, skimHit, ""},
		{"nested keys are not looked up", `{"o":{"type":1}}`, []string{"type"}, 16, skimEnd, ""},
		{"nesting to 63", deep, nil, len(deep), skimEnd, ""},
		{"nesting to 64", tooDeep, nil, 1, skimBail, ""},
		{"whitespace after ':'", `{"a":"x","b": "y"}`, nil, 9, skimBail, ""},
		{"whitespace after ','", `{"a":"x", "b":"y"}`, nil, 9, skimBail, ""},
		{"whitespace inside a value", `{"a":"x","b":[1, 2]}`, nil, 9, skimBail, ""},
		{"escape in a key", `{"a":"x","\u0062":"y"}`, nil, 9, skimBail, ""},
		{"escape in a value", `{"a":"x","b":"\"y"}`, nil, 9, skimBail, ""},
		{"exponent", `{"a":"x","b":1e5}`, nil, 9, skimBail, ""},
		{"exponent after a fraction", `{"a":"x","b":1.5E5}`, nil, 9, skimBail, ""},
		{"leading zero", `{"a":"x","b":01}`, nil, 9, skimBail, ""},
		{"bare minus", `{"a":"x","b":-}`, nil, 9, skimBail, ""},
		{"fraction without digits", `{"a":"x","b":1.}`, nil, 9, skimBail, ""},
		{"bad literal", `{"a":"x","b":tru}`, nil, 9, skimBail, ""},
		{"bad false", `{"a":"x","b":falsy}`, nil, 9, skimBail, ""},
		{"array closed by '}'", `{"a":"x","b":[1}}`, nil, 9, skimBail, ""},
		{"object closed by ']'", `{"a":"x","b":{"c":1]}`, nil, 9, skimBail, ""},
		{"trailing comma in an array", `{"a":"x","b":[1,]}`, nil, 9, skimBail, ""},
		{"trailing comma in the object", `{"a":"x",}`, nil, 9, skimBail, ""},
		{"missing colon", `{"a":"x","b""y"}`, nil, 9, skimBail, ""},
		{"control byte in a string", "{\"a\":\"x\",\"b\":\"\x01\"}", nil, 9, skimBail, ""},
		{"unterminated string", `{"a":"x","b":"y`, nil, 9, skimBail, ""},
		{"end of input after a value", `{"a":"x","b":1`, nil, 9, skimBail, ""},
		{"end of input in a nested object", `{"a":"x","b":{"c":1`, nil, 9, skimBail, ""},
		{"a key's value is not read when it is a name's", `{"type":@}`, []string{"type"}, 1, skimHit, ""},
		{"a field's strings are recorded and skimmed", `{"key":"k","a":1,"value":"v"}`, []string{"=key", "=value"}, 29, skimEnd, "key=k value=v"},
		{"a tag's pair, recorded in order", `{"value":"v","key":""}`, []string{"=key", "=value"}, 22, skimEnd, "value=v key="},
		{"a recorded string, then a hit", `{"key":"k","type":"t"}`, []string{"=key", "type"}, 11, skimHit, "key=k"},
		{"a field's string with an escape is a hit", `{"key":"k","value":"\"v"}`, []string{"=key", "=value"}, 11, skimHit, "key=k"},
		{"a field's number is a hit", `{"key":"k","value":1}`, []string{"=key", "=value"}, 11, skimHit, "key=k"},
		{"a field's object is a hit", `{"key":{"value":"v"}}`, []string{"=key", "=value"}, 1, skimHit, ""},
		{"a field's unterminated string is a hit", `{"key":"k`, []string{"=key"}, 1, skimHit, ""},
		{"a field's string before whitespace", `{"key":"k" ,"a":1}`, []string{"=key"}, 1, skimBail, "key=k"},
		{"a field's string in an invalid object", `{"key":"k","a":}`, []string{"=key"}, 11, skimBail, "key=k"},
		{"whitespace before a field's string is a hit", `{"key": "k"}`, []string{"=key"}, 1, skimHit, ""},
		{"a name without a field is a hit", `{"type":"t"}`, []string{"type"}, 1, skimHit, ""},
		{"a record of 16, then a hit", `{` + strings.Repeat(`"key":"k",`, 17) + `"a":1}`, []string{"=key"}, 161, skimHit, strings.TrimSpace(strings.Repeat("key=k ", 16))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pos, why, _, recorded := skimBoth(t, []byte(tc.event), tc.names, 1)
			if pos != tc.pos || why != tc.why || strings.Join(recorded, " ") != tc.recorded {
				t.Errorf("skim %s = (%d, %d, %q), want (%d, %d, %q)", tc.event, pos, why, recorded, tc.pos, tc.why, tc.recorded)
			}
		})
	}
}

// FuzzSkim compares the assembly skimmer with skimPairsGo from every
// offset of any input (on other architectures both are skimPairsGo).
func FuzzSkim(f *testing.F) {
	f.Add([]byte(`{"a":"x","n":-1.5,"o":{"k":[true,false,null,{}]},"type":"y"}`), "type")
	f.Add([]byte(`{"a":"x\"","b":1e5, "c":[1,]}`), "")
	f.Add([]byte(`{"a":`+strings.Repeat("[", 70)), "a")
	f.Add([]byte(`{"key":"k","value":"v\"","type":"t","n":{"type":"x"},"o":1}`), "=key,=value,type,=n,=o")
	f.Fuzz(func(t *testing.T, event []byte, names string) {
		for i := 0; i <= len(event); i++ {
			skimBoth(t, event, strings.Split(names, ","), i)
		}
	})
}

// TestEventEndsAtEveryOffset puts every kind of value, whole and cut
// short, at the very end of events of every length from 60 to 200 bytes
// (so that the end falls at each position of a 64-byte block, where the
// scanner's padded copy ends) and compares the matcher with the reference
// scanner: the padding's zeros must read as the end of the input, whatever
// path reads them (skimming, skipFast, the checked loops).
func TestEventEndsAtEveryOffset(t *testing.T) {
	m := NewMatcher()
	for id, src := range map[string]string{
		"ref": `{"detail":{"v":[{"exists":true}]}}`,
		"num": `{"detail":{"v":[{"numeric":[">",0]}]}}`,
		"str": `{"detail":{"v":["x"]}}`,
	} {
		if err := m.Add(id, []byte(src)); err != nil {
			t.Fatal(err)
		}
	}
	values := []string{`1`, `-12.5`, `1e5`, `0`, `true`, `false`, `null`, `"x"`, `"a\"b"`, `{}`, `[]`,
		`{"k":1}`, `[1,{"k":[true]}]`, `tru`, `fals`, `nul`, `-`, `1.`, `"x`, `{"k":`, `[1,`}
	for _, key := range []string{"v", "w"} { // a referenced key and one that is skimmed
		for _, v := range values {
			for _, closing := range []string{"}}", "}", ""} {
				for n := 60; n <= 200; n++ {
					pre := `{"detail":{"pad":"`
					post := `","` + key + `":` + v + closing
					fill := n - len(pre) - len(post)
					if fill < 0 {
						continue
					}
					ev := []byte(pre + strings.Repeat("p", fill) + post)
					if d := sameAsReference(m, ev); d != "" {
						t.Fatalf("event %s: %s", ev, d)
					}
				}
			}
		}
	}
}

// TestSkimNearDepthLimit nests arrays along a referenced path to just
// under EventBridge's depth limit, with objects in them whose values nest
// further: the skimmer, which does not count toward the limit, must leave
// them to the checked loop there, which refuses what is too deep where the
// reference scanner does.
func TestSkimNearDepthLimit(t *testing.T) {
	m := NewMatcher()
	if err := m.Add("r", []byte(`{"detail":{"v":{"w":["x"]}}}`)); err != nil {
		t.Fatal(err)
	}
	for _, inner := range []int{1, 40, 63, 64} {
		for outer := maxEventDepth - 3*fastDepth; outer < maxEventDepth; outer += 7 {
			ev := `{"detail":{"v":` + strings.Repeat("[", outer) + `{"w":"x","k":` + strings.Repeat("[", inner) +
				strings.Repeat("]", inner) + `}` + strings.Repeat("]", outer) + `}}`
			if d := sameAsReference(m, []byte(ev)); d != "" {
				t.Fatalf("%d arrays, then %d inside an object: %s", outer, inner, d)
			}
		}
	}
}

// TestArrayObjectElements checks the array loop's path for elements that
// are objects, which one skimmer call reads to their '}' when it can (tags)
// and object reads from the start when it cannot, against the reference
// scanner: every kind of element, and each pattern needing the key and the
// value of one element (array consistency).
func TestArrayObjectElements(t *testing.T) {
	m := NewMatcher()
	for id, src := range map[string]string{
		"tag":    `{"tags":{"key":["env"],"value":["prod"]}}`,
		"nested": `{"tags":{"key":["env"],"meta":{"v":[1]}}}`,
		"exists": `{"tags":{"value":[{"exists":false}]}}`,
	} {
		if err := m.Add(id, []byte(src)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		elems, want string // want: the matches, or "-" for an invalid event
	}{
		{`{"key":"env","value":"prod"}`, "[tag]"},
		{`{"key":"env","value":"dev"},{"key":"team","value":"prod"}`, "[]"}, // key and value in different elements
		{`{"key":"team","value":"x"},{"value":"prod","key":"env"}`, "[tag]"},
		{`{"key":"env","meta":{"v":1}}`, "[exists nested]"}, // a named object after a recorded string
		{`{"key":"env","value":"pr\u006fd"}`, "[tag]"},      // an escape after a recorded string
		{`{"key":"env", "value":"prod"}`, "[tag]"},          // whitespace
		{`{"key":"env","value":1}`, "[]"},                   // a named number
		{`{}`, "[exists]"},
		{`{"key":"env"},{}`, "[exists]"},
		{`"env"`, "[exists]"},
		{`1`, "[exists]"},
		{`[{"key":"env","value":"prod"}]`, "[tag]"},
		{`{"a":{"b":[1,{"c":"d"}]},"key":"env","value":"prod"}`, "[tag]"},
		{`{"key":"env","value":"prod",}`, "-"}, // invalid after recorded strings
		{`{"key":"env","value":"prod"`, "-"},   // cut short
	} {
		ev := `{"tags":[` + tc.elems + `]}`
		if d := sameAsReference(m, []byte(ev)); d != "" {
			t.Errorf("%s: %s", ev, d)
		}
		got, err := m.Match([]byte(ev))
		if s := fmt.Sprint(got); err != nil && tc.want != "-" || err == nil && s != tc.want {
			t.Errorf("%s: matches %s (error %v), want %s", ev, s, err, tc.want)
		}
	}
}
