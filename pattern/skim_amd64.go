package pattern

// skimPairsAsm is skimPairsGo in assembly (skim_amd64.s).
//
//go:noescape
func skimPairsAsm(b *byte, masks *uint64, keys *keyTable, i int) (pos, end int, child *pathNode)

// skim runs the skimmer on the event: skimPairsAsm, whatever the
// classifier (TestSkim and FuzzSkim compare it with skimPairsGo, which
// other architectures run; GOARCH=386 go test runs the package there). It
// takes the event and its bitmap as the pointers begin keeps, so that it
// is inlined into the object loop.
func (st *state) skim(keys *keyTable, i int) (pos, end int, child *pathNode) {
	return skimPairsAsm(st.bPtr, st.mPtr, keys, i)
}
