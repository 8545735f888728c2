package engine

import (
	"encoding/json"
	"time"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/finding"
)

// Plan is a decision with its reasons: what reflex decided for one version
// of a finding and why. It is what `reflex plan` prints and what the ledger
// keeps with the decision.
type Plan struct {
	DecisionID string         `json:"decision_id"`
	Finding    FindingSummary `json:"finding"`
	// Change is how the finding relates to the ledger: new, updated
	// (re-sent with more occurrences), unchanged or older.
	Change string         `json:"change"`
	Rules  []RuleVerdict  `json:"rules"`
	Guards []GuardVerdict `json:"guards"`
	Steps  []*PlannedStep `json:"steps"`
	// RequestedMode is the most cautious mode of the rules that contributed
	// steps; Mode is what the guards left of it.
	RequestedMode string    `json:"requested_mode,omitempty"`
	Mode          string    `json:"mode"`
	Status        string    `json:"status"` // the decision status (store.Decision*)
	Summary       string    `json:"summary"`
	DecidedAt     time.Time `json:"decided_at"`
}

// FindingSummary is what a plan says about the finding.
type FindingSummary struct {
	Key       string                `json:"key"`
	Type      string                `json:"type"`
	Severity  float64               `json:"severity"`
	Band      string                `json:"band"`
	Title     string                `json:"title,omitempty"`
	UpdatedAt time.Time             `json:"updated_at"`
	Count     int64                 `json:"count"`
	Sample    bool                  `json:"sample"`
	SampleWhy string                `json:"sample_reason,omitempty"`
	Resources []finding.ResourceRef `json:"resources,omitempty"`
	Origin    string                `json:"origin,omitempty"`
}

// RuleVerdict says whether a rule matched, and why or why not.
type RuleVerdict struct {
	Rule    string `json:"rule"`
	Matched bool   `json:"matched"`
	Why     string `json:"why"`
	Mode    string `json:"mode,omitempty"` // the rule's mode, for matched rules
}

// Guard names.
const (
	GuardSample    = "sample"
	GuardDuplicate = "duplicate"
	GuardProtected = "protected"
	GuardAccount   = "account"
	GuardBudget    = "budget"
	GuardMode      = "mode"
)

// GuardVerdict is one guard's judgement.
type GuardVerdict struct {
	Guard   string `json:"guard"`
	Verdict string `json:"verdict"` // pass, drop (steps removed), hold (needs approval), dry-run, nothing (no action)
	Reason  string `json:"reason"`
}

// Step statuses in a plan.
const (
	PlanPlanned = "planned" // will run (enforce), wait (approve) or is shown only (dry-run)
	PlanDropped = "dropped" // removed by a guard or because it has no target
	PlanAlready = "already" // the ledger has it for this finding already
)

// PlannedStep is one step for one resource.
type PlannedStep struct {
	Seq       int                  `json:"seq"`
	Key       string               `json:"key"`
	Name      string               `json:"step"`
	Rule      string               `json:"rule"`
	AlsoFrom  []string             `json:"also_from,omitempty"`
	Target    *finding.ResourceRef `json:"target,omitempty"`
	TargetID  string               `json:"target_id,omitempty"`
	Params    action.Params        `json:"params,omitempty"`
	Effect    action.Effect        `json:"effect"`
	Available bool                 `json:"available"`
	OnFailure string               `json:"on_failure"`
	Timeout   string               `json:"timeout,omitempty"`
	Retries   *int                 `json:"retries,omitempty"`
	Calls     []action.Call        `json:"calls,omitempty"`
	Status    string               `json:"status"`
	Reason    string               `json:"reason,omitempty"`
}

// UnmarshalPlan reads a plan back from the ledger.
func UnmarshalPlan(b []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
