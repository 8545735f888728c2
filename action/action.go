// Package action holds the Step contract — what every response action is —
// and the registry steps are looked up in.
//
// A step declares its name, parameters, the resource kinds it acts on and
// the IAM actions it may call (so configuration validation, documentation
// and least-privilege policies come from the code). Plan says exactly what it
// would do without doing it; Do is idempotent and records the state it
// changed; Undo restores that state; every result is honest: done, skipped
// with why, or failed with the error and whether retrying may help.
//
// A reversible step journals the state it is about to change before it
// changes it (Request.Checkpoint, a write to the ledger), so a crash at any
// point leaves the prior state in the ledger: the next attempt finds it in
// Request.Prior, and a release of the interrupted step restores it.
package action

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/reflexsec/reflex/finding"
)

// Effect classifies what a step changes.
type Effect string

// Effects. Irreversible steps are allowed only in approve mode.
const (
	ReadOnly     Effect = "read-only"    // changes no resource (capture, notify, record)
	Reversible   Effect = "reversible"   // Undo restores the recorded prior state
	Irreversible Effect = "irreversible" // cannot be undone: approve mode only
)

// Spec describes a step: everything about it that does not need a finding.
type Spec struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Params      []Param  `json:"params,omitempty"`
	IAMActions  []string `json:"iam_actions,omitempty"`
	// Targets are the resource kinds (finding.Kind*) the step acts on, in
	// order of preference; the step runs once per matching resource of the
	// finding. Empty: the step is about the finding itself and runs once.
	Targets []string `json:"targets,omitempty"`
	Effect  Effect   `json:"effect"`
	// Available is false for a step that is declared (name, parameters, IAM
	// actions) but not implemented in this build: it validates and plans,
	// and fails if asked to run.
	Available bool   `json:"available"`
	Example   string `json:"example,omitempty"`
}

// Request is one invocation of a step.
type Request struct {
	// Key identifies this (finding, step, target): the same on every attempt
	// and every re-delivery, usable as an idempotency token.
	Key     string
	Finding *finding.Finding
	// Target is the resource acted on; nil for steps about the finding.
	Target *finding.ResourceRef
	Params Params
	// Prior is the state recorded by an earlier attempt of this step, if
	// one checkpointed it before a crash (the state before that attempt
	// changed anything); for Undo, the state to restore.
	Prior json.RawMessage
	// Checkpoint, set by the engine for Do, journals prior (the state the
	// step is about to change, in the form Undo reads) durably in the
	// ledger and returns once it is written. A reversible step calls it
	// before its first change (SaveCheckpoint), and again when it learns
	// more of the prior state before a later change; each call replaces the
	// previous checkpoint. Nil outside the engine: nothing is journaled.
	Checkpoint func(ctx context.Context, prior json.RawMessage) error
	// Announce is set by the engine for the notify step when notifications
	// are configured: it hands the decision's announcement (every step's
	// status at that moment) to the notification dispatcher, on route
	// (empty: the routes whose match takes it) with message added, and
	// reports whether it was queued. Delivery happens later.
	Announce func(route, message string) bool
}

// Call is one API call a step would make, as Plan reports it.
type Call struct {
	Service string         `json:"service"` // ec2, iam, s3, guardduty, local, ...
	Action  string         `json:"action"`  // the API operation
	Target  string         `json:"target,omitempty"`
	Input   map[string]any `json:"input,omitempty"`
	Note    string         `json:"note,omitempty"`
}

func (c Call) String() string {
	s := c.Service + ":" + c.Action
	if c.Target != "" {
		s += " " + c.Target
	}
	if len(c.Input) > 0 {
		b, _ := json.Marshal(c.Input)
		s += " " + string(b)
	}
	if c.Note != "" {
		s += " (" + c.Note + ")"
	}
	return s
}

// Status is a step's outcome.
type Status string

// Outcomes.
const (
	StatusDone    Status = "done"
	StatusSkipped Status = "skipped"
	StatusFailed  Status = "failed"
)

// Result is the honest outcome of Do or Undo.
type Result struct {
	Status Status
	// Reason says why a step was skipped, or what failed.
	Reason string
	// Prior is the state the step changed, recorded for Undo.
	Prior json.RawMessage
	// Output is what the step produced (ids created, evidence location...).
	Output json.RawMessage
	// Err is the failure, with Retry telling whether trying again may
	// succeed (throttling, a timeout, a transient service error).
	Err   error
	Retry bool
}

// Done is a successful result with an output (marshalled to JSON).
func Done(output any) Result {
	r := Result{Status: StatusDone}
	if output != nil {
		r.Output, _ = json.Marshal(output)
	}
	return r
}

// Skipped is a result for a step that had nothing to do, and why.
func Skipped(why string) Result { return Result{Status: StatusSkipped, Reason: why} }

// Failed is a failure; retry tells whether trying again may help.
func Failed(err error, retry bool) Result {
	if err == nil {
		err = errors.New("failed")
	}
	return Result{Status: StatusFailed, Reason: err.Error(), Err: err, Retry: retry}
}

// SaveCheckpoint journals prior through req.Checkpoint (see Request); it
// does nothing when req has no Checkpoint. A step must not make the change
// when it fails.
func SaveCheckpoint(ctx context.Context, req *Request, prior any) error {
	if req.Checkpoint == nil {
		return nil
	}
	b, err := json.Marshal(prior)
	if err != nil {
		return fmt.Errorf("checkpoint of the prior state: %w", err)
	}
	if err := req.Checkpoint(ctx, b); err != nil {
		return fmt.Errorf("checkpoint of the prior state: %w", err)
	}
	return nil
}

// Step is a response action.
type Step interface {
	Spec() Spec
	// Plan returns the calls Do would make for the request, making none.
	Plan(ctx context.Context, req *Request) ([]Call, error)
	// Do performs the step. It must be idempotent: run again after a crash
	// at any point, or twice, it converges to the same state and does not
	// repeat a side effect that must happen once. A reversible step
	// checkpoints the state it changes before changing it (SaveCheckpoint)
	// and, when req.Prior holds an earlier attempt's checkpoint, records
	// that state as its prior state, not the state it finds (which may be
	// the earlier attempt's doing). A reversible attempt interrupted before
	// its first checkpoint has changed nothing that release would restore.
	Do(ctx context.Context, req *Request) Result
	// Undo restores the state recorded in req.Prior: a done step's, or the
	// checkpoint of an attempt that was interrupted or failed after it, in
	// which case the change may or may not have been made (Undo converges
	// either way).
	Undo(ctx context.Context, req *Request) Result
}

// ErrNotImplemented is the error of a declared step that this build cannot run.
var ErrNotImplemented = errors.New("not implemented in this build")

// Error is a step error carrying retryability, for steps that return errors
// from helpers.
type Error struct {
	Err   error
	Retry bool
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Retryable wraps err as retryable.
func Retryable(err error) error { return &Error{Err: err, Retry: true} }

// IsRetryable reports whether err was marked retryable.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retry
}

// TargetsOf returns the resources of f a step with spec acts on: for each
// kind in spec.Targets in order, the finding's resources of that kind; the
// first kind with resources wins (so iam.deny-all acts on the user, or the
// role, whichever the finding names). A step with no Targets acts on the
// finding: one nil target.
func TargetsOf(spec Spec, f *finding.Finding) []*finding.ResourceRef {
	return TargetsIn(spec, f.Resources())
}

// TargetsIn is TargetsOf over resources already computed (f.Resources()).
func TargetsIn(spec Spec, res []finding.ResourceRef) []*finding.ResourceRef {
	if len(spec.Targets) == 0 {
		return []*finding.ResourceRef{nil}
	}
	for _, kind := range spec.Targets {
		var out []*finding.ResourceRef
		for i := range res {
			if res[i].Kind == kind {
				out = append(out, &res[i])
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// TargetID names a resource in step keys and output: its ARN, else kind and
// id or name.
func TargetID(r *finding.ResourceRef) string {
	if r == nil {
		return ""
	}
	if r.ARN != "" {
		return r.ARN
	}
	id := r.ID
	if id == "" {
		id = r.Name
	}
	return fmt.Sprintf("%s:%s", r.Kind, id)
}
