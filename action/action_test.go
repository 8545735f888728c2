package action

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseParams(t *testing.T) {
	spec := testStep{}.Spec()
	for _, tc := range []struct {
		name string
		raw  map[string]any
		errs []string
	}{
		{"ok", map[string]any{"dir": "/tmp", "sleep": "2s", "fail": uint64(1)}, nil},
		{"json numbers", map[string]any{"dir": "/tmp", "fail": float64(2)}, nil},
		{"missing", map[string]any{}, []string{`parameter "dir": required`}},
		{"types", map[string]any{"dir": 3, "sleep": 5, "fail": 1.5, "fail_hard": "yes"},
			[]string{`"dir": want a string`, `"sleep": want a duration`, `"fail": want a whole number`, `"fail_hard": want true or false`}},
		{"unknown", map[string]any{"dir": "x", "dri": "y"}, []string{`"dri": unknown parameter of test.effect`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, errs := ParseParams(spec, tc.raw)
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors %v, want %v", errs, tc.errs)
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tc.errs[i]) {
					t.Errorf("error %q, want %q", e, tc.errs[i])
				}
			}
			if len(errs) == 0 && p.Duration("sleep") != map[bool]time.Duration{true: 2 * time.Second, false: 0}[tc.name == "ok"] {
				t.Errorf("sleep %v", p.Duration("sleep"))
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	for _, n := range []string{"record", "notify", "test.effect", "ec2.isolate", "iam.deactivate-key", "s3.block-public-access", "findings.update"} {
		if _, ok := r.Lookup(n); !ok {
			t.Errorf("%s not registered", n)
		}
	}
	st, _ := r.Lookup("ec2.isolate")
	if st.Spec().Available {
		t.Fatal("ec2.isolate is only declared in this build")
	}
	res := st.Do(context.Background(), &Request{})
	if res.Status != StatusFailed || res.Retry || !errors.Is(res.Err, ErrNotImplemented) {
		t.Fatalf("declared step ran: %+v", res)
	}
	// an implementation replaces a declaration, not another implementation
	impl := fakeStep{Spec{Name: "ec2.isolate", Effect: Reversible, Available: true}}
	if err := r.Register(impl); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(impl); err == nil {
		t.Fatal("registered twice")
	}
	if err := r.Register(fakeStep{Spec{Name: "x", Effect: "sometimes"}}); err == nil {
		t.Fatal("bad effect accepted")
	}
}

type fakeStep struct{ spec Spec }

func (f fakeStep) Spec() Spec                                     { return f.spec }
func (f fakeStep) Plan(context.Context, *Request) ([]Call, error) { return nil, nil }
func (f fakeStep) Do(context.Context, *Request) Result            { return Done(nil) }
func (f fakeStep) Undo(context.Context, *Request) Result          { return Done(nil) }

func TestTestStepIdempotent(t *testing.T) {
	dir := t.TempDir()
	p, _ := ParseParams(testStep{}.Spec(), map[string]any{"dir": dir, "fail": 1})
	req := &Request{Key: "k1", Params: p}
	if r := (testStep{}).Do(context.Background(), req); r.Status != StatusFailed || !r.Retry {
		t.Fatalf("first attempt: %+v", r)
	}
	for range 3 {
		if r := (testStep{}).Do(context.Background(), req); r.Status != StatusDone {
			t.Fatalf("%+v", r)
		}
	}
	lines, _ := TestEffects(dir)
	if len(lines) != 1 || lines[0] != "k1" {
		t.Fatalf("effects %v", lines)
	}
}
