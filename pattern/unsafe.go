package pattern

import (
	"encoding/binary"
	"unsafe"
)

// bytesToString views b as a string without copying, for look-ups that
// neither keep the string nor outlive b (the event being matched).
func bytesToString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// stringBytes views s as a byte slice without copying, for reading only.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// load64 returns b[i:i+8] as a little-endian word. The caller guarantees
// 0 <= i and i+8 <= len(b) (the portable classifier, the key look-up and
// the digit runs check exactly that), and this spares them the slice bounds
// checks of b[i:].
func load64(b []byte, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))[:])
}
