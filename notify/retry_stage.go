package notify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// RetryPolicy says how a channel retries a retryable failure.
type RetryPolicy struct {
	// Attempts is the number of tries in all (default 4; 1 never retries).
	Attempts int `json:"attempts,omitempty"`
	// Backoff is the first delay, doubled after each try (default 1s), up
	// to MaxBackoff (default 1m).
	Backoff    Duration `json:"backoff,omitempty"`
	MaxBackoff Duration `json:"max_backoff,omitempty"`
	// MaxWait is the longest Retry-After reflex honours (default 5m): a
	// receiver asking for more gets no retry, and the failure is reported.
	MaxWait Duration `json:"max_wait,omitempty"`
}

// Retry defaults.
const (
	DefaultAttempts   = 4
	DefaultBackoff    = time.Second
	DefaultMaxBackoff = time.Minute
	DefaultMaxWait    = 5 * time.Minute
)

func (p *RetryPolicy) withDefaults() RetryPolicy {
	var r RetryPolicy
	if p != nil {
		r = *p
	}
	if r.Attempts <= 0 {
		r.Attempts = DefaultAttempts
	}
	if r.Backoff <= 0 {
		r.Backoff = Duration(DefaultBackoff)
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = Duration(DefaultMaxBackoff)
	}
	if r.MaxWait <= 0 {
		r.MaxWait = Duration(DefaultMaxWait)
	}
	return r
}

// retryStage sends through next, retrying retryable failures: after the
// receiver's Retry-After when it gave one, else after an exponential backoff
// with jitter. A final failure (a 4xx that will not change) is not retried.
type retryStage struct {
	policy  RetryPolicy
	clock   Clock
	timeout time.Duration
	jitter  func(time.Duration) time.Duration
}

func newRetryStage(p *RetryPolicy, clock Clock, timeout time.Duration) *retryStage {
	return &retryStage{policy: p.withDefaults(), clock: clock, timeout: timeout, jitter: fullJitter}
}

// fullJitter returns a delay between d/2 and d.
func fullJitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// send delivers n and returns the number of attempts made and the last error.
func (s *retryStage) send(ctx context.Context, next Notifier, n *Notification) (int, error) {
	backoff := time.Duration(s.policy.Backoff)
	var err error
	for attempt := 1; ; attempt++ {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if s.timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, s.timeout)
		}
		err = next.Notify(actx, n)
		cancel()
		if err == nil {
			return attempt, nil
		}
		retry, after := Retryable(err)
		if !retry || attempt >= s.policy.Attempts || ctx.Err() != nil {
			return attempt, err
		}
		wait := s.jitter(backoff)
		if after > 0 {
			if after > time.Duration(s.policy.MaxWait) {
				return attempt, fmt.Errorf("%w (the receiver asked to wait %s, longer than retry.max_wait %s)", err, after, time.Duration(s.policy.MaxWait))
			}
			wait = after
		}
		select {
		case <-ctx.Done():
			return attempt, err
		case <-s.clock.After(wait):
		}
		backoff *= 2
		if backoff > time.Duration(s.policy.MaxBackoff) {
			backoff = time.Duration(s.policy.MaxBackoff)
		}
	}
}
