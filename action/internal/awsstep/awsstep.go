// Package awsstep is the common frame of reflex's AWS response steps: a
// Step built from functions, the clients taken from the context, where a
// step acts (the finding's account and region), placeholder checks and
// honest results from AWS errors.
package awsstep

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/cloud"
	"github.com/reflexsec/reflex/finding"
)

// Env is what a step's Do and Undo get: the clients and where to act.
type Env struct {
	*cloud.Clients
	Account, Region string
}

// Step is an action.Step built from functions.
type Step struct {
	Def    action.Spec
	PlanFn func(req *action.Request) []action.Call
	DoFn   func(ctx context.Context, env Env, req *action.Request) action.Result
	UndoFn func(ctx context.Context, env Env, req *action.Request) action.Result
	// TargetID extracts the identifier the step acts on ("" when the step
	// is about the finding); placeholders of sample findings are skipped.
	TargetID func(req *action.Request) string
}

// Spec returns the step's spec, marked available.
func (s *Step) Spec() action.Spec {
	d := s.Def
	d.Available = true
	return d
}

// Plan returns the calls Do would make, computed from the finding alone
// (no AWS call).
func (s *Step) Plan(_ context.Context, req *action.Request) ([]action.Call, error) {
	calls := s.PlanFn(req)
	if id := s.id(req); id != "" && finding.IsPlaceholder(id) {
		return []action.Call{{Service: "local", Action: "Skip", Target: id, Note: "a sample finding's placeholder: nothing to act on"}}, nil
	}
	return calls, nil
}

func (s *Step) id(req *action.Request) string {
	if s.TargetID != nil {
		return s.TargetID(req)
	}
	if req.Target != nil {
		if req.Target.ID != "" {
			return req.Target.ID
		}
		return req.Target.Name
	}
	return ""
}

func (s *Step) env(ctx context.Context, req *action.Request) (Env, error) {
	c, err := cloud.FromContext(ctx)
	if err != nil {
		return Env{}, err
	}
	acct, region := Where(req)
	return Env{Clients: c, Account: acct, Region: region}, nil
}

// Do runs the step unless its target is a placeholder.
func (s *Step) Do(ctx context.Context, req *action.Request) action.Result {
	if id := s.id(req); id != "" && finding.IsPlaceholder(id) {
		return action.Skipped(fmt.Sprintf("%s is a placeholder of a sample finding: nothing to act on", id))
	}
	env, err := s.env(ctx, req)
	if err != nil {
		return action.Failed(err, false)
	}
	return s.DoFn(ctx, env, req)
}

// Undo restores req.Prior; a step that recorded nothing has nothing to undo.
func (s *Step) Undo(ctx context.Context, req *action.Request) action.Result {
	if s.UndoFn == nil {
		return action.Skipped(s.Def.Name + " cannot be undone")
	}
	if len(req.Prior) == 0 || string(req.Prior) == "null" {
		return action.Skipped("nothing recorded to undo")
	}
	env, err := s.env(ctx, req)
	if err != nil {
		return action.Failed(err, false)
	}
	return s.UndoFn(ctx, env, req)
}

// Where returns the account and region to act in: the target's, else the
// finding's (DESIGN.md safety rule 8).
func Where(req *action.Request) (account, region string) {
	if req.Target != nil {
		account, region = req.Target.AccountID, req.Target.Region
	}
	if req.Finding != nil {
		if account == "" {
			account = req.Finding.AccountID
		}
		if region == "" {
			region = req.Finding.Region
		}
	}
	return account, region
}

// Fail turns an AWS error into a failed result, retryable when trying
// again may help.
func Fail(err error, what string, a ...any) action.Result {
	msg := fmt.Sprintf(what, a...)
	return action.Failed(fmt.Errorf("%s: %w", msg, err), cloud.Retryable(err))
}

// Result is a done result with prior state and output.
func Result(prior, output any) action.Result {
	r := action.Done(output)
	if prior != nil {
		r.Prior, _ = json.Marshal(prior)
	}
	return r
}

// Unmarshal reads req.Prior into v.
func Unmarshal(req *action.Request, v any) error {
	if err := json.Unmarshal(req.Prior, v); err != nil {
		return fmt.Errorf("the recorded prior state cannot be read: %w", err)
	}
	return nil
}

// Earlier reads into v the prior state an earlier attempt of the step
// checkpointed (req.Prior), reporting whether there was one. That state,
// not the one the attempt finds (which may be the earlier attempt's
// doing), is the step's prior state.
// v must be a non-nil pointer; it is replaced whole (fields the checkpoint
// leaves out are zero), and left as it is when there was no checkpoint.
func Earlier(req *action.Request, v any) (bool, error) {
	if len(req.Prior) == 0 || string(req.Prior) == "null" {
		return false, nil
	}
	dst := reflect.ValueOf(v).Elem()
	fresh := reflect.New(dst.Type())
	if err := Unmarshal(req, fresh.Interface()); err != nil {
		return false, err
	}
	dst.Set(fresh.Elem())
	return true, nil
}

// Checkpoint journals prior in the ledger before the step changes it
// (action.SaveCheckpoint); when it fails the change must not be made.
func Checkpoint(ctx context.Context, req *action.Request, prior any) error {
	return action.SaveCheckpoint(ctx, req, prior)
}

// Token is a short stable token derived from the step key: usable as a
// client token and as a tag value marking what a step created.
func Token(req *action.Request) string {
	h := sha256.Sum256([]byte(req.Key))
	return hex.EncodeToString(h[:12])
}

// Parallel runs fns with at most n at once and returns their errors joined
// in order (nil when all succeeded).
func Parallel(n int, fns ...func() error) []error {
	if n < 1 {
		n = 1
	}
	errs := make([]error, len(fns))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	return errs
}

// First returns the first non-nil error.
func First(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Concurrency bounds the calls a step makes at once.
const Concurrency = 8
