package notify

import (
	"fmt"
	"strings"
	"time"
)

// The functions below build reflex's default wording. They return raw text,
// finding strings included: each channel escapes what they return for its
// markup before sending.

// Title is a one-line headline of a notification, e.g.
// "High UnauthorizedAccess:EC2/TorClient on ec2-instance i-0abc: contained (5 done, 1 failed)"
// or, for a group, "12 findings: High UnauthorizedAccess:EC2/TorClient (rule contain-tor)".
func Title(n *Notification) string {
	ev := n.First()
	f := &ev.Finding
	if n.Total > 1 {
		s := fmt.Sprintf("%d findings", n.Total)
		if n.GroupKey != "" && f.Type != "" {
			s += ": " + f.Band + " " + f.Type
		}
		if ev.Rule != "" && n.GroupKey != "" {
			s += " (rule " + ev.Rule + ")"
		}
		if n.GroupKey == "" {
			s += " (messages merged by the rate limit)"
		}
		return s
	}
	prefix := ""
	switch ev.Kind {
	case KindRelease:
		prefix = "Released: "
	case KindTest:
		prefix = "Test: "
	}
	s := prefix + f.Band + " " + f.Type
	if l := f.Resource.Label(); l != "" {
		s += " on " + l
	}
	return s + ": " + ev.Headline()
}

// StepText says what happened to a step: "done", "skipped: why",
// "failed: error", "waiting for approval: …", "planned (dry-run)".
func StepText(s Step) string {
	var st string
	switch s.Status {
	case StepDone:
		st = "done"
	case StepSkipped:
		st = "skipped"
	case StepFailed:
		st = "FAILED"
	case StepWaiting:
		st = "waiting for approval"
	case StepPlanned:
		st = "planned (dry-run, not done)"
	case StepReleased:
		st = "released"
	default:
		st = s.Status
	}
	detail := s.Reason
	if s.Status == StepFailed && s.Error != "" {
		detail = s.Error
	}
	if detail != "" {
		st += ": " + detail
	}
	return st
}

// StepIcon is a status marker for channels that show one.
func StepIcon(status string) string {
	switch status {
	case StepDone, StepReleased:
		return "✅"
	case StepSkipped:
		return "⏭️"
	case StepFailed:
		return "❌"
	case StepWaiting:
		return "⏸️"
	case StepPlanned:
		return "📝"
	}
	return "•"
}

// When formats a time for a message (UTC), "unknown" when unset.
func When(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// Fields are the finding's facts as (label, value) pairs, in display order.
func Fields(ev *Event) [][2]string {
	f := &ev.Finding
	out := [][2]string{
		{"Type", f.Type},
		{"Severity", fmt.Sprintf("%s (%.1f)", f.Band, f.Severity)},
		{"Account", f.Account},
		{"Region", f.Region},
		{"Resource", f.Resource.Label()},
		{"Seen", fmt.Sprintf("%s → %s, %d times", When(f.FirstSeen), When(f.LastSeen), f.Count)},
		{"Finding ID", f.ID},
	}
	if f.Sample {
		out = append(out, [2]string{"Sample", "yes: GuardDuty sample finding, nothing real is affected"})
	}
	return out
}

// Decision says what reflex decided and why, in one paragraph.
func Decision(ev *Event) string {
	var b strings.Builder
	if ev.Rule != "" {
		b.WriteString("Rule " + ev.Rule)
	}
	if ev.Mode != "" {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString("mode " + ev.Mode)
	}
	if ev.Outcome != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(ev.Outcome)
	}
	if ev.Reason != "" {
		if b.Len() > 0 {
			b.WriteString(". ")
		}
		b.WriteString(ev.Reason)
	}
	return b.String()
}

// PlainText is the whole message as plain text (SNS email bodies, the
// fallback text of chat messages). Finding text is not escaped.
func PlainText(n *Notification) string {
	var b strings.Builder
	b.WriteString(Title(n) + "\n\n")
	for i, ev := range n.Events {
		if i > 0 {
			b.WriteString("\n----\n\n")
		}
		if ev.Finding.Title != "" {
			b.WriteString(ev.Finding.Title + "\n")
		}
		for _, f := range Fields(ev) {
			b.WriteString(f[0] + ": " + f[1] + "\n")
		}
		if d := Decision(ev); d != "" {
			b.WriteString("Decision: " + d + "\n")
		}
		if len(ev.Steps) > 0 {
			b.WriteString("Steps:\n")
			for _, s := range ev.Steps {
				b.WriteString("  - " + s.Name)
				if s.Target != "" {
					b.WriteString(" (" + s.Target + ")")
				}
				b.WriteString(": " + StepText(s) + "\n")
			}
		}
		if ev.Release != "" {
			b.WriteString("To release: " + ev.Release + "\n")
		}
		for _, l := range Links(&ev.Finding) {
			b.WriteString(l.Label + ": " + l.URL + "\n")
		}
	}
	if m := n.More(); m > 0 {
		fmt.Fprintf(&b, "\n… and %d more not shown.\n", m)
	}
	return b.String()
}
