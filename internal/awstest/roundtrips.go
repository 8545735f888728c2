package awstest

import (
	"sort"
	"time"

	"github.com/reflexsec/reflex/internal/fakeaws"
)

// RoundTrips counts the sequential round trips in a call log: the longest
// chain of calls each of which started after the previous one ended (calls
// that overlap in time were in flight together and count once). until,
// when set, stops at the last call it accepts.
func RoundTrips(calls []fakeaws.Call, since time.Time, until func(fakeaws.Call) bool) int {
	var cs []fakeaws.Call
	for _, c := range calls {
		if !c.Start.Before(since) {
			cs = append(cs, c)
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Start.Before(cs[j].Start) })
	depth := make([]int, len(cs))
	best := 0
	for i, c := range cs {
		d := 1
		for j := 0; j < i; j++ {
			if !cs[j].End.After(c.Start) && depth[j]+1 > d {
				d = depth[j] + 1
			}
		}
		depth[i] = d
		if until == nil || until(c) {
			best = max(best, d)
		}
	}
	return best
}
