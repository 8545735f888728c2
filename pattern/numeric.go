package pattern

import (
	"math"
	"strconv"
)

// Numbers are compared the way EventBridge documents it: values between
// -5.0e9 and +5.0e9 inclusive, precise to six digits after the decimal point.
// Like event-ruler's ComparableNumber, a number n becomes the integer
// trunc(1e6 × (5e9 + n)), so every comparison is an exact integer comparison
// and 300, 300.0 and 3.0e2 are the same number.

const (
	numLimit = 5e9
	numScale = 1e6
)

// numRangeMsg is event-ruler's message for an operand outside the limits
// (Java prints 5e9 as 5.0E9).
const numRangeMsg = "Value must be between -5.0E9 and 5.0E9, inclusive"

// quantize returns the comparable integer form of f, or false when f is
// outside the documented range (or not finite).
func quantize(f float64) (int64, bool) {
	if !(f >= -numLimit && f <= numLimit) {
		return 0, false
	}
	return int64(numScale * (numLimit + f)), true
}

// quantizeText parses a JSON number literal and quantizes it.
func quantizeText(s string) (int64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) {
		return 0, false
	}
	return quantize(f)
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

var (
	qMin, _ = quantize(-numLimit)
	qMax, _ = quantize(numLimit)
)

// numRange is an interval of quantized numbers.
type numRange struct {
	lo, hi         int64
	loOpen, hiOpen bool
}

func (r numRange) contains(q int64) bool {
	if q < r.lo || q == r.lo && r.loOpen {
		return false
	}
	if q > r.hi || q == r.hi && r.hiOpen {
		return false
	}
	return true
}

// parseFloatBytes parses a JSON number that the event scanner has already
// validated. The common shapes in events (integers, and decimals with few
// digits, like severities and ports) are converted without strconv, and
// without allocating; the rest go through strconv.
func parseFloatBytes(b []byte) (float64, bool) {
	i := 0
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	var mant uint64
	digits := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		mant = mant*10 + uint64(b[i]-'0')
		digits++
	}
	frac := 0
	if i < len(b) && b[i] == '.' {
		i++
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			mant = mant*10 + uint64(b[i]-'0')
			digits++
			frac++
		}
	}
	if i == len(b) && digits <= 15 && frac <= 22 {
		// Both the mantissa and 10^frac are exact in a double, so one
		// division is correctly rounded (the classic fast path).
		f := float64(mant) / pow10[frac]
		if neg {
			f = -f
		}
		return f, true
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil && !isRangeErr(err) {
		return 0, false
	}
	if math.IsInf(f, 0) {
		return f, false
	}
	return f, true
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}
