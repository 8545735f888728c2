package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/notify/channels"
	"github.com/reflexsec/reflex/store"
)

// defaultNotifyTimeout bounds how long a command waits, before exiting, for
// its queued notifications to be delivered or reported failed.
const defaultNotifyTimeout = 30 * time.Second

func addNotifyTimeout(cmd *cobra.Command, d *time.Duration) {
	cmd.Flags().DurationVar(d, "notify-timeout", defaultNotifyTimeout,
		"before exiting, wait at most this long for notifications to be delivered (retries included); what is still undelivered is recorded as failed")
}

// announcer is the notification dispatcher of one command: built from the
// configuration's notifications section, its delivery reports go to the
// ledger's audit trail, and its failures are told on stderr when it ends.
type announcer struct {
	d       *notify.Dispatcher
	timeout time.Duration

	mu       sync.Mutex
	problems []notify.Report
}

// startAnnouncer gives eng a dispatcher when the configuration has a
// notifications section (nil otherwise). A channel that cannot be built is
// told on stderr and recorded; the command goes on without notifications:
// they never hold up a response.
func startAnnouncer(ctx context.Context, eng *engine.Engine, timeout time.Duration, stderr io.Writer) *announcer {
	cfg := eng.Policy.Notifications
	if cfg == nil || len(cfg.Channels) == 0 {
		return nil
	}
	fail := func(err error) *announcer {
		fmt.Fprintf(stderr, "reflex: notifications disabled for this run: %v\n", err)
		if eng.Ledger != nil {
			_ = eng.Ledger.Append(context.WithoutCancel(ctx), &store.Event{At: time.Now().UTC(), Kind: "notify.failed", Actor: "notify",
				Message: "notifications disabled for this run: " + err.Error()})
		}
		return nil
	}
	h := &notify.HTTP{UserAgent: "reflex/" + buildVersion()}
	notifiers, err := channels.Build(cfg, channels.Default(ctx, h))
	if err != nil {
		return fail(err)
	}
	a := &announcer{timeout: timeout}
	d, err := notify.NewDispatcher(cfg, notifiers, notify.Options{Report: func(r notify.Report) {
		eng.ReportDelivery(r)
		if r.Status == notify.Failed || r.Status == notify.Dropped {
			a.mu.Lock()
			a.problems = append(a.problems, r)
			a.mu.Unlock()
		}
	}})
	if err != nil {
		return fail(err)
	}
	a.d = d
	eng.Notify = d
	return a
}

// finish waits (at most the timeout) for the queued notifications, then
// tells on stderr what was not delivered. It must run before the ledger
// closes: the delivery reports are written to it. It never fails the
// command: a notification failure does not change the exit code.
func (a *announcer) finish(stderr io.Writer) {
	if a == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()
	if err := a.d.Close(ctx); err != nil {
		fmt.Fprintf(stderr, "reflex: notifications: stopped waiting after %s (--notify-timeout); what was not delivered is recorded as failed\n", a.timeout)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.problems {
		what := r.Status
		if r.Attempts > 0 {
			what += fmt.Sprintf(" after %d attempt(s)", r.Attempts)
		}
		fmt.Fprintf(stderr, "reflex: notification to %s (route %s) %s: %s (recorded in the ledger: reflex history events)\n", r.Channel, r.Route, what, r.Error)
	}
}
