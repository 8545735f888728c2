package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/store"
)

// Result is what Process did with one finding.
type Result struct {
	Plan    *Plan
	Change  store.Change
	Outcome *Outcome // when steps ran
}

// Prepare decides for f and builds its ledger record. For an enforce
// decision that changes resources it takes the blast-radius budget; past
// it, the decision turns into approve and the trip is recorded.
func (e *Engine) Prepare(ctx context.Context, f *finding.Finding, opt Options) (*Plan, *store.Record, error) {
	pl, err := e.Decide(ctx, f, opt)
	if err != nil {
		return nil, nil, err
	}
	rec, err := e.record(ctx, f, pl)
	if err != nil {
		return nil, nil, err
	}
	return pl, rec, nil
}

// needsBudget reports whether recording pl takes blast-radius budget.
func needsBudget(pl *Plan) bool {
	return pl.Status == store.DecisionApproved && pl.Mode == policy.Enforce && changesResources(pl)
}

// record builds the ledger record of a decision, taking the budget it needs.
func (e *Engine) record(ctx context.Context, f *finding.Finding, pl *Plan) (*store.Record, error) {
	now := pl.DecidedAt
	key := f.Key().String()
	rec := &store.Record{Finding: recordOf(f, pl.Finding.Sample, now)}
	if pl.Change == string(store.Unchanged) || pl.Change == string(store.Older) {
		return rec, nil
	}
	for _, g := range pl.Guards {
		if g.Guard == GuardBudget && g.Verdict == "hold" {
			rec.Events = append(rec.Events, &store.Event{At: now, Kind: "budget.tripped", FindingKey: key, DecisionID: pl.DecisionID, Message: g.Reason})
		}
	}
	if needsBudget(pl) {
		ok, full, err := e.Ledger.TakeBudget(ctx, e.BudgetKeys(f.AccountID, now))
		if err != nil {
			return nil, err
		}
		if !ok {
			pl.Mode, pl.Status = policy.Approve, store.DecisionPending
			reason := fmt.Sprintf("blast-radius budget spent (%d %s containments in the window from %s): enforce becomes approve",
				full.Limit, budgetScopeText(full.Scope), full.Window.Format(time.RFC3339))
			for i, g := range pl.Guards {
				if g.Guard == GuardBudget {
					pl.Guards = append(pl.Guards[:i], pl.Guards[i+1:]...)
					break
				}
			}
			pl.Guards = append(pl.Guards, GuardVerdict{GuardBudget, "hold", reason})
			pl.Summary = summarize(pl, livesteps(pl))
			rec.Events = append(rec.Events, &store.Event{At: now, Kind: "budget.tripped", FindingKey: key, DecisionID: pl.DecisionID,
				Message: reason})
		}
	}
	planJSON, err := marshalStored(pl)
	if err != nil {
		return nil, err
	}
	dec := &store.Decision{ID: pl.DecisionID, FindingKey: key, AccountID: f.AccountID, CreatedAt: now, UpdatedAt: now,
		Mode: pl.Mode, Status: pl.Status, Summary: pl.Summary, Plan: planJSON}
	if pl.Status == store.DecisionPending {
		dec.ExpiresAt = now.Add(time.Duration(e.Policy.Approvals.ExpireAfter))
	}
	rec.Decision = dec
	if pl.Status == store.DecisionPending || pl.Status == store.DecisionApproved {
		for _, ps := range pl.Steps {
			if ps.Status != PlanPlanned {
				continue
			}
			params, _ := json.Marshal(ps.Params)
			rec.Steps = append(rec.Steps, &store.Step{Key: ps.Key, DecisionID: pl.DecisionID, FindingKey: key, Seq: ps.Seq,
				Name: ps.Name, Target: ps.TargetID, Params: params, State: store.StepPlanned, PlannedAt: now})
		}
	}
	if pl.Status != store.DecisionNothing && pl.Status != store.DecisionDryRun {
		// dry-run and no-op decisions are their own record; decisions that
		// wait or act open an audit trail
		rec.Events = append(rec.Events, &store.Event{At: now, Kind: "decision." + pl.Status, FindingKey: key, DecisionID: pl.DecisionID, Message: pl.Summary})
	}
	return rec, nil
}

// marshalStored writes the plan as the ledger keeps it: without the API
// calls of each step (Plan recomputes them; they are for display) and
// without each step's copy of its target (the finding's resources are kept
// once; TargetID names the one). A decision that will never run (dry-run,
// nothing to do) is kept brief: the rules that matched, the guards' verdicts
// and the steps with their status — `reflex plan` shows the rest again.
func marshalStored(pl *Plan) ([]byte, error) {
	brief := pl.Status == store.DecisionDryRun || pl.Status == store.DecisionNothing
	type saved struct {
		calls  []action.Call
		target *finding.ResourceRef
		params action.Params
	}
	keep := make([]saved, len(pl.Steps))
	for i, ps := range pl.Steps {
		keep[i] = saved{ps.Calls, ps.Target, ps.Params}
		ps.Calls, ps.Target = nil, nil
		if brief {
			ps.Params = nil
		}
	}
	rules, resources := pl.Rules, pl.Finding.Resources
	if brief {
		pl.Finding.Resources = nil
		var matched []RuleVerdict
		for _, r := range pl.Rules {
			if r.Matched {
				matched = append(matched, r)
			}
		}
		pl.Rules = matched
	}
	b, err := encodePlan(pl)
	for i, ps := range pl.Steps {
		ps.Calls, ps.Target, ps.Params = keep[i].calls, keep[i].target, keep[i].params
	}
	pl.Rules, pl.Finding.Resources = rules, resources
	return b, err
}

func livesteps(pl *Plan) int {
	n := 0
	for _, ps := range pl.Steps {
		if ps.Status == PlanPlanned {
			n++
		}
	}
	return n
}

func changesResources(pl *Plan) bool {
	for _, ps := range pl.Steps {
		if ps.Status == PlanPlanned && ps.Effect != action.ReadOnly {
			return true
		}
	}
	return false
}

// Record decides for a batch of findings and writes the decisions to the
// ledger in one transaction, executing nothing. It is the fast path of
// intake: the ledger's versions of the batch are read at once, decisions
// are made in parallel (Decide is pure given them), and budgets are taken
// in input order.
func (e *Engine) Record(ctx context.Context, fs []*finding.Finding, opt Options) ([]*Result, error) {
	b, err := e.prepareBatch(ctx, fs, opt)
	if err != nil {
		return nil, err
	}
	return e.commitBatch(ctx, b)
}

// RecordStream is Record over a stream: findings from in are taken in
// batches of up to size, and the next batch is decided while the previous
// one is written. done receives each batch's results, in order. A finding
// that appears in two batches in flight is decided twice and recorded once:
// the ledger's conditional write turns the second into a duplicate.
func (e *Engine) RecordStream(ctx context.Context, in <-chan *finding.Finding, size int, opt Options, done func([]*Result) error) error {
	if size < 1 {
		size = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type prepared struct {
		b   *batch
		err error
	}
	ready := make(chan prepared, 1)
	go func() {
		defer close(ready)
		buf := make([]*finding.Finding, 0, size)
		flush := func() bool {
			b, err := e.prepareBatch(ctx, buf, opt)
			select {
			case ready <- prepared{b, err}:
			case <-ctx.Done():
				return false
			}
			buf = make([]*finding.Finding, 0, size)
			return err == nil
		}
		for f := range in {
			buf = append(buf, f)
			if len(buf) == size && !flush() {
				return
			}
		}
		if len(buf) > 0 {
			flush()
		}
	}()
	for p := range ready {
		if p.err != nil {
			return p.err
		}
		rs, err := e.commitBatch(ctx, p.b)
		if err != nil {
			return err
		}
		if err := done(rs); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// batch is a decided batch not yet written.
type batch struct {
	fs    []*finding.Finding
	plans []*Plan
	recs  []*store.Record
}

func (e *Engine) prepareBatch(ctx context.Context, fs []*finding.Finding, opt Options) (*batch, error) {
	if !opt.NoLedger && len(fs) > 1 {
		keys := make([]string, len(fs))
		for i, f := range fs {
			keys[i] = f.Key().String()
		}
		priors, err := e.Ledger.Lookup(ctx, keys)
		if err != nil {
			return nil, err
		}
		opt.priors = priors
	}
	b := &batch{fs: fs, plans: make([]*Plan, len(fs)), recs: make([]*store.Record, len(fs))}
	errs := make([]error, len(fs))
	workers := min(runtime.GOMAXPROCS(0), (len(fs)+63)/64)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(fs); i += workers {
				pl, err := e.Decide(ctx, fs[i], opt)
				if err != nil {
					errs[i] = err
					continue
				}
				b.plans[i] = pl
				if !needsBudget(pl) {
					b.recs[i], errs[i] = e.record(ctx, fs[i], pl)
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return b, nil
}

func (e *Engine) commitBatch(ctx context.Context, b *batch) ([]*Result, error) {
	for i, pl := range b.plans {
		if b.recs[i] == nil {
			var err error
			if b.recs[i], err = e.record(ctx, b.fs[i], pl); err != nil {
				return nil, err
			}
		}
	}
	changes, err := e.Ledger.Record(ctx, b.recs)
	if err != nil {
		return nil, err
	}
	out := make([]*Result, len(b.fs))
	for i, ch := range changes {
		out[i] = &Result{Plan: b.plans[i], Change: ch}
		if ch != store.New && ch != store.Updated && b.plans[i].Status != store.DecisionNothing {
			// decided against a stale view: the ledger kept the first
			b.plans[i].Status = store.DecisionNothing
			b.plans[i].Summary = "duplicate delivery: nothing to do"
			continue
		}
		if ch == store.New || ch == store.Updated {
			e.announcePlan(b.fs[i], b.plans[i])
		}
	}
	return out, nil
}

// Run is `reflex run`: finish interrupted work, then record a decision for
// each finding and execute those that are approved (enforce mode).
func (e *Engine) Run(ctx context.Context, fs []*finding.Finding, opt Options) ([]*Result, []*Outcome, error) {
	resumed, err := e.Resume(ctx)
	if err != nil {
		return nil, resumed, err
	}
	var results []*Result
	for _, f := range fs {
		rs, err := e.Record(ctx, []*finding.Finding{f}, opt)
		if err != nil {
			return results, resumed, err
		}
		r := rs[0]
		results = append(results, r)
		if (r.Change == store.New || r.Change == store.Updated) && r.Plan.Status == store.DecisionApproved {
			o, err := e.Execute(ctx, r.Plan.DecisionID)
			if err != nil {
				return results, resumed, err
			}
			r.Outcome = o
		}
	}
	return results, resumed, nil
}

// Resume expires stale approvals and finishes every decision left approved
// or running (by a crash, or an approval given without running).
func (e *Engine) Resume(ctx context.Context) ([]*Outcome, error) {
	if _, err := e.Expire(ctx); err != nil {
		return nil, err
	}
	decs, err := e.Ledger.Unfinished(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Outcome
	for _, d := range decs {
		o, err := e.Execute(ctx, d.ID)
		if err != nil {
			return out, fmt.Errorf("resume %s: %w", d.ID, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// Expire marks pending decisions past their expiry as expired.
func (e *Engine) Expire(ctx context.Context) ([]*store.Decision, error) {
	decs, err := e.Ledger.Expire(ctx, e.now())
	if err != nil {
		return nil, err
	}
	for _, d := range decs {
		const why = "the plan waited past its expiry without an answer: cancelled"
		_ = e.Ledger.Append(ctx, &store.Event{At: e.now(), Kind: "approval.expired", FindingKey: d.FindingKey, DecisionID: d.ID,
			Message: why})
		e.announceAnswer(ctx, d, OutcomeExpired, why)
	}
	return decs, nil
}

// ErrExpired is returned when approving a decision whose approval expired.
var ErrExpired = errors.New("the approval request expired")

// Answer records a person's approval or denial of a pending decision; an
// approved decision is executed at once unless run is false.
func (e *Engine) Answer(ctx context.Context, decisionID string, approve bool, by, reason string, run bool) (*Outcome, error) {
	if by == "" {
		return nil, errors.New("say who answers (--by)")
	}
	if _, err := e.Expire(ctx); err != nil {
		return nil, err
	}
	dec, err := e.Ledger.Decision(ctx, decisionID)
	if err != nil {
		return nil, err
	}
	if dec.Status == store.DecisionExpired {
		return nil, fmt.Errorf("decision %s: %w at %s", decisionID, ErrExpired, dec.ExpiresAt.Format(time.RFC3339))
	}
	verdict := store.DecisionDenied
	if approve {
		verdict = store.DecisionApproved
	}
	now := e.now()
	if err := e.Ledger.Approve(ctx, &store.Approval{DecisionID: decisionID, Verdict: verdict, By: by, Reason: reason, At: now}); err != nil {
		return nil, err
	}
	_ = e.Ledger.Append(ctx, &store.Event{At: now, Kind: "approval." + verdict, FindingKey: dec.FindingKey, DecisionID: decisionID, Actor: by,
		Message: verdict + " by " + by + reasonSuffix(reason)})
	switch {
	case !approve:
		e.announceAnswer(ctx, dec, OutcomeDenied, "denied by "+by+reasonSuffix(reason))
		return nil, nil
	case !run:
		e.announceAnswer(ctx, dec, OutcomeApproved, "approved by "+by+reasonSuffix(reason)+"; runs at the next reflex run")
		return nil, nil
	}
	return e.Execute(ctx, decisionID)
}
