// Package intake holds the ways findings reach the engine — a Lambda
// handler (EventBridge events and SQS batches), an SQS consumer, an HTTP
// endpoint compatible with EventBridge API destinations, and a GuardDuty
// API poller — and the one path they share: decode, record the decision in
// the ledger, execute what is approved, and record what was rejected.
package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/store"
)

// Observer is told what the processor does (metrics). Methods must be safe
// for concurrent use.
type Observer interface {
	Received(source string, n int)
	Rejected(source, reason string)
	Decided(source string, p *engine.Plan, change store.Change)
	StepEnded(s *store.Step)
	BudgetTripped(account string)
	QueueLag(source string, d time.Duration)
}

// NopObserver observes nothing.
type NopObserver struct{}

func (NopObserver) Received(string, int)                       {}
func (NopObserver) Rejected(string, string)                    {}
func (NopObserver) Decided(string, *engine.Plan, store.Change) {}
func (NopObserver) StepEnded(*store.Step)                      {}
func (NopObserver) BudgetTripped(string)                       {}
func (NopObserver) QueueLag(string, time.Duration)             {}

// MaxRejectedRaw caps the raw input kept in a rejection's audit event.
const MaxRejectedRaw = 4 << 10

// Processor is the path every intake shares.
type Processor struct {
	Engine *engine.Engine
	Log    *slog.Logger
	Obs    Observer

	// NoGroupCommit records each caller's findings in a transaction of
	// their own instead of grouping concurrent callers (see group).
	NoGroupCommit bool

	inflight sync.WaitGroup
	group    group
}

func (p *Processor) obs() Observer {
	if p.Obs == nil {
		return NopObserver{}
	}
	return kinds{p.Obs}
}

// kinds reports sources by kind ("sqs", not "sqs:MESSAGE-ID"): metric
// labels stay few.
type kinds struct{ Observer }

func kind(source string) string {
	k, _, _ := strings.Cut(source, ":")
	return k
}

func (k kinds) Received(source string, n int)  { k.Observer.Received(kind(source), n) }
func (k kinds) Rejected(source, reason string) { k.Observer.Rejected(kind(source), reason) }
func (k kinds) Decided(source string, p *engine.Plan, c store.Change) {
	k.Observer.Decided(kind(source), p, c)
}
func (k kinds) QueueLag(source string, d time.Duration) { k.Observer.QueueLag(kind(source), d) }

func (p *Processor) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

// RejectError is bad input: it will never be accepted however often it is
// sent, so it is recorded, not retried.
type RejectError struct {
	Source string
	Errs   []error
}

func (e *RejectError) Error() string {
	msgs := make([]string, 0, len(e.Errs))
	for _, err := range e.Errs {
		msgs = append(msgs, err.Error())
	}
	return strings.Join(msgs, "; ")
}

// Decode reads the findings of one input (an EventBridge event, a list of
// events, a bare finding or GetFindings output). Any bad record rejects the
// input as a whole, with an error naming each problem.
func Decode(source string, body []byte) ([]*finding.Finding, error) {
	fs, errs := finding.ParseBytes(source, body)
	if len(errs) > 0 {
		return nil, &RejectError{Source: source, Errs: errs}
	}
	return fs, nil
}

// Reject records rejected input in the ledger's audit trail (kind
// intake.rejected) with the raw input, capped, and logs it.
func (p *Processor) Reject(ctx context.Context, source string, raw []byte, reason error) error {
	msg := reason.Error()
	if len(msg) > 1024 {
		msg = msg[:1024] + "…"
	}
	kept := raw
	if len(kept) > MaxRejectedRaw {
		kept = kept[:MaxRejectedRaw]
	}
	data, _ := json.Marshal(map[string]any{"source": source, "bytes": len(raw), "raw": string(kept), "truncated": len(raw) > len(kept)})
	p.obs().Rejected(source, rejectReason(reason))
	p.log().Warn("input rejected", "source", source, "bytes", len(raw), "error", msg)
	if p.Engine == nil || p.Engine.Ledger == nil {
		return nil
	}
	err := p.Engine.Ledger.Append(context.WithoutCancel(ctx), &store.Event{At: time.Now().UTC(), Kind: "intake.rejected", Actor: source,
		Message: "rejected input: " + msg, Data: data})
	if err != nil {
		return fmt.Errorf("record the rejection: %w", err)
	}
	return nil
}

func rejectReason(err error) string {
	var re *RejectError
	switch {
	case errors.As(err, &re):
		return "invalid"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrUnauthorized):
		return "unauthorized"
	}
	return "other"
}

// Errors of the HTTP intake.
var (
	ErrTooLarge     = errors.New("body too large")
	ErrUnauthorized = errors.New("unauthorized")
)

// Record decides for findings and writes the decisions to the ledger; when
// it returns without error the ledger has every one of them. Concurrent
// calls share one ledger transaction (group commit) unless NoGroupCommit.
func (p *Processor) Record(ctx context.Context, source string, fs []*finding.Finding) ([]*engine.Result, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	p.obs().Received(source, len(fs))
	var rs []*engine.Result
	var err error
	if p.NoGroupCommit {
		rs, err = p.Engine.Record(ctx, fs, engine.Options{})
	} else {
		rs, err = p.group.record(ctx, fs, func(ctx context.Context, fs []*finding.Finding) ([]*engine.Result, error) {
			return p.Engine.Record(ctx, fs, engine.Options{})
		})
	}
	if err != nil {
		for _, f := range fs {
			p.log().Error("ledger write failed", "source", source, "finding_id", f.ID, "account", f.AccountID, "error", err.Error())
		}
		return nil, err
	}
	for i, r := range rs {
		f := fs[i]
		p.obs().Decided(source, r.Plan, r.Change)
		for _, g := range r.Plan.Guards {
			if g.Guard == engine.GuardBudget && g.Verdict == "hold" {
				p.obs().BudgetTripped(f.AccountID)
			}
		}
		p.log().Info("decided", "source", source, "finding_id", f.ID, "account", f.AccountID, "region", f.Region,
			"type", f.Type, "rule", matchedRules(r.Plan), "change", string(r.Change), "decision", r.Plan.DecisionID,
			"status", r.Plan.Status, "mode", r.Plan.Mode, "summary", r.Plan.Summary)
	}
	return rs, nil
}

func matchedRules(pl *engine.Plan) string {
	var out []string
	for _, r := range pl.Rules {
		if r.Matched {
			out = append(out, r.Rule)
		}
	}
	return strings.Join(out, ",")
}

// Runnable reports whether a result's decision is to execute now.
func Runnable(r *engine.Result) bool {
	return (r.Change == store.New || r.Change == store.Updated) && r.Plan.Status == store.DecisionApproved
}

// Execute runs the approved decisions among results. A ledger error leaves
// a decision running in the ledger, to be resumed.
func (p *Processor) Execute(ctx context.Context, rs []*engine.Result) error {
	var errs []error
	for _, r := range rs {
		if !Runnable(r) {
			continue
		}
		if err := p.execute(ctx, r.Plan.DecisionID, r.Plan); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *Processor) execute(ctx context.Context, id string, pl *engine.Plan) error {
	o, err := p.Engine.Execute(ctx, id)
	rule := ""
	if pl != nil {
		rule = matchedRules(pl)
	}
	if err != nil {
		p.log().Error("execution interrupted: the decision will be resumed", "decision", id, "rule", rule, "error", err.Error())
		return err
	}
	ruleOf := map[string]string{}
	if pl != nil {
		for _, ps := range pl.Steps {
			ruleOf[ps.Key] = ps.Rule
		}
	}
	for _, s := range o.Steps {
		p.obs().StepEnded(s)
		acct, _, _ := strings.Cut(s.FindingKey, "/")
		lvl := slog.LevelInfo
		if s.State == store.StepFailed {
			lvl = slog.LevelWarn
		}
		p.log().Log(ctx, lvl, "step "+s.State, "finding_id", findingID(s.FindingKey), "account", acct, "rule", ruleOf[s.Key],
			"step", s.Name, "target", s.Target, "decision", id, "attempts", s.Attempts, "reason", s.Reason)
	}
	return nil
}

func findingID(key string) string {
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		return key[i+1:]
	}
	return key
}

// Handle records and then executes: the synchronous path (Lambda, pull).
func (p *Processor) Handle(ctx context.Context, source string, fs []*finding.Finding) ([]*engine.Result, error) {
	rs, err := p.Record(ctx, source, fs)
	if err != nil {
		return nil, err
	}
	return rs, p.Execute(ctx, rs)
}

// execAttempts bounds how often a background execution is retried after an
// error before it is left to Resume at the next start.
const execAttempts = 5

// ExecuteAsync runs the approved decisions among results in the
// background, tracked so that Drain can wait for them. ctx bounds the
// execution (not the request that recorded it).
func (p *Processor) ExecuteAsync(ctx context.Context, rs []*engine.Result) {
	for _, r := range rs {
		if !Runnable(r) {
			continue
		}
		p.inflight.Add(1)
		go func() {
			defer p.inflight.Done()
			// Execute resumes where an interrupted attempt stopped, so a
			// transient failure (a busy ledger under load) is retried here
			// rather than leaving the decision for the next start.
			backoff := 100 * time.Millisecond
			for attempt := 1; ; attempt++ {
				err := p.execute(ctx, r.Plan.DecisionID, r.Plan)
				if err == nil || ctx.Err() != nil || attempt == execAttempts {
					return
				}
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
					return
				}
				backoff *= 2
			}
		}()
	}
}

// Drain waits for background executions until ctx ends. Executions still
// running then are cancelled by their own context (the caller's); their
// steps are journaled as started and resumed at the next start.
func (p *Processor) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		p.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Resume finishes decisions left approved or running (a crash, a
// shutdown), and expires stale approvals.
func (p *Processor) Resume(ctx context.Context) error {
	outs, err := p.Engine.Resume(ctx)
	for _, o := range outs {
		for _, s := range o.Steps {
			p.obs().StepEnded(s)
		}
		p.log().Info("resumed", "decision", o.DecisionID, "status", o.Status)
	}
	return err
}
