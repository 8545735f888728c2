//go:build !amd64

package pattern

// classify writes the bitmap of b (a multiple of 64 bytes long) to masks
// and copies b to dst. This architecture has only the portable classifier.
func classify(b []byte, masks []uint64, dst []byte) {
	classifyGeneric(b, masks)
	copy(dst, b)
}

// simdLevels lists the classifiers this CPU can run (for tests).
func simdLevels() []int { return []int{0} }

// setSIMD does nothing: there is no assembly classifier here (for tests).
func setSIMD(int) int { return 0 }
