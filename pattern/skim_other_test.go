//go:build !amd64

package pattern

// asmSkimmer reports whether st.skim runs the assembly skimmer: elsewhere
// it runs skimPairsGo, which skimBoth compares with itself.
func asmSkimmer() bool { return true }
