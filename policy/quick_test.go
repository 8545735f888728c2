package policy

import (
	"testing"

	"github.com/reflexsec/reflex/action"
)

func TestExampleLoads(t *testing.T) {
	p, err := Load("../examples/reflex.yaml", action.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) != 5 {
		t.Fatalf("rules: %d", len(p.Rules))
	}
}
