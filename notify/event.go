package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/reflexsec/reflex/finding"
)

// Kinds of Event.
const (
	KindDecision = "decision" // reflex decided and (maybe) acted on a finding
	KindRelease  = "release"  // a containment was released
	KindTest     = "test"     // `reflex notify test`
)

// Step statuses as a notification shows them.
const (
	StepDone     = "done"
	StepSkipped  = "skipped"
	StepFailed   = "failed"
	StepWaiting  = "waiting-approval"
	StepPlanned  = "planned" // dry-run: what would have been done
	StepReleased = "released"
)

// Event is what reflex tells people about one finding: the finding, what
// was decided and why, and what happened to each step. The engine fills it;
// it holds no engine type, so channel packages stay free of engine imports.
type Event struct {
	Kind       string   `json:"kind"`                  // decision | release | test
	DecisionID string   `json:"decision_id,omitempty"` // the ledger's decision id
	Rule       string   `json:"rule,omitempty"`        // the rule that fired (the first, when several did)
	AlsoRules  []string `json:"also_rules,omitempty"`  // the other rules that fired
	// Routes are the routes the decision's notify step named: they take
	// the event whatever their match says (a dry-run still needs
	// modes: [dry-run]). Empty: the routes whose match takes it.
	Routes  []string  `json:"routes,omitempty"`
	Mode    string    `json:"mode,omitempty"`    // dry-run | approve | enforce
	Outcome string    `json:"outcome,omitempty"` // waiting-approval, dry-run, done, failed, approved, denied, expired, released
	Reason  string    `json:"reason,omitempty"`  // why reflex decided so
	Steps   []Step    `json:"steps,omitempty"`
	Release string    `json:"release,omitempty"` // the command that undoes the response
	At      time.Time `json:"at"`
	Finding Finding   `json:"finding"`
}

// Step is one step of a response and its honest status.
type Step struct {
	Name   string `json:"name"`             // e.g. ec2.isolate
	Target string `json:"target,omitempty"` // the resource it acts on
	Status string `json:"status"`           // done | skipped | failed | waiting-approval | planned | released
	Reason string `json:"reason,omitempty"` // why it was skipped, or what it did
	Error  string `json:"error,omitempty"`  // the error of a failed step
}

// Finding is the part of a GuardDuty finding a notification shows. All its
// strings come from the finding and are untrusted.
type Finding struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Type      string    `json:"type"`
	Severity  float64   `json:"severity"`
	Band      string    `json:"band"`
	Account   string    `json:"account"`
	Region    string    `json:"region"`
	Partition string    `json:"partition,omitempty"`
	Resource  Resource  `json:"resource"`
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	Count     int64     `json:"count"`
	Sample    bool      `json:"sample,omitempty"`
}

// Resource is the finding's affected resource.
type Resource struct {
	Kind string `json:"kind,omitempty"` // finding.KindInstance …
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	ARN  string `json:"arn,omitempty"`
}

// Label is a short description such as "ec2-instance i-0abc".
func (r Resource) Label() string {
	id := r.ID
	if id == "" {
		id = r.Name
	}
	if id == "" {
		id = r.ARN
	}
	if r.Kind == "" {
		return id
	}
	if id == "" {
		return r.Kind
	}
	return r.Kind + " " + id
}

// FromFinding fills the notification view of f.
func FromFinding(f *finding.Finding) Finding {
	out := Finding{
		ID: f.ID, Title: f.Title, Type: f.Type, Severity: f.Severity, Band: string(f.Band()),
		Account: f.AccountID, Region: f.Region, Partition: f.Partition,
		FirstSeen: f.Service.EventFirstSeen.Time, LastSeen: f.Service.EventLastSeen.Time,
		Count: f.Service.Count,
	}
	if out.FirstSeen.IsZero() {
		out.FirstSeen = f.CreatedAt.Time
	}
	if out.LastSeen.IsZero() {
		out.LastSeen = f.UpdatedAt.Time
	}
	if rs := f.Resources(); len(rs) > 0 {
		out.Resource = Resource{Kind: rs[0].Kind, ID: rs[0].ID, Name: rs[0].Name, ARN: rs[0].ARN}
	} else {
		out.Resource = Resource{Kind: f.Resource.ResourceType}
	}
	out.Sample, _ = f.Sample()
	return out
}

// Key identifies the finding an event is about (account/region/id).
func (e *Event) Key() string {
	return e.Finding.Account + "/" + e.Finding.Region + "/" + e.Finding.ID
}

// Digest summarises what an event says, leaving out what changes when
// GuardDuty re-sends an unchanged finding (count, last seen, time): two
// events with the same digest tell people nothing new.
func (e *Event) Digest() string {
	h := sha256.New()
	w := func(s ...string) {
		for _, x := range s {
			h.Write([]byte(x))
			h.Write([]byte{0})
		}
	}
	w(e.Kind, e.Key(), e.Rule, e.Mode, e.Outcome, e.Finding.Band)
	for _, s := range e.Steps {
		w(s.Name, s.Target, s.Status, s.Error)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Counts tallies the steps of an event by status.
func (e *Event) Counts() map[string]int {
	m := map[string]int{}
	for _, s := range e.Steps {
		m[s.Status]++
	}
	return m
}

// Headline is a one-line summary of what reflex did, e.g.
// "enforce: 5 done, 1 failed". It holds no finding text.
func (e *Event) Headline() string {
	var b strings.Builder
	switch e.Kind {
	case KindRelease:
		b.WriteString("released")
	case KindTest:
		b.WriteString("test message")
	default:
		if e.Outcome != "" {
			b.WriteString(e.Outcome)
		} else {
			b.WriteString(e.Mode)
		}
	}
	c := e.Counts()
	var parts []string
	for _, st := range []string{StepDone, StepFailed, StepWaiting, StepPlanned, StepSkipped, StepReleased} {
		if c[st] > 0 {
			parts = append(parts, strconv.Itoa(c[st])+" "+st)
		}
	}
	if len(parts) > 0 {
		b.WriteString(": " + strings.Join(parts, ", "))
	}
	return b.String()
}
