package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// recorder is a Notifier that records what it is given.
type recorder struct {
	mu  sync.Mutex
	got []*Notification
	err func(n int) error // error of the n-th call (1-based); nil: success
	ch  chan struct{}
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 10000)} }

func (r *recorder) Notify(_ context.Context, n *Notification) error {
	r.mu.Lock()
	r.got = append(r.got, n)
	k := len(r.got)
	r.mu.Unlock()
	r.ch <- struct{}{}
	if r.err != nil {
		return r.err(k)
	}
	return nil
}

func (r *recorder) wait(t *testing.T, n int) []*Notification {
	t.Helper()
	for range n {
		select {
		case <-r.ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for %d notifications", n)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Notification(nil), r.got...)
}

type reports struct {
	mu sync.Mutex
	rs []Report
}

func (r *reports) add(rep Report) { r.mu.Lock(); r.rs = append(r.rs, rep); r.mu.Unlock() }
func (r *reports) all() []Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Report(nil), r.rs...)
}
func (r *reports) count(status string) int {
	n := 0
	for _, x := range r.all() {
		if x.Status == status {
			n++
		}
	}
	return n
}

func event(i int, rule, typ, account string) *Event {
	ev := SampleEvent(t0)
	ev.Kind = KindDecision
	ev.Rule = rule
	ev.DecisionID = fmt.Sprintf("d-%04d", i)
	ev.Finding.ID = fmt.Sprintf("f%031d", i)
	ev.Finding.Type = typ
	ev.Finding.Account = account
	return ev
}

func config(t *testing.T, js string) *Config {
	t.Helper()
	c, err := ParseConfig([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// burst is 1,000 distinct findings in three groups of (rule, type, account).
func burst() []*Event {
	var evs []*Event
	for i := range 1000 {
		switch {
		case i%10 < 6:
			evs = append(evs, event(i, "contain-tor", "UnauthorizedAccess:EC2/TorClient", "111111111111"))
		case i%10 < 9:
			evs = append(evs, event(i, "contain-tor", "Recon:EC2/Portscan", "111111111111"))
		default:
			evs = append(evs, event(i, "keys", "UnauthorizedAccess:IAMUser/TorIPCaller", "222222222222"))
		}
	}
	return evs
}

func TestGroupStageBurst(t *testing.T) {
	g := newGroupStage()
	var now []*Notification
	for _, ev := range burst() {
		if n := g.add(t0, "r", "c", DefaultGroupBy, time.Minute, ev); n != nil {
			now = append(now, n)
		}
	}
	if len(now) != 3 {
		t.Fatalf("sent at once: %d, want 3 (the first of each group)", len(now))
	}
	if d := g.due(t0.Add(59 * time.Second)); len(d) != 0 {
		t.Fatalf("due before the window closed: %d", len(d))
	}
	due := g.due(t0.Add(time.Minute))
	totals := map[string]int{}
	for _, n := range due {
		totals[n.First().Finding.Type] = n.Total
		if len(n.Events) != MaxShown || n.More() != n.Total-MaxShown {
			t.Errorf("%s: %d events shown, more %d, total %d", n.GroupKey, len(n.Events), n.More(), n.Total)
		}
	}
	want := map[string]int{"UnauthorizedAccess:EC2/TorClient": 599, "Recon:EC2/Portscan": 299, "UnauthorizedAccess:IAMUser/TorIPCaller": 99}
	if fmt.Sprint(totals) != fmt.Sprint(want) {
		t.Fatalf("group totals %v, want %v", totals, want)
	}
	if _, ok := g.next(); ok {
		t.Fatal("groups left open after the window")
	}
	// a finding after the window starts a new group and is sent at once
	if n := g.add(t0.Add(time.Minute), "r", "c", DefaultGroupBy, time.Minute, burst()[0]); n == nil || n.Total != 1 {
		t.Fatalf("after the window: %+v", n)
	}
}

func TestDispatcherBurstOfAThousand(t *testing.T) {
	cfg := config(t, `{"channels":{"soc":{"type":"webhook","url":"env:U","signing_secret":"env:S"}},
		"routes":[{"name":"all","channels":["soc"],"group_window":"1m"}]}`)
	rec := newRecorder()
	clock := NewFakeClock(t0)
	var reps reports
	d, err := NewDispatcher(cfg, map[string]Notifier{"soc": rec}, Options{Clock: clock, Report: reps.add})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range burst() {
		if !d.Submit(ev) {
			t.Fatal("Submit refused an event with room in the queue")
		}
	}
	d.sync()
	first := rec.wait(t, 3)
	for _, n := range first {
		if n.Total != 1 {
			t.Fatalf("leading message with %d events", n.Total)
		}
	}
	clock.Advance(time.Minute)
	all := rec.wait(t, 3)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("%d messages for 1,000 findings, want 6", len(all))
	}
	sum := 0
	var totals []int
	for _, n := range all {
		sum += n.Total
		totals = append(totals, n.Total)
	}
	slices.Sort(totals)
	if sum != 1000 || fmt.Sprint(totals) != "[1 1 1 99 299 599]" {
		t.Fatalf("totals %v (sum %d), want [1 1 1 99 299 599]", totals, sum)
	}
	if got := reps.count(Delivered); got != 6 {
		t.Fatalf("%d delivered reports, want 6", got)
	}
}

func TestDispatcherCloseFlushesOpenGroups(t *testing.T) {
	cfg := config(t, `{"channels":{"soc":{"type":"webhook","url":"env:U","signing_secret":"env:S"}},
		"routes":[{"channels":["soc"],"group_window":"1h"}]}`)
	rec := newRecorder()
	d, _ := NewDispatcher(cfg, map[string]Notifier{"soc": rec}, Options{Clock: NewFakeClock(t0)})
	for _, ev := range burst()[:50] {
		d.Submit(ev)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := rec.wait(t, 0)
	sum := 0
	for _, n := range got {
		sum += n.Total
	}
	if sum != 50 || len(got) != 6 {
		t.Fatalf("%d messages, %d events; want 6 and 50", len(got), sum)
	}
	if d.Submit(burst()[0]) {
		t.Fatal("Submit after Close accepted")
	}
}

func TestDispatcherRepeatInterval(t *testing.T) {
	cfg := config(t, `{"channels":{"soc":{"type":"webhook","url":"env:U","signing_secret":"env:S"}},
		"routes":[{"channels":["soc"],"group_window":"0s","repeat_interval":"1h"}]}`)
	rec := newRecorder()
	clock := NewFakeClock(t0)
	var reps reports
	d, _ := NewDispatcher(cfg, map[string]Notifier{"soc": rec}, Options{Clock: clock, Report: reps.add})
	ev := event(1, "r", "T", "111111111111")
	resent := *ev
	resent.Finding.Count = 99 // GuardDuty re-sends with a higher count: not news
	resent.Finding.LastSeen = t0.Add(time.Hour)
	changed := *ev
	changed.Steps = slices.Clone(ev.Steps)
	changed.Steps[2].Status = StepDone // the failed step was retried and worked: news
	d.Submit(ev)
	d.Submit(&resent)
	d.Submit(&changed)
	d.sync()
	clock.Advance(time.Hour)
	d.Submit(&changed) // unchanged, but the interval has passed
	d.sync()
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := rec.wait(t, 3)
	if len(got) != 3 || reps.count(Suppressed) != 1 {
		t.Fatalf("%d sent, %d suppressed; want 3 and 1", len(got), reps.count(Suppressed))
	}
}

func TestDispatcherRateLimitMergesExcess(t *testing.T) {
	cfg := config(t, `{"channels":{"soc":{"type":"webhook","url":"env:U","signing_secret":"env:S","rate_limit":{"messages":2,"per":"1m"}}},
		"routes":[{"channels":["soc"],"group_window":"0s"}]}`)
	rec := newRecorder()
	clock := NewFakeClock(t0)
	d, _ := NewDispatcher(cfg, map[string]Notifier{"soc": rec}, Options{Clock: clock})
	for i := range 10 {
		d.Submit(event(i, "r", "T", "111111111111"))
	}
	d.sync()
	rec.wait(t, 2)
	for clock.Waiters() == 0 {
		time.Sleep(time.Millisecond) // the worker is about to wait for a token
	}
	clock.Advance(30 * time.Second)
	got := rec.wait(t, 1)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Total != 1 || got[1].Total != 1 || got[2].Total != 8 || got[2].Suppressed != 7 {
		for _, n := range got {
			t.Logf("total %d suppressed %d", n.Total, n.Suppressed)
		}
		t.Fatalf("%d messages, want 1, 1 and a merged 8", len(got))
	}
	if s := clock.Slept(); len(s) != 1 || s[0] != 30*time.Second {
		t.Fatalf("waited %v, want [30s]", s)
	}
}

func TestSubmitNeverBlocks(t *testing.T) {
	cfg := config(t, `{"queue":5,"channels":{"soc":{"type":"webhook","url":"env:U","signing_secret":"env:S"}},
		"routes":[{"channels":["soc"],"group_window":"0s","repeat_interval":"0s"}]}`)
	release := make(chan struct{})
	stuck := NotifierFunc(func(ctx context.Context, _ *Notification) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return ctx.Err()
	})
	var reps reports
	d, _ := NewDispatcher(cfg, map[string]Notifier{"soc": stuck}, Options{Clock: NewFakeClock(t0), Report: reps.add, ChannelQueue: 1})
	refused := 0
	for i := range 500 {
		if !d.Submit(event(i, "r", "T", "111111111111")) {
			refused++
		}
	}
	if refused == 0 || reps.count(Dropped) == 0 {
		t.Fatalf("refused %d, dropped reports %d: a stuck channel must make the queue overflow, not block", refused, reps.count(Dropped))
	}
	for _, r := range reps.all() {
		if r.Status == Dropped && (r.Error == "" || len(r.Findings) == 0) {
			t.Fatalf("a drop report without reason or finding: %+v", r)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v", err)
	}
	close(release)
}

func TestDispatcherReportsFailures(t *testing.T) {
	cfg := config(t, `{"channels":{"soc":{"type":"webhook","url":"env:U","signing_secret":"env:S"}},
		"routes":[{"channels":["soc"],"group_window":"0s"}]}`)
	rec := newRecorder()
	rec.err = func(int) error { return &DeliveryError{Channel: "webhook", Status: 404, Err: errors.New("no_service")} }
	var reps reports
	d, _ := NewDispatcher(cfg, map[string]Notifier{"soc": rec}, Options{Clock: NewFakeClock(t0), Report: reps.add})
	d.Submit(event(1, "r", "T", "111111111111"))
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rs := reps.all()
	if len(rs) != 1 || rs[0].Status != Failed || rs[0].Attempts != 1 || !strings.Contains(rs[0].Error, "HTTP 404") ||
		rs[0].DecisionIDs[0] != "d-0001" || rs[0].Findings[0] != "111111111111/us-east-1/f0000000000000000000000000000001" {
		t.Fatalf("reports %+v", rs)
	}
}

func TestRoutes(t *testing.T) {
	cfg := config(t, `{"channels":{"a":{"type":"webhook","url":"env:U","signing_secret":"env:S"},"b":{"type":"webhook","url":"env:U","signing_secret":"env:S"},"c":{"type":"webhook","url":"env:U","signing_secret":"env:S"}},
		"routes":[
		  {"name":"prod-critical","channels":["a"],"match":{"min_band":"High","accounts":["111111111111"]},"continue":false},
		  {"name":"keys","channels":["b"],"match":{"rules":["iam-*"],"regions":["eu-west-1"]}},
		  {"name":"failures","channels":["c","b"],"match":{"outcomes":["failed"],"samples":false}}
		]}`)
	mk := func(band, account, rule, region, outcome string) *Event {
		ev := event(1, rule, "T", account)
		ev.Finding.Band, ev.Finding.Region, ev.Outcome, ev.Finding.Sample = band, region, outcome, false
		return ev
	}
	tests := []struct {
		ev   *Event
		want string
	}{
		{mk("Critical", "111111111111", "x", "us-east-1", "failed"), "[prod-critical/a]"},
		{mk("Medium", "111111111111", "x", "us-east-1", "failed"), "[failures/c failures/b]"},
		{mk("High", "222222222222", "iam-keys", "eu-west-1", "failed"), "[keys/b failures/c]"},
		{mk("High", "222222222222", "iam-keys", "us-east-1", "contained"), "[]"},
	}
	for _, tt := range tests {
		var got []string
		for _, tg := range cfg.Targets(tt.ev) {
			got = append(got, tg.Route.Name+"/"+tg.Channel)
		}
		if fmt.Sprint(got) != tt.want && !(tt.want == "[]" && got == nil) {
			t.Errorf("%s %s %s %s: %v, want %s", tt.ev.Finding.Band, tt.ev.Finding.Account, tt.ev.Rule, tt.ev.Outcome, got, tt.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := ParseConfig([]byte(`{"channels":{
		"s":{"type":"slack","webhook_url":"https://hooks.slack.com/services/SECRET","token":"env:T"},
		"p":{"type":"pagerduty"},
		"w":{"type":"webhook","url":"env:U","signing_secret":"env:S","topic_arn":"arn:x"},
		"x":{"type":"email"},
		"t":{"type":"teams","webhook_url":"env:T","templates":{"title":"{{.Nope}}"}}},
		"routes":[{"channels":["s","zz"],"group_by":["colour"],"match":{"bands":["Severe"],"accounts":["123"]}}]}`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"notifications.channels.s.webhook_url: a URL written in the configuration",
		"notifications.channels.s: give either webhook_url",
		"notifications.channels.p.routing_key: required for a pagerduty channel",
		"notifications.channels.w.topic_arn: not a setting of a webhook channel",
		`notifications.channels.x.type: "email"`,
		"notifications.channels.t.templates:",
		`notifications.routes[1].channels: no channel named "zz"`,
		`notifications.routes[1].group_by: "colour"`,
		`notifications.routes[1].match.bands: "Severe"`,
		`notifications.routes[1].match.accounts: "123"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("the error repeats a secret: %v", err)
	}
	if _, err := ParseConfig([]byte(`{"chanels":{}}`)); err == nil || !strings.Contains(err.Error(), `unknown key "chanels"`) {
		t.Errorf("unknown key: %v", err)
	}
}
