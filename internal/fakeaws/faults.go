package fakeaws

import (
	"net/http"
	"time"
)

// Fault describes failures and delays to inject into matching calls.
//
// A call matches when Service, Operation and Account are empty or equal to
// the call's. Every matching call waits Latency; a matching call that
// succeeds is applied, then its answer waits Hold (cut short when the
// caller goes away): a caller killed meanwhile never learns it succeeded.
// Before the call is applied, in this order:
//   - scripted: when Code is set, calls number Nth … Nth+Times-1 among the
//     matching calls (1-based; Times defaults to 1) fail with Code, Status
//     (default 400, or 500 for 5xx-looking codes) and Message. Nth 0 means
//     every matching call fails.
//   - throttling: with probability ThrottleRate the call fails with the
//     service's throttling error (EC2 RequestLimitExceeded, query services
//     Throttling, SQS RequestThrottled, S3 SlowDown, others
//     ThrottlingException / TooManyRequestsException), which the SDK retries.
//   - server errors: with probability ErrorRate the call fails with a 500
//     (InternalError / InternalFailure), which the SDK retries.
type Fault struct {
	Service   string
	Operation string
	Account   string

	Latency      time.Duration
	Hold         time.Duration
	ThrottleRate float64
	ErrorRate    float64

	Nth     int
	Times   int
	Code    string
	Status  int
	Message string
}

type faultRule struct {
	Fault
	seen    int
	removed bool
}

// InjectFault adds a fault rule and returns a function that removes it.
func (c *Cloud) InjectFault(f Fault) (remove func()) {
	r := &faultRule{Fault: f}
	c.faultMu.Lock()
	c.faults = append(c.faults, r)
	c.faultMu.Unlock()
	return func() {
		c.faultMu.Lock()
		r.removed = true
		c.faultMu.Unlock()
	}
}

// ClearFaults removes every fault rule.
func (c *Cloud) ClearFaults() {
	c.faultMu.Lock()
	c.faults = nil
	c.faultMu.Unlock()
}

// SetLatency sets the latency added to every call.
func (c *Cloud) SetLatency(d time.Duration) {
	c.faultMu.Lock()
	c.latency = d
	c.faultMu.Unlock()
}

// holdFor returns how long the answer of a successful call is held.
func (c *Cloud) holdFor(svc *service, op, account string) time.Duration {
	c.faultMu.Lock()
	defer c.faultMu.Unlock()
	var d time.Duration
	for _, r := range c.faults {
		if !r.removed && r.Hold > 0 && (r.Service == "" || r.Service == svc.name) &&
			(r.Operation == "" || r.Operation == op) && (r.Account == "" || r.Account == account) {
			d += r.Hold
		}
	}
	return d
}

// decideFault returns the delay to apply and the error to return (if any)
// for a call, with the kind of fault for the call log.
func (c *Cloud) decideFault(svc *service, op, account string) (time.Duration, *apiError, string) {
	c.faultMu.Lock()
	defer c.faultMu.Unlock()
	delay := c.latency
	kind := ""
	if delay > 0 {
		kind = "latency"
	}
	var fail *apiError
	for _, r := range c.faults {
		if r.removed || (r.Service != "" && r.Service != svc.name) ||
			(r.Operation != "" && r.Operation != op) || (r.Account != "" && r.Account != account) {
			continue
		}
		r.seen++
		if r.Latency > 0 {
			delay += r.Latency
			kind = "latency"
		}
		if fail != nil {
			continue
		}
		if r.Code != "" {
			times := max(r.Times, 1)
			if r.Nth == 0 || (r.seen >= r.Nth && r.seen < r.Nth+times) {
				st := r.Status
				if st == 0 {
					st = http.StatusBadRequest
					if isServerCode(r.Code) {
						st = http.StatusInternalServerError
					}
				}
				msg := r.Message
				if msg == "" {
					msg = "injected fault"
				}
				fail = &apiError{status: st, code: r.Code, msg: msg, queryCode: r.Code, server: st >= 500}
				kind = "scripted"
				continue
			}
		}
		if r.ThrottleRate > 0 && c.frng.Float64() < r.ThrottleRate {
			fail = svc.throttle()
			kind = "throttle"
			continue
		}
		if r.ErrorRate > 0 && c.frng.Float64() < r.ErrorRate {
			fail = svc.internal()
			kind = "error"
		}
	}
	return delay, fail, kind
}

func isServerCode(code string) bool {
	switch code {
	case "InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable", "InternalServerErrorException", "InternalException":
		return true
	}
	return false
}
