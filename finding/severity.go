package finding

// Band is GuardDuty's severity label for a severity value.
type Band string

// The severity bands of the GuardDuty User Guide (guardduty_findings-severity).
const (
	BandLow      Band = "Low"      // 1.0 – 3.9
	BandMedium   Band = "Medium"   // 4.0 – 6.9
	BandHigh     Band = "High"     // 7.0 – 8.9
	BandCritical Band = "Critical" // 9.0 – 10.0
)

// BandOf returns the band of a severity value. Bands are ranges, not lists of
// values: GuardDuty's severity is a double, so 6.95 is Medium and 8.99 High.
// Values below the Low range (GuardDuty once reserved 0) count as Low and
// values above 10 as Critical, so no value is left without a band.
func BandOf(severity float64) Band {
	switch {
	case severity >= 9:
		return BandCritical
	case severity >= 7:
		return BandHigh
	case severity >= 4:
		return BandMedium
	default:
		return BandLow
	}
}

// Rank orders bands from Low (1) to Critical (4); an unknown band is 0.
func (b Band) Rank() int {
	switch b {
	case BandLow:
		return 1
	case BandMedium:
		return 2
	case BandHigh:
		return 3
	case BandCritical:
		return 4
	}
	return 0
}
