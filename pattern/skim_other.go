//go:build !amd64

package pattern

// skimPairs is skimPairsGo: only amd64 has the assembly version.
func skimPairs(b []byte, masks []uint64, filter *[4]uint64, i int) (pos, why, end int) {
	return skimPairsGo(b, masks, filter, i)
}
