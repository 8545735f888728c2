package ec2

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is the delay before retry attempt+1 of a call made without the
// SDK's retries: 50ms doubling, with jitter, at most 5s.
func backoff(attempt int) time.Duration {
	d := 50 * time.Millisecond << min(attempt, 7)
	d = min(d, 5*time.Second)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
