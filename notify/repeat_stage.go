package notify

import "time"

// repeatStage keeps an unchanged re-sent finding from being announced again
// within the repeat interval. "Unchanged" is Event.Digest: the same finding,
// rule, mode, outcome and step statuses; a higher count or a later last-seen
// alone is not news. Not safe for concurrent use (the dispatcher's loop owns it).
type repeatStage struct {
	seen map[string]repeatEntry
}

type repeatEntry struct {
	digest string
	at     time.Time
	every  time.Duration
}

func newRepeatStage() *repeatStage { return &repeatStage{seen: map[string]repeatEntry{}} }

// allow reports whether ev should be announced on (route, channel) at now,
// and records it when so. interval 0 announces everything.
func (s *repeatStage) allow(now time.Time, route, channel string, ev *Event, interval time.Duration) bool {
	if interval <= 0 {
		return true
	}
	key := route + "\x00" + channel + "\x00" + ev.Kind + "\x00" + ev.Key()
	d := ev.Digest()
	if e, ok := s.seen[key]; ok && e.digest == d && now.Sub(e.at) < interval {
		return false
	}
	if len(s.seen) >= 100_000 {
		s.prune(now)
	}
	s.seen[key] = repeatEntry{digest: d, at: now, every: interval}
	return true
}

// prune forgets entries whose interval has passed.
func (s *repeatStage) prune(now time.Time) {
	for k, e := range s.seen {
		if now.Sub(e.at) >= e.every {
			delete(s.seen, k)
		}
	}
}
