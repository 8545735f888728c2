//go:build !amd64

package pattern

// skim runs skimPairsGo on the event: only amd64 has the assembly version.
func (st *state) skim(keys *keyTable, i int) (pos, end int, child *pathNode) {
	return skimPairsGo(st.b, st.masks, keys, i, &st.hits)
}
