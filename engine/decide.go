// Package engine ties decisions to effects: Decide turns a finding into a
// plan with the reason for every rule that did or did not fire and every
// guard's verdict; Execute runs a plan's steps, each journaled in the ledger
// before and after it runs, so that a crash at any point is finished by the
// next run without repeating a completed side effect.
package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/store"
)

// Engine decides and executes under one policy.
type Engine struct {
	Policy   *policy.Policy
	Registry *action.Registry
	// Ledger may be nil for planning without history: every finding is
	// then new and the budget unused.
	Ledger store.Ledger
	Now    func() time.Time
	Log    *slog.Logger
	// Notify, when set, takes the announcement of every decision that
	// waits, plans (dry-run), runs or is answered (see announce.go).
	Notify Announcer
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Options tune Decide.
type Options struct {
	// Explain says, for every rule that did not match, which field of its
	// pattern the finding fails (slower).
	Explain bool
	// Calls fills each planned step's API calls (for display; Explain
	// implies it).
	Calls bool
	// NoLedger ignores the ledger (no duplicate check, budget unused).
	NoLedger bool

	// priors, when set, are the ledger's versions of a batch of findings,
	// read at once (absent: never seen).
	priors map[string]*store.Finding
}

// modeRank orders modes by caution: the lower, the more cautious.
func modeRank(m string) int {
	switch m {
	case policy.Enforce:
		return 2
	case policy.Approve:
		return 1
	}
	return 0
}

// DecisionID is deterministic: the same version of a finding always gets
// the same decision id.
func DecisionID(f *finding.Finding) string {
	// sha256 of "%s\x00%s\x00%d" (key, updatedAt in RFC 3339, count),
	// built without fmt
	var buf [256]byte
	b := append(buf[:0], f.AccountID...)
	b = append(b, '/')
	b = append(b, f.Region...)
	b = append(b, '/')
	b = append(b, f.ID...)
	b = append(b, 0)
	b = f.UpdatedAt.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, 0)
	b = strconv.AppendInt(b, f.Service.Count, 10)
	sum := sha256.Sum256(b)
	var id [2 + 16]byte
	id[0], id[1] = 'd', '-'
	hex.Encode(id[2:], sum[:8])
	return string(id[:])
}

// StepKey identifies one step for one resource of one finding.
func StepKey(findingKey, step, target string) string {
	return findingKey + "|" + step + "|" + target
}

// Record returns the ledger record of a finding.
func Record(f *finding.Finding, now time.Time) *store.Finding {
	sample, _ := f.Sample()
	return recordOf(f, sample, now)
}

func recordOf(f *finding.Finding, sample bool, now time.Time) *store.Finding {
	return &store.Finding{
		Key: f.Key().String(), AccountID: f.AccountID, Region: f.Region, ID: f.ID, Type: f.Type,
		Severity: f.Severity, Sample: sample, UpdatedAt: f.UpdatedAt.Time.UTC(), Count: f.Service.Count,
		FirstSeen: now, LastSeen: now, Raw: f.Raw,
	}
}

// Decide decides for one finding. It reads the ledger (prior versions,
// steps already journaled, budget usage) and writes nothing.
func (e *Engine) Decide(ctx context.Context, f *finding.Finding, opt Options) (*Plan, error) {
	if f == nil {
		return nil, errors.New("decide: no finding")
	}
	now := e.now()
	p := e.Policy
	key := f.Key().String()
	resources := f.Resources()
	sample, sampleWhy := f.SampleIn(resources)
	pl := &Plan{
		DecisionID: DecisionID(f),
		Finding: FindingSummary{
			Key: key, Type: f.Type, Severity: f.Severity, Band: string(f.Band()), Title: f.Title,
			UpdatedAt: f.UpdatedAt.Time.UTC(), Count: f.Service.Count, Sample: sample, SampleWhy: sampleWhy,
			Resources: resources,
		},
		DecidedAt: now,
		Change:    string(store.New),
	}
	if f.Origin.Input != "" {
		pl.Finding.Origin = f.Origin.String()
	}
	led := e.Ledger
	if opt.NoLedger {
		led = nil
	}

	// Duplicate: compare with what the ledger holds.
	if led != nil {
		var prev *store.Finding
		if opt.priors != nil {
			prev = opt.priors[key]
		} else {
			var err error
			prev, err = led.Finding(ctx, key)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
		if prev != nil {
			ch := store.Compare(prev, &store.Finding{UpdatedAt: f.UpdatedAt.Time.UTC(), Count: f.Service.Count})
			pl.Change = string(ch)
			switch ch {
			case store.Unchanged:
				pl.Guards = append(pl.Guards, GuardVerdict{GuardDuplicate, "nothing",
					fmt.Sprintf("already recorded: same updatedAt %s and count %d (a re-delivery); nothing to do", prev.UpdatedAt.Format(time.RFC3339), prev.Count)})
			case store.Older:
				pl.Guards = append(pl.Guards, GuardVerdict{GuardDuplicate, "nothing",
					fmt.Sprintf("older than the recorded version (updatedAt %s, count %d); nothing to do", prev.UpdatedAt.Format(time.RFC3339), prev.Count)})
			case store.Updated:
				pl.Guards = append(pl.Guards, GuardVerdict{GuardDuplicate, "pass",
					fmt.Sprintf("re-sent finding: count %d → %d, updatedAt %s → %s; steps already journaled for it are not repeated",
						prev.Count, f.Service.Count, prev.UpdatedAt.Format(time.RFC3339), f.UpdatedAt.Time.UTC().Format(time.RFC3339))})
			}
		}
	}

	// Rules.
	ids, err := p.Matcher().Match(f.Event())
	if err != nil {
		return nil, fmt.Errorf("finding %s: the event cannot be matched: %w", key, err)
	}
	matched := make([]bool, len(p.Rules))
	for _, id := range ids {
		if i := policy.RuleIndex(id); i >= 0 && i < len(matched) {
			matched[i] = true
		}
	}
	var event *eventDoc
	stoppedBy := ""
	samplePolicyUsed := ""
	type contrib struct {
		rule *policy.Rule
		mode string
		drop string // steps are shown, dropped for this reason
	}
	var contribs []contrib
	if len(p.Rules) > 0 {
		pl.Rules = make([]RuleVerdict, 0, len(p.Rules)) // one verdict per rule
	}
	for i, r := range p.Rules {
		v := RuleVerdict{Rule: r.Name}
		switch {
		case r.Disabled:
			v.Why = "disabled"
		case stoppedBy != "":
			v.Why = fmt.Sprintf("not evaluated: rule %q matched first and has continue: false", stoppedBy)
		case !matched[i]:
			v.Why = "pattern does not match"
			if opt.Explain {
				if event == nil {
					event = newEventDoc(f.Event())
				}
				v.Why = explainMismatch(r, event)
			}
		default:
			v.Matched, v.Mode = true, r.Mode
			v.Why = "pattern matches"
			mode := r.Mode
			if sample {
				sp := r.Samples
				if sp == "" {
					sp = p.Guards.Samples
				}
				samplePolicyUsed = sp
				switch sp {
				case policy.SamplesIgnore:
					v.Why += "; sample finding ignored (samples: ignore)"
					contribs = append(contribs, contrib{r, "", "sample finding: ignored (samples: ignore)"})
					mode = ""
				case policy.SamplesDryRun:
					if mode != policy.DryRun {
						v.Why += "; sample finding: dry-run only (samples: dry-run)"
					}
					mode = policy.DryRun
				}
			}
			if mode != "" {
				contribs = append(contribs, contrib{r, mode, ""})
			}
			if !r.ContinueAfter() {
				stoppedBy = r.Name
			}
		}
		pl.Rules = append(pl.Rules, v)
	}
	if sample {
		verdict, reason := "pass", "sample finding ("+sampleWhy+"), acted on as configured (samples: act)"
		switch samplePolicyUsed {
		case policy.SamplesIgnore:
			verdict, reason = "drop", "sample finding ("+sampleWhy+"): ignored, never acted on"
		case policy.SamplesDryRun:
			verdict, reason = "dry-run", "sample finding ("+sampleWhy+"): planned for review, never acted on"
		case "":
			verdict, reason = "pass", "sample finding ("+sampleWhy+"); no rule matched"
		}
		pl.Guards = append(pl.Guards, GuardVerdict{GuardSample, verdict, reason})
	}

	// Steps: merged, one per (step, resource), first rule wins.
	byKey := map[string]*PlannedStep{}
	mode := ""
	for _, c := range contribs {
		if c.drop == "" && (mode == "" || modeRank(c.mode) < modeRank(mode)) {
			mode = c.mode
		}
		for _, ref := range c.rule.Steps {
			spec := ref.Step.Spec()
			targets := action.TargetsIn(spec, resources)
			if targets == nil {
				k := StepKey(key, spec.Name, "")
				if ps, dup := byKey[k]; dup {
					ps.AlsoFrom = appendOnce(ps.AlsoFrom, c.rule.Name)
					continue
				}
				ps := &PlannedStep{Key: k, Name: spec.Name, Rule: c.rule.Name, Effect: spec.Effect, Available: spec.Available,
					OnFailure: ref.OnFailure, Status: PlanDropped,
					Reason: "the finding names no " + strings.Join(spec.Targets, " or ") + " to act on"}
				if c.drop != "" {
					ps.Reason = c.drop + "; " + ps.Reason
				}
				byKey[k] = ps
				pl.Steps = append(pl.Steps, ps)
				continue
			}
			for _, t := range targets {
				tid := action.TargetID(t)
				k := StepKey(key, spec.Name, tid)
				if ps, dup := byKey[k]; dup {
					ps.AlsoFrom = appendOnce(ps.AlsoFrom, c.rule.Name)
					continue
				}
				ps := &PlannedStep{Key: k, Name: spec.Name, Rule: c.rule.Name, Target: t, TargetID: tid,
					Params: ref.Params, Effect: spec.Effect, Available: spec.Available, OnFailure: ref.OnFailure,
					Retries: ref.Retries, Status: PlanPlanned}
				if ref.Timeout > 0 {
					ps.Timeout = time.Duration(ref.Timeout).String()
				}
				if opt.Calls || opt.Explain {
					if calls, err := ref.Step.Plan(ctx, &action.Request{Key: k, Finding: f, Target: t, Params: ref.Params}); err != nil {
						ps.Status, ps.Reason = PlanDropped, "cannot plan: "+err.Error()
					} else {
						ps.Calls = calls
					}
				}
				if !spec.Available && ps.Status == PlanPlanned {
					ps.Reason = "declared but not available in this build: would fail if run"
				}
				if c.drop != "" && ps.Status == PlanPlanned {
					ps.Status, ps.Reason = PlanDropped, c.drop
				}
				byKey[k] = ps
				pl.Steps = append(pl.Steps, ps)
			}
		}
	}
	for i, ps := range pl.Steps {
		ps.Seq = i + 1
	}

	// Protected resources, protected accounts, reflex itself, account set-up.
	e.protect(f, pl)

	// Already journaled (a re-sent finding).
	if led != nil && pl.Change == string(store.Updated) {
		for _, ps := range pl.Steps {
			if ps.Status != PlanPlanned {
				continue
			}
			st, err := led.Step(ctx, ps.Key)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			if st != nil && st.State != store.StepCancelled {
				ps.Status = PlanAlready
				ps.Reason = fmt.Sprintf("already %s for this finding (decision %s)", st.State, st.DecisionID)
			}
		}
	}

	// Mode and final status.
	pl.RequestedMode = mode
	if mode == "" {
		mode = policy.DryRun
	}
	live := 0
	changes := false
	irreversible := false
	for _, ps := range pl.Steps {
		if ps.Status == PlanPlanned {
			live++
			if ps.Effect != action.ReadOnly {
				changes = true
			}
			if ps.Effect == action.Irreversible {
				irreversible = true
			}
		}
	}
	if irreversible && mode == policy.Enforce {
		mode = policy.Approve
		pl.Guards = append(pl.Guards, GuardVerdict{GuardMode, "hold", "an irreversible step is planned: held for approval"})
	}
	if mode == policy.Enforce && changes && led != nil {
		keys := e.BudgetKeys(f.AccountID, now)
		for _, k := range keys {
			used, err := led.BudgetUsed(ctx, k)
			if err != nil {
				return nil, err
			}
			if used >= k.Limit {
				mode = policy.Approve
				pl.Guards = append(pl.Guards, GuardVerdict{GuardBudget, "hold",
					fmt.Sprintf("blast-radius budget spent: %d of %d %s containments in the window from %s; enforce becomes approve until %s",
						used, k.Limit, budgetScopeText(k.Scope), k.Window.Format(time.RFC3339), k.Window.Add(time.Duration(p.Guards.Budget.Window)).Format(time.RFC3339))})
				break
			}
		}
		if mode == policy.Enforce {
			pl.Guards = append(pl.Guards, GuardVerdict{GuardBudget, "pass", "within the blast-radius budget"})
		}
	}
	pl.Mode = mode
	switch {
	case pl.Change == string(store.Unchanged) || pl.Change == string(store.Older):
		pl.Status = store.DecisionNothing
		for _, ps := range pl.Steps {
			if ps.Status == PlanPlanned {
				ps.Status, ps.Reason = PlanDropped, "duplicate delivery"
			}
		}
		live = 0
	case live == 0:
		pl.Status = store.DecisionNothing
	case mode == policy.DryRun:
		pl.Status = store.DecisionDryRun
	case mode == policy.Approve:
		pl.Status = store.DecisionPending
	default:
		pl.Status = store.DecisionApproved
	}
	pl.Summary = summarize(pl, live)
	return pl, nil
}

func budgetScopeText(scope string) string {
	if scope == "total" {
		return "total"
	}
	return strings.Replace(scope, ":", " ", 1)
}

// BudgetKeys are the blast-radius counters a containment in account counts
// against at time now.
func (e *Engine) BudgetKeys(account string, now time.Time) []store.BudgetKey {
	b := e.Policy.Guards.Budget
	w := time.Duration(b.Window)
	start := now.Truncate(w)
	return []store.BudgetKey{
		{Scope: "account:" + account, Window: start, Limit: b.PerAccount},
		{Scope: "total", Window: start, Limit: b.Total},
	}
}

func appendOnce(l []string, s string) []string {
	for _, x := range l {
		if x == s {
			return l
		}
	}
	return append(l, s)
}

func summarize(pl *Plan, live int) string {
	matched := 0
	for _, r := range pl.Rules {
		if r.Matched {
			matched++
		}
	}
	switch {
	case pl.Change == string(store.Unchanged) || pl.Change == string(store.Older):
		return "duplicate delivery: nothing to do"
	case matched == 0:
		return "no rule matches: nothing to do"
	case live == 0:
		return fmt.Sprintf("%d rule(s) match, no step to run", matched)
	}
	verb := ""
	switch pl.Mode {
	case policy.DryRun:
		verb = "would run (dry-run)"
	case policy.Approve:
		verb = "wait for approval"
	case policy.Enforce:
		verb = "run now"
	}
	return strconv.Itoa(matched) + " rule(s) match: " + strconv.Itoa(live) + " step(s) " + verb
}

// arnOf returns the resource's ARN, built when the finding does not give it.
func arnOf(r *finding.ResourceRef, f *finding.Finding) string {
	if r.ARN != "" {
		return r.ARN
	}
	part := f.Partition
	if part == "" {
		part = "aws"
	}
	acct := r.AccountID
	if acct == "" {
		acct = f.AccountID
	}
	region := r.Region
	if region == "" {
		region = f.Region
	}
	switch r.Kind {
	case finding.KindInstance:
		return "arn:" + part + ":ec2:" + region + ":" + acct + ":instance/" + r.ID
	case finding.KindBucket:
		return "arn:" + part + ":s3:::" + r.Name
	case finding.KindUser:
		return "arn:" + part + ":iam::" + acct + ":user/" + r.Name
	case finding.KindRole:
		return "arn:" + part + ":iam::" + acct + ":role/" + r.Name
	case finding.KindAccessKey:
		if r.Name != "" {
			return "arn:" + part + ":iam::" + acct + ":user/" + r.Name
		}
	}
	return ""
}

func (e *Engine) protect(f *finding.Finding, pl *Plan) {
	g := e.Policy.Guards
	drop := func(ps *PlannedStep, why string) {
		if ps.Status == PlanPlanned {
			ps.Status, ps.Reason = PlanDropped, why
		}
	}
	if len(pl.Steps) == 0 {
		return
	}
	for _, a := range g.Protected.Accounts {
		if a == f.AccountID {
			for _, ps := range pl.Steps {
				if ps.Effect != action.ReadOnly {
					drop(ps, "account "+a+" is protected")
				}
			}
			pl.Guards = append(pl.Guards, GuardVerdict{GuardProtected, "drop", "account " + a + " is protected (guards.protected.accounts): no change is made in it"})
			return
		}
	}
	if len(e.Policy.Accounts) > 0 && e.Policy.AccountFor(f.AccountID) == nil {
		n := 0
		for _, ps := range pl.Steps {
			if ps.Status == PlanPlanned && e.needsAWS(ps.Name) {
				drop(ps, "no role configured for account "+f.AccountID)
				n++
			}
		}
		if n > 0 {
			pl.Guards = append(pl.Guards, GuardVerdict{GuardAccount, "drop", "account " + f.AccountID + " is not in accounts: (add it, or an entry with id \"*\")"})
		}
	}
	reasons := map[string]bool{}
	var list []string
	for _, ps := range pl.Steps {
		if ps.Target == nil || ps.Status != PlanPlanned {
			continue
		}
		why := e.protectedWhy(ps.Target, f)
		if why == "" {
			continue
		}
		if ps.Effect == action.ReadOnly {
			continue // reading and notifying about a protected resource is fine
		}
		drop(ps, why)
		if !reasons[why] {
			reasons[why] = true
			list = append(list, why)
		}
	}
	if len(list) > 0 {
		pl.Guards = append(pl.Guards, GuardVerdict{GuardProtected, "drop", strings.Join(list, "; ")})
	} else {
		pl.Guards = append(pl.Guards, GuardVerdict{GuardProtected, "pass", "no targeted resource is protected"})
	}
}

func (e *Engine) needsAWS(step string) bool {
	st, ok := e.Registry.Lookup(step)
	return ok && len(st.Spec().IAMActions) > 0
}

func (e *Engine) protectedWhy(t *finding.ResourceRef, f *finding.Finding) string {
	g := e.Policy.Guards
	keys := make([]string, 0, len(g.Protected.Tags))
	for k := range g.Protected.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		want := g.Protected.Tags[k]
		if v, ok := t.Tags[k]; ok && (want == "*" || v == want) {
			return fmt.Sprintf("%s is protected by tag %s=%s", t.Label(), k, strconv.Quote(v))
		}
	}
	arn := arnOf(t, f)
	if arn != "" {
		for _, pat := range g.Protected.ARNs {
			if policy.Glob(pat, arn) {
				return fmt.Sprintf("%s is protected (%s matches %s)", t.Label(), arn, pat)
			}
		}
		for _, pat := range g.Self.Resources {
			if policy.Glob(pat, arn) {
				return fmt.Sprintf("%s is reflex's own (%s matches guards.self.resources %s)", t.Label(), arn, pat)
			}
		}
	}
	if t.Kind == finding.KindRole || t.Kind == finding.KindUser || t.Kind == finding.KindAccessKey {
		for _, r := range g.Self.Roles {
			if (strings.HasPrefix(r, "arn:") && arn != "" && policy.Glob(r, arn)) || (t.Kind == finding.KindRole && r == t.Name) {
				return fmt.Sprintf("%s is reflex's own role (guards.self.roles %s)", t.Label(), r)
			}
		}
	}
	return ""
}
