package pattern

import "testing"

// asmSkimmer reports whether st.skim runs the assembly skimmer.
func asmSkimmer() bool { return skimBMI1 }

// TestWithoutBMI1 runs the conformance table, the bundled events, the
// comparison with the reference scanner and the events cut at every
// offset with the assembly skimmer off, as on a CPU without BMI1: the
// object loop then reads every pair itself.
func TestWithoutBMI1(t *testing.T) {
	defer func(on bool) { skimBMI1 = on }(skimBMI1)
	skimBMI1 = false
	t.Run("conformance", TestConformance)
	t.Run("bench-rules", TestBenchRulesAgree)
	t.Run("scan-reference", func(t *testing.T) { checkScanReference(t, 4) })
	t.Run("event-ends", TestEventEndsAtEveryOffset)
}
