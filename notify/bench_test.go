package notify

import (
	"context"
	"testing"
)

// BenchmarkDispatch measures routing, repeat and grouping of a burst: the
// cost the response path pays is Submit alone (a channel send).
func BenchmarkDispatch(b *testing.B) {
	cfg, err := ParseConfig([]byte(`{"queue":100000,"channels":{"soc":{"type":"webhook","url":"env:U","signing_secret":"env:S"}},
		"routes":[{"channels":["soc"],"group_window":"1m"}]}`))
	if err != nil {
		b.Fatal(err)
	}
	evs := burst()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		d, _ := NewDispatcher(cfg, map[string]Notifier{"soc": NotifierFunc(func(context.Context, *Notification) error { return nil })}, Options{Clock: NewFakeClock(t0)})
		for _, ev := range evs {
			d.Submit(ev)
		}
		_ = d.Close(context.Background())
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkSubmit(b *testing.B) {
	cfg, _ := ParseConfig([]byte(`{"queue":1000,"channels":{"soc":{"type":"webhook","url":"env:U","signing_secret":"env:S"}},"routes":[{"channels":["soc"]}]}`))
	d, _ := NewDispatcher(cfg, map[string]Notifier{"soc": NotifierFunc(func(context.Context, *Notification) error { return nil })}, Options{Clock: NewFakeClock(t0)})
	defer func() { _ = d.Close(context.Background()) }()
	ev := SampleEvent(t0)
	b.ResetTimer()
	for range b.N {
		d.Submit(ev)
	}
}
