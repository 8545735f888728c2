//go:build race

package intake_test

// raceEnabled: the race detector slows the load tests about tenfold, so
// `go test -race` (the README's command) runs them on fewer findings; the
// 10,000-finding run is REFLEX_LOAD_N=10000 without -race (docs/runtimes-measured.md).
const raceEnabled = true
