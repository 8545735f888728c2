package pattern

import "unsafe"

// skimPairsAsm is skimPairsGo in assembly (skim_amd64.s).
//
//go:noescape
func skimPairsAsm(b *byte, masks *uint64, filter *[4]uint64, i int) (pos, why, end int)

// skimPairs is the assembly skimmer. It runs whatever the classifier:
// FuzzSkim compares it with skimPairsGo, which other architectures run
// (GOARCH=386 go test runs the package on it).
func skimPairs(b []byte, masks []uint64, filter *[4]uint64, i int) (pos, why, end int) {
	return skimPairsAsm(unsafe.SliceData(b), unsafe.SliceData(masks), filter, i)
}
