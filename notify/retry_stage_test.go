package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// drive runs send in a goroutine, advancing the fake clock by whatever the
// stage waits for, and returns the result.
func drive(t *testing.T, s *retryStage, clock *FakeClock, n Notifier) (int, error) {
	t.Helper()
	type res struct {
		attempts int
		err      error
	}
	done := make(chan res, 1)
	go func() {
		a, err := s.send(context.Background(), n, SampleNotification(t0))
		done <- res{a, err}
	}()
	seen := 0
	for {
		select {
		case r := <-done:
			return r.attempts, r.err
		case <-time.After(time.Millisecond):
			if sl := clock.Slept(); len(sl) > seen && clock.Waiters() > 0 {
				clock.Advance(sl[len(sl)-1])
				seen = len(sl)
			}
		}
	}
}

func TestRetryStage(t *testing.T) {
	throttled := &DeliveryError{Status: 429, Retryable: true, RetryAfter: 7 * time.Second, Err: errors.New("slow down")}
	server := &DeliveryError{Status: 503, Retryable: true, Err: errors.New("unavailable")}
	bad := &DeliveryError{Status: 400, Err: errors.New("invalid_payload")}
	tests := []struct {
		name      string
		errs      []error // per attempt; then success
		policy    *RetryPolicy
		attempts  int
		slept     []time.Duration
		wantError string
	}{
		{"success", nil, nil, 1, nil, ""},
		{"Retry-After honoured", []error{throttled, throttled}, nil, 3, []time.Duration{7 * time.Second, 7 * time.Second}, ""},
		{"5xx backoff doubles", []error{server, server, server}, nil, 4, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, ""},
		{"gives up after attempts", []error{server, server, server, server, server}, nil, 4, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, "HTTP 503"},
		{"4xx never retried", []error{bad, bad}, nil, 1, nil, "HTTP 400"},
		{"backoff capped", []error{server, server, server}, &RetryPolicy{Backoff: Duration(time.Second), MaxBackoff: Duration(1500 * time.Millisecond)}, 4, []time.Duration{time.Second, 1500 * time.Millisecond, 1500 * time.Millisecond}, ""},
		{"Retry-After over max_wait", []error{&DeliveryError{Status: 429, Retryable: true, RetryAfter: time.Hour, Err: errors.New("later")}}, nil, 1, nil, "asked to wait 1h0m0s"},
		{"mixed", []error{server, throttled, Temporary(errors.New("reset"))}, nil, 4, []time.Duration{time.Second, 7 * time.Second, 4 * time.Second}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewFakeClock(t0)
			s := newRetryStage(tt.policy, clock, time.Second)
			s.jitter = func(d time.Duration) time.Duration { return d }
			calls := 0
			n := NotifierFunc(func(context.Context, *Notification) error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			attempts, err := drive(t, s, clock, n)
			if attempts != tt.attempts || calls != tt.attempts {
				t.Errorf("attempts %d (calls %d), want %d", attempts, calls, tt.attempts)
			}
			if fmt.Sprint(clock.Slept()) != fmt.Sprint(tt.slept) && !(len(tt.slept) == 0 && len(clock.Slept()) == 0) {
				t.Errorf("slept %v, want %v", clock.Slept(), tt.slept)
			}
			if tt.wantError == "" && err != nil || tt.wantError != "" && (err == nil || !strings.Contains(err.Error(), tt.wantError)) {
				t.Errorf("err = %v, want %q", err, tt.wantError)
			}
		})
	}
}

func TestJitterBounds(t *testing.T) {
	for range 1000 {
		if j := fullJitter(time.Second); j < 500*time.Millisecond || j > time.Second {
			t.Fatalf("jitter %v outside [0.5s, 1s]", j)
		}
	}
}
