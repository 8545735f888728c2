package notify

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Notification is one message to one channel: one event, or a group of
// events that arrived within a grouping window (a burst of findings becomes
// one message with a count).
type Notification struct {
	Channel string `json:"channel"`
	Route   string `json:"route"`
	// GroupKey is what the grouped events share (e.g. the rule and the
	// finding type); empty for a single event.
	GroupKey string `json:"group_key,omitempty"`
	// Events are the events the message shows, oldest first, at most
	// MaxShown of them; Total counts all the events the message stands for.
	Events []*Event `json:"events"`
	Total  int      `json:"total"`
	// Suppressed counts messages merged into this one by the rate limit.
	Suppressed int       `json:"suppressed,omitempty"`
	At         time.Time `json:"at"`
}

// MaxShown bounds the events a grouped notification carries in full; the
// rest are counted.
const MaxShown = 10

// First returns the first event (a Notification always has one).
func (n *Notification) First() *Event {
	if len(n.Events) == 0 {
		return &Event{}
	}
	return n.Events[0]
}

// More is the number of events counted but not shown.
func (n *Notification) More() int { return n.Total - len(n.Events) }

// add appends ev, keeping at most MaxShown events and counting the rest.
func (n *Notification) add(ev *Event) {
	n.Total++
	if len(n.Events) < MaxShown {
		n.Events = append(n.Events, ev)
	}
}

// merge folds m into n.
func (n *Notification) merge(m *Notification) {
	for _, ev := range m.Events {
		if len(n.Events) < MaxShown {
			n.Events = append(n.Events, ev)
		}
	}
	n.Total += m.Total
	n.Suppressed += m.Suppressed + 1
}

// Notifier delivers a notification to one channel. Implementations must be
// safe for concurrent use. A failure worth retrying (throttling, a server
// error, a network error) is returned as a *DeliveryError with Retryable
// set; any other error is final.
type Notifier interface {
	Notify(ctx context.Context, n *Notification) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, n *Notification) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, n *Notification) error { return f(ctx, n) }

// DeliveryError is a failed delivery: what happened, whether trying again
// may help, and how long the receiver asked to wait (Retry-After).
type DeliveryError struct {
	Channel    string
	Status     int // HTTP status, 0 when there was no response
	Retryable  bool
	RetryAfter time.Duration
	Err        error
}

func (e *DeliveryError) Error() string {
	msg := ""
	if e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Status != 0 {
		msg = fmt.Sprintf("HTTP %d: %s", e.Status, msg)
	}
	if e.Channel != "" {
		msg = e.Channel + ": " + msg
	}
	return msg
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// Retryable reports whether err is worth retrying, and after how long the
// receiver asked to wait (0: use the backoff).
func Retryable(err error) (bool, time.Duration) {
	if err == nil {
		return false, 0
	}
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.Retryable, de.RetryAfter
	}
	return false, 0
}

// Final marks err as not worth retrying.
func Final(err error) error { return &DeliveryError{Err: err} }

// Temporary marks err as worth retrying.
func Temporary(err error) error { return &DeliveryError{Err: err, Retryable: true} }
