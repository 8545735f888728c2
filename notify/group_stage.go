package notify

import (
	"sort"
	"strings"
	"time"
)

// Group-by fields of a route.
var groupFields = []string{"rule", "type", "account", "region", "band", "outcome", "resource", "finding", "kind"}

func groupValue(ev *Event, field string) string {
	switch field {
	case "rule":
		return ev.Rule
	case "type":
		return ev.Finding.Type
	case "account":
		return ev.Finding.Account
	case "region":
		return ev.Finding.Region
	case "band":
		return ev.Finding.Band
	case "outcome":
		return ev.Outcome
	case "resource":
		return ev.Finding.Resource.Label()
	case "finding":
		return ev.Key()
	case "kind":
		return ev.Kind
	}
	return ""
}

// groupStage turns a burst of similar events into few messages. The first
// event of a group is sent at once (timely); events with the same group key
// arriving within the window after it are collected and sent as one message
// with their count when the window closes (not noisy). A window of 0 sends
// every event on its own. Not safe for concurrent use (the dispatcher's loop
// owns it).
type groupStage struct {
	open map[string]*openGroup
}

type openGroup struct {
	deadline time.Time
	pending  *Notification // events after the first, nil while none
}

func newGroupStage() *groupStage { return &groupStage{open: map[string]*openGroup{}} }

// groupKey is the key of ev on (route, channel) for the given fields.
func groupKey(route, channel string, by []string, ev *Event) (key, label string) {
	var b, l strings.Builder
	b.WriteString(route + "\x00" + channel)
	for _, f := range by {
		v := groupValue(ev, f)
		b.WriteString("\x00" + v)
		if l.Len() > 0 {
			l.WriteString(", ")
		}
		l.WriteString(f + "=" + v)
	}
	return b.String(), l.String()
}

// add takes ev and returns the notification to send now, if any.
func (g *groupStage) add(now time.Time, route, channel string, by []string, window time.Duration, ev *Event) *Notification {
	key, label := groupKey(route, channel, by, ev)
	if window <= 0 {
		return &Notification{Channel: channel, Route: route, Events: []*Event{ev}, Total: 1, At: now}
	}
	if og, ok := g.open[key]; ok && now.Before(og.deadline) {
		if og.pending == nil {
			og.pending = &Notification{Channel: channel, Route: route, GroupKey: label}
		}
		og.pending.add(ev)
		return nil
	}
	g.open[key] = &openGroup{deadline: now.Add(window)}
	return &Notification{Channel: channel, Route: route, GroupKey: label, Events: []*Event{ev}, Total: 1, At: now}
}

// due returns the collected notifications whose window has closed, and
// forgets those groups.
func (g *groupStage) due(now time.Time) []*Notification {
	var out []*Notification
	for k, og := range g.open {
		if now.Before(og.deadline) {
			continue
		}
		if og.pending != nil {
			og.pending.At = now
			out = append(out, og.pending)
		}
		delete(g.open, k)
	}
	sortNotifications(out)
	return out
}

// flush returns every collected notification, due or not (shutdown).
func (g *groupStage) flush(now time.Time) []*Notification {
	var out []*Notification
	for k, og := range g.open {
		if og.pending != nil {
			og.pending.At = now
			out = append(out, og.pending)
		}
		delete(g.open, k)
	}
	sortNotifications(out)
	return out
}

// next returns the earliest deadline of a group holding events.
func (g *groupStage) next() (time.Time, bool) {
	var t time.Time
	found := false
	for _, og := range g.open {
		if !found || og.deadline.Before(t) {
			t, found = og.deadline, true
		}
	}
	return t, found
}

func sortNotifications(ns []*Notification) {
	sort.Slice(ns, func(i, j int) bool {
		if ns[i].Channel != ns[j].Channel {
			return ns[i].Channel < ns[j].Channel
		}
		return ns[i].GroupKey < ns[j].GroupKey
	})
}
