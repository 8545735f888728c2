//go:build !amd64

package pattern

// useSIMD is false: this architecture has only the portable classifier.
const useSIMD = false

// classify writes the bitmap of b (a multiple of 64 bytes long) to masks.
func classify(b []byte, masks []uint64) { classifyGeneric(b, masks) }

// setSIMD does nothing: there is no assembly classifier here (for tests).
func setSIMD(bool) {}
