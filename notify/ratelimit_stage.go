package notify

import "time"

// RateLimit caps the messages a channel sends: at most Messages per Per.
// Messages over the limit are not lost: they wait and are merged into one
// message sent when the channel may send again.
type RateLimit struct {
	Messages int      `json:"messages" yaml:"messages"`
	Per      Duration `json:"per" yaml:"per"`
}

// rateStage is a token bucket: capacity Messages, refilled at Messages/Per.
type rateStage struct {
	cap    float64
	rate   float64 // tokens per nanosecond
	tokens float64
	last   time.Time
}

func newRateStage(l *RateLimit, now time.Time) *rateStage {
	if l == nil || l.Messages <= 0 || l.Per <= 0 {
		return nil
	}
	return &rateStage{cap: float64(l.Messages), rate: float64(l.Messages) / float64(l.Per), tokens: float64(l.Messages), last: now}
}

// take spends a token if one is available; otherwise it returns how long
// until one is.
func (r *rateStage) take(now time.Time) (bool, time.Duration) {
	if r == nil {
		return true, 0
	}
	if now.After(r.last) {
		r.tokens += float64(now.Sub(r.last)) * r.rate
		if r.tokens > r.cap {
			r.tokens = r.cap
		}
		r.last = now
	}
	if r.tokens >= 1 {
		r.tokens--
		return true, 0
	}
	wait := time.Duration((1 - r.tokens) / r.rate)
	if wait < time.Millisecond {
		wait = time.Millisecond
	}
	return false, wait
}
