package awstest_test

import (
	"fmt"
	"testing"

	"github.com/reflexsec/reflex/action"
)

// TestDeclaredMatchesImplemented keeps action's declared contracts (what a
// build without the AWS packages validates against) in line with the
// implementations: same names, parameters, defaults, targets and effects,
// and every AWS step implemented.
func TestDeclaredMatchesImplemented(t *testing.T) {
	reg := action.NewRegistry()
	for _, d := range action.DeclaredContracts() {
		ds := d.Spec()
		st, ok := reg.Lookup(ds.Name)
		if !ok {
			t.Errorf("%s: not registered", ds.Name)
			continue
		}
		is := st.Spec()
		if !is.Available {
			t.Errorf("%s: not implemented", ds.Name)
			continue
		}
		if is.Effect != ds.Effect || fmt.Sprint(is.Targets) != fmt.Sprint(ds.Targets) {
			t.Errorf("%s: effect/targets %s %v, declared %s %v", ds.Name, is.Effect, is.Targets, ds.Effect, ds.Targets)
		}
		if len(is.Params) != len(ds.Params) {
			t.Errorf("%s: %d parameters, declared %d", ds.Name, len(is.Params), len(ds.Params))
			continue
		}
		for i := range is.Params {
			a, b := is.Params[i], ds.Params[i]
			if a.Name != b.Name || a.Type != b.Type || fmt.Sprint(a.Default) != fmt.Sprint(b.Default) || fmt.Sprint(a.Enum) != fmt.Sprint(b.Enum) {
				t.Errorf("%s: parameter %+v, declared %+v", ds.Name, a, b)
			}
		}
	}
}
