package pattern

// skimPairsAsm is skimPairsGo in assembly (skim_amd64.s).
// It reads the event, its bitmap and the record of strings from st (its
// bPtr, mPtr and hits), so that the call is small enough to be inlined.
//
//go:noescape
func skimPairsAsm(st *state, keys *keyTable, i int) (pos, end int, child *pathNode)

// skimBMI1 reports whether the CPU has BMI1, whose BLSR the assembly
// skimmer uses (Intel since Haswell, AMD since Piledriver; some low-end
// Pentium and Celeron parts lack it). Without it the skimmer
// bails at once and the object loop reads every pair, slower but the
// same. Set once, at start-up; tests turn it off to run that path.
var skimBMI1 = cpuHasBMI1()

// cpuHasBMI1 asks CPUID (skim_amd64.s).
func cpuHasBMI1() bool

// skim runs the skimmer on the event: skimPairsAsm, whatever the
// classifier (TestSkim and FuzzSkim compare it with skimPairsGo, which
// other architectures run; GOARCH=386 go test runs the package there). It
// passes st itself, whose fields the assembly reads, so that it is inlined
// into the object loop.
func (st *state) skim(keys *keyTable, i int) (pos, end int, child *pathNode) {
	return skimPairsAsm(st, keys, i)
}
