package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Report statuses.
const (
	Delivered  = "delivered"  // the channel accepted the message
	Failed     = "failed"     // the channel refused it, or retries ran out
	Dropped    = "dropped"    // a queue was full or the dispatcher closed
	Suppressed = "suppressed" // an unchanged re-sent finding within the repeat interval
)

// Report is the outcome of one message on one channel, for the ledger.
type Report struct {
	Channel     string    `json:"channel"`
	Route       string    `json:"route"`
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts,omitempty"`
	Error       string    `json:"error,omitempty"`
	Total       int       `json:"total"` // events the message stood for
	DecisionIDs []string  `json:"decision_ids,omitempty"`
	Findings    []string  `json:"findings,omitempty"` // finding keys (account/region/id) shown
	At          time.Time `json:"at"`
}

// Options tune a Dispatcher.
type Options struct {
	Clock Clock // RealClock when nil
	// Report receives the outcome of every message. It is called from the
	// dispatcher's goroutines: it must be safe for concurrent use and quick.
	Report func(Report)
	Logger *slog.Logger
	// ChannelQueue bounds the messages waiting for one channel (default 256).
	ChannelQueue int
}

// PerFinding is implemented by channels whose messages must each be about
// one finding (PagerDuty: one incident per finding, keyed by its id). Their
// routes group by finding whatever group_by says.
type PerFinding interface {
	PerFinding() bool
}

// Dispatcher routes events to channels without ever blocking the caller.
type Dispatcher struct {
	cfg    *Config
	clock  Clock
	report func(Report)
	log    *slog.Logger

	in      chan item
	workers map[string]*worker
	repeat  *repeatStage
	groups  *groupStage

	ctx    context.Context
	cancel context.CancelFunc
	loopWG sync.WaitGroup
	workWG sync.WaitGroup

	mu     sync.RWMutex
	closed bool
}

// item is an event to route, or a barrier (sync) the loop closes when it
// reaches it.
type item struct {
	ev   *Event
	sync chan struct{}
}

type worker struct {
	d        *Dispatcher
	name     string
	notifier Notifier
	q        chan *Notification
	rate     *rateStage
	retry    *retryStage
	perFind  bool
}

// NewDispatcher starts a dispatcher for cfg (validated) delivering through
// notifiers, one per channel name. Close stops it.
func NewDispatcher(cfg *Config, notifiers map[string]Notifier, opt Options) (*Dispatcher, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if opt.Clock == nil {
		opt.Clock = RealClock{}
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.ChannelQueue <= 0 {
		opt.ChannelQueue = 256
	}
	queue := cfg.Queue
	if queue <= 0 {
		queue = DefaultQueue
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{
		cfg: cfg, clock: opt.Clock, report: opt.Report, log: opt.Logger,
		in: make(chan item, queue), workers: map[string]*worker{},
		repeat: newRepeatStage(), groups: newGroupStage(), ctx: ctx, cancel: cancel,
	}
	for name, ch := range cfg.Channels {
		n := notifiers[name]
		if n == nil {
			cancel()
			return nil, fmt.Errorf("notifications: channel %q has no notifier", name)
		}
		timeout := time.Duration(ch.Timeout)
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		w := &worker{d: d, name: name, notifier: n, q: make(chan *Notification, opt.ChannelQueue),
			rate: newRateStage(ch.RateLimit, d.clock.Now()), retry: newRetryStage(ch.Retry, d.clock, timeout)}
		if pf, ok := n.(PerFinding); ok && pf.PerFinding() {
			w.perFind = true
		}
		d.workers[name] = w
		d.workWG.Add(1)
		go w.run()
	}
	d.loopWG.Add(1)
	go d.loop()
	return d, nil
}

// Submit hands ev to the dispatcher and returns at once. When the queue is
// full the event is dropped, the drop is reported, and Submit returns false:
// a notification never holds up a response.
func (d *Dispatcher) Submit(ev *Event) bool {
	if ev == nil {
		return false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if !d.closed {
		select {
		case d.in <- item{ev: ev}:
			return true
		default:
		}
	}
	why := "the notification queue is full"
	if d.closed {
		why = "the dispatcher is closed"
	}
	for _, t := range d.cfg.Targets(ev) {
		d.emit(Report{Channel: t.Channel, Route: t.Route.Name, Status: Dropped, Error: why, Total: 1,
			DecisionIDs: decisionIDs([]*Event{ev}), Findings: []string{ev.Key()}, At: d.clock.Now()})
	}
	d.log.Warn("notification dropped", "finding", ev.Key(), "reason", why)
	return false
}

// Close sends what grouping still holds, waits for the channels to finish
// (retries included) until ctx is done, then stops.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		close(d.in)
	}
	d.mu.Unlock()
	done := make(chan struct{})
	go func() {
		d.loopWG.Wait()
		d.workWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
		d.cancel() // stop retries; the workers report what they were sending as failed
		<-done
		return ctx.Err()
	}
}

// sync waits until the loop has routed everything submitted before it
// (tests).
func (d *Dispatcher) sync() {
	ch := make(chan struct{})
	d.mu.RLock()
	closed := d.closed
	if !closed {
		d.in <- item{sync: ch}
	}
	d.mu.RUnlock()
	if !closed {
		<-ch
	}
}

// Send delivers n to one channel now, with its retries, bypassing routing,
// grouping and rate limits (`reflex notify test`). It returns the attempts
// made.
func (d *Dispatcher) Send(ctx context.Context, channel string, n *Notification) (int, error) {
	w := d.workers[channel]
	if w == nil {
		return 0, fmt.Errorf("no channel named %q", channel)
	}
	n.Channel = channel
	return w.retry.send(ctx, w.notifier, n)
}

func (d *Dispatcher) loop() {
	defer d.loopWG.Done()
	defer func() {
		for _, w := range d.workers {
			close(w.q)
		}
	}()
	var timer <-chan time.Time
	var timerAt time.Time
	for {
		if t, ok := d.groups.next(); ok {
			if timer == nil || !t.Equal(timerAt) {
				timer, timerAt = d.clock.After(t.Sub(d.clock.Now())), t
			}
		} else {
			timer = nil
		}
		select {
		case it, ok := <-d.in:
			if !ok {
				for _, n := range d.groups.flush(d.clock.Now()) {
					d.enqueue(n)
				}
				return
			}
			if it.sync != nil {
				close(it.sync)
				continue
			}
			d.route(it.ev)
		case <-timer:
			timer = nil
			for _, n := range d.groups.due(d.clock.Now()) {
				d.enqueue(n)
			}
		}
	}
}

func (d *Dispatcher) route(ev *Event) {
	now := d.clock.Now()
	for _, t := range d.cfg.Targets(ev) {
		r := t.Route
		if !d.repeat.allow(now, r.Name, t.Channel, ev, time.Duration(*r.RepeatInterval)) {
			d.emit(Report{Channel: t.Channel, Route: r.Name, Status: Suppressed, Total: 1,
				Error:       "unchanged since it was last announced (repeat_interval)",
				DecisionIDs: decisionIDs([]*Event{ev}), Findings: []string{ev.Key()}, At: now})
			continue
		}
		by := r.GroupBy
		if w := d.workers[t.Channel]; w != nil && w.perFind {
			by = []string{"finding"}
		}
		if n := d.groups.add(now, r.Name, t.Channel, by, time.Duration(*r.GroupWindow), ev); n != nil {
			d.enqueue(n)
		}
	}
}

func (d *Dispatcher) enqueue(n *Notification) {
	w := d.workers[n.Channel]
	if w == nil {
		return
	}
	select {
	case w.q <- n:
	default:
		d.emit(d.reportOf(n, Dropped, 0, errors.New("the channel's queue is full")))
	}
}

func (d *Dispatcher) emit(r Report) {
	if d.report != nil {
		d.report(r)
	}
}

func (d *Dispatcher) reportOf(n *Notification, status string, attempts int, err error) Report {
	r := Report{Channel: n.Channel, Route: n.Route, Status: status, Attempts: attempts, Total: n.Total,
		DecisionIDs: decisionIDs(n.Events), At: d.clock.Now()}
	for _, ev := range n.Events {
		r.Findings = append(r.Findings, ev.Key())
	}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

func decisionIDs(evs []*Event) []string {
	var out []string
	seen := map[string]bool{}
	for _, ev := range evs {
		if ev.DecisionID != "" && !seen[ev.DecisionID] {
			seen[ev.DecisionID] = true
			out = append(out, ev.DecisionID)
		}
	}
	sort.Strings(out)
	return out
}

func (w *worker) run() {
	defer w.d.workWG.Done()
	q := w.q
	for q != nil {
		n, ok := <-q
		if !ok {
			return
		}
		// Over the rate limit: wait for a token, merging what arrives
		// meanwhile into this message.
		limited := false
		for w.d.ctx.Err() == nil {
			ok, wait := w.rate.take(w.d.clock.Now())
			if ok {
				break
			}
			limited = true
			timer := w.d.clock.After(wait)
		waiting:
			for {
				select {
				case m, more := <-q:
					if !more {
						q = nil
						continue
					}
					n.merge(m)
					n.GroupKey = ""
				case <-timer:
					break waiting
				case <-w.d.ctx.Done():
					break waiting
				}
			}
		}
		// and what is still queued, so the token sends all of it
		for limited && q != nil {
			select {
			case m, more := <-q:
				if !more {
					q = nil
					continue
				}
				n.merge(m)
				n.GroupKey = ""
				continue
			default:
			}
			break
		}
		w.deliver(n)
	}
}

func (w *worker) deliver(n *Notification) {
	if err := w.d.ctx.Err(); err != nil {
		w.d.emit(w.d.reportOf(n, Failed, 0, errors.New("shut down before delivery")))
		return
	}
	attempts, err := w.retry.send(w.d.ctx, w.notifier, n)
	if err != nil {
		w.d.log.Error("notification failed", "channel", w.name, "route", n.Route, "attempts", attempts, "error", err.Error())
		w.d.emit(w.d.reportOf(n, Failed, attempts, err))
		return
	}
	w.d.log.Debug("notification delivered", "channel", w.name, "route", n.Route, "events", n.Total)
	w.d.emit(w.d.reportOf(n, Delivered, attempts, nil))
}
