package policy

import (
	"fmt"
	"testing"
)

func TestRuleIndexAgreesWithScanf(t *testing.T) {
	ref := func(id string) int {
		var i int
		fmt.Sscanf(id, "r%05d", &i)
		return i
	}
	for i := range 100000 {
		if id := RuleID(i); RuleIndex(id) != i || ref(id) != i {
			t.Fatalf("RuleIndex(%q) = %d, Sscanf %d, want %d", id, RuleIndex(id), ref(id), i)
		}
	}
	for _, id := range []string{"", "r", "r1", "r0000x", "x00001", "r-0001", "r+0001", "r 0001", "r100000", "r123456", "r00001 ", "R00001", "r١٢٣٤٥"} {
		if got, want := RuleIndex(id), ref(id); got != want {
			t.Errorf("RuleIndex(%q) = %d, Sscanf says %d", id, got, want)
		}
	}
}
