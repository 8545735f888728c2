package pattern

import "unsafe"

// bytesToString views b as a string without copying, for look-ups that
// neither keep the string nor outlive b (the event being matched).
func bytesToString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
