// Package store holds the ledger contract: the durable record of findings,
// decisions, the step journal, approvals and the audit trail.
//
// The contract is deliberately small and made of keyed records with
// conditional writes ("create if absent", "move from state A to state B"), so
// that it can be implemented on a key-value store such as DynamoDB as well as
// on SQLite. No method needs joins, ad-hoc SQL or cross-record scans other than
// the listing used by `reflex history`.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrNotFound is returned when a keyed record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a conditional write's condition does not hold
// (the record exists already, or is not in the expected state).
var ErrConflict = errors.New("conditional write failed")

// Change says how a finding relates to what the ledger already holds.
type Change string

// Changes reported by PutFinding.
const (
	New       Change = "new"       // never seen
	Updated   Change = "updated"   // re-sent: higher count or later updatedAt
	Unchanged Change = "unchanged" // the same occurrence delivered again
	Older     Change = "older"     // an earlier version of a finding already recorded
)

// Finding is a finding as recorded: identity, what changes between
// re-deliveries, and the raw JSON as received.
type Finding struct {
	Key       string    `json:"key"` // account/region/id
	AccountID string    `json:"account_id"`
	Region    string    `json:"region"`
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Severity  float64   `json:"severity"`
	Sample    bool      `json:"sample"`
	UpdatedAt time.Time `json:"updated_at"`
	Count     int64     `json:"count"`
	Revision  int       `json:"revision"` // 1 for the first version seen, +1 per update
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Raw       []byte    `json:"raw,omitempty"`
}

// Newer reports whether f is a later version of prev (higher count or later
// updatedAt), and whether it is the very same occurrence.
func Compare(prev, f *Finding) Change {
	if prev == nil {
		return New
	}
	switch {
	case f.UpdatedAt.After(prev.UpdatedAt), f.UpdatedAt.Equal(prev.UpdatedAt) && f.Count > prev.Count:
		return Updated
	case f.UpdatedAt.Equal(prev.UpdatedAt) && f.Count == prev.Count:
		return Unchanged
	default:
		return Older
	}
}

// Decision statuses.
const (
	DecisionNothing  = "nothing"          // no rule matched, or no step to run
	DecisionDryRun   = "dry-run"          // planned only, never executed
	DecisionPending  = "pending-approval" // waits for approve/deny
	DecisionApproved = "approved"         // approved, steps to run
	DecisionDenied   = "denied"
	DecisionExpired  = "expired"
	DecisionRunning  = "running" // steps are being executed
	DecisionDone     = "done"    // every step ended done or skipped
	DecisionFailed   = "failed"  // at least one step failed
)

// Decision is what reflex decided for one version of a finding.
type Decision struct {
	ID         string          `json:"id"`
	FindingKey string          `json:"finding_key"`
	Revision   int             `json:"revision"`
	AccountID  string          `json:"account_id"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	Mode       string          `json:"mode"` // effective mode: dry-run | approve | enforce
	Status     string          `json:"status"`
	Summary    string          `json:"summary"`
	ExpiresAt  time.Time       `json:"expires_at,omitzero"` // for pending approvals
	Plan       json.RawMessage `json:"plan"`                // the engine's full decision (rules, guards, steps)
}

// Step states in the journal.
const (
	StepPlanned   = "planned"
	StepStarted   = "started"
	StepDone      = "done"
	StepSkipped   = "skipped"
	StepFailed    = "failed"
	StepCancelled = "cancelled" // denied, expired: never ran
)

// Ended reports whether a step state is final.
func Ended(state string) bool {
	switch state {
	case StepDone, StepSkipped, StepFailed, StepCancelled:
		return true
	}
	return false
}

// Step is one journal entry: one step for one resource of one finding. Its
// Key (finding key, step name, target) makes the step happen once per finding
// whatever the number of deliveries or decisions.
type Step struct {
	Key        string          `json:"key"`
	DecisionID string          `json:"decision_id"`
	FindingKey string          `json:"finding_key"`
	Seq        int             `json:"seq"` // position in the decision's plan
	Name       string          `json:"name"`
	Target     string          `json:"target,omitempty"`
	Params     json.RawMessage `json:"params,omitempty"`
	State      string          `json:"state"`
	Attempts   int             `json:"attempts"`
	Prior      json.RawMessage `json:"prior,omitempty"`  // the state the step changed, for undo
	Result     json.RawMessage `json:"result,omitempty"` // the step's output
	Reason     string          `json:"reason,omitempty"` // why skipped / the error
	PlannedAt  time.Time       `json:"planned_at"`
	StartedAt  time.Time       `json:"started_at,omitzero"`
	EndedAt    time.Time       `json:"ended_at,omitzero"`
}

// Approval is a person's answer to a pending decision.
type Approval struct {
	DecisionID string    `json:"decision_id"`
	Verdict    string    `json:"verdict"` // approved | denied
	By         string    `json:"by"`
	Reason     string    `json:"reason,omitempty"`
	At         time.Time `json:"at"`
}

// Event is one line of the audit trail.
type Event struct {
	Seq        int64           `json:"seq,omitempty"` // assigned by the store
	At         time.Time       `json:"at"`
	Kind       string          `json:"kind"` // finding.new, decision, step.started, budget.tripped, approval, ...
	FindingKey string          `json:"finding_key,omitempty"`
	DecisionID string          `json:"decision_id,omitempty"`
	StepKey    string          `json:"step_key,omitempty"`
	Actor      string          `json:"actor,omitempty"`
	Message    string          `json:"message"`
	Data       json.RawMessage `json:"data,omitempty"`
}

// BudgetKey names one blast-radius counter: a scope ("total" or
// "account:123456789012") in one window starting at Window.
type BudgetKey struct {
	Scope  string    `json:"scope"`
	Window time.Time `json:"window"`
	Limit  int       `json:"limit"`
}

// Record is everything one decision writes at once: the finding version, the
// decision, the journal entries it plans and its audit events. Written
// atomically by Ledger.Record.
type Record struct {
	Finding  *Finding
	Decision *Decision // nil: the finding is recorded, nothing decided (unchanged re-delivery)
	Steps    []*Step   // created when absent; an existing step with the same key is kept
	Events   []*Event
}

// Filter selects records for history listings. Zero fields match everything.
type Filter struct {
	FindingKey string
	DecisionID string
	AccountID  string
	Status     string // decision status or step state
	Since      time.Time
	Limit      int
}

// Ledger is the durable record. Every method is safe for concurrent use.
type Ledger interface {
	// Record writes records, each atomically; a Record whose finding is not
	// New or Updated against the ledger (compared with Compare) keeps its
	// Decision and Steps out and reports the change. The returned slice has
	// one Change per record.
	Record(ctx context.Context, recs []*Record) ([]Change, error)
	// Finding returns the recorded finding (with Raw).
	Finding(ctx context.Context, key string) (*Finding, error)
	// Lookup returns the recorded versions (without Raw) of the findings
	// with these keys that the ledger holds (a batch get).
	Lookup(ctx context.Context, keys []string) (map[string]*Finding, error)

	Decision(ctx context.Context, id string) (*Decision, error)
	// LatestDecision returns the last decision recorded for a finding.
	LatestDecision(ctx context.Context, findingKey string) (*Decision, error)
	// SetDecisionStatus moves a decision to status if its status is one of
	// from; ErrConflict otherwise.
	SetDecisionStatus(ctx context.Context, id string, from []string, status string, at time.Time) error
	// Unfinished lists decisions that must still run (approved or running).
	Unfinished(ctx context.Context) ([]*Decision, error)
	// Expire moves pending decisions whose ExpiresAt is before now to expired
	// and returns them.
	Expire(ctx context.Context, now time.Time) ([]*Decision, error)

	Step(ctx context.Context, key string) (*Step, error)
	// DecisionSteps returns the journal entries a decision planned, in order.
	DecisionSteps(ctx context.Context, decisionID string) ([]*Step, error)
	// StartStep moves a step from planned or started (a crashed attempt) to
	// started, counting the attempt; ErrConflict if it has ended.
	StartStep(ctx context.Context, key string, at time.Time) (*Step, error)
	// CheckpointStep records prior as the prior state of a started step,
	// before the step changes anything (a checkpoint: an attempt after a
	// crash, and a release, find it in Step.Prior); ErrConflict if the step
	// is not started.
	CheckpointStep(ctx context.Context, key string, prior json.RawMessage) error
	// EndStep moves a started step to a final state with its prior state and
	// result; ErrConflict if it is not started (it ended already).
	EndStep(ctx context.Context, s *Step) error
	// CancelSteps moves a decision's steps that never started to cancelled.
	CancelSteps(ctx context.Context, decisionID, reason string, at time.Time) error

	// Approve records an approval or denial and moves the decision from
	// pending to approved or denied, atomically; ErrConflict if it is not
	// pending.
	Approve(ctx context.Context, a *Approval) error
	Approvals(ctx context.Context, f Filter) ([]*Approval, error)

	// TakeBudget counts one enforced containment against every key, only if
	// each counter is below its limit; it reports whether it did, and the
	// first key that was full.
	TakeBudget(ctx context.Context, keys []BudgetKey) (ok bool, full *BudgetKey, err error)
	// BudgetUsed returns a counter's value.
	BudgetUsed(ctx context.Context, key BudgetKey) (int, error)

	Append(ctx context.Context, e ...*Event) error

	Findings(ctx context.Context, f Filter) ([]*Finding, error)
	Decisions(ctx context.Context, f Filter) ([]*Decision, error)
	Steps(ctx context.Context, f Filter) ([]*Step, error)
	Events(ctx context.Context, f Filter) ([]*Event, error)

	Close() error
}
