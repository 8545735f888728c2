package policy

import (
	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/pattern"
)

// Modes of a rule.
const (
	DryRun  = "dry-run" // decide and record, never act (the default)
	Approve = "approve" // the plan waits for `reflex approve`
	Enforce = "enforce" // act at once
)

// Sample-finding policies.
const (
	SamplesIgnore = "ignore"  // match nothing: no plan at all
	SamplesDryRun = "dry-run" // plan, never act (the default)
	SamplesAct    = "act"     // treat like any finding (tests of the responders)
)

// On-failure policies of a step.
const (
	OnFailureStop     = "stop"     // skip the rest of the steps on the same resource (the default)
	OnFailureContinue = "continue" // go on with the next step
)

// Policy is a loaded, validated configuration.
type Policy struct {
	File      string
	Version   int                  `yaml:"version"`
	Rules     []*Rule              `yaml:"rules"`
	Playbooks map[string]*Playbook `yaml:"playbooks"`
	Guards    Guards               `yaml:"guards"`
	Accounts  []*Account           `yaml:"accounts"`
	Ledger    Ledger               `yaml:"ledger"`
	Execution Execution            `yaml:"execution"`
	Approvals Approvals            `yaml:"approvals"`
	// RawNotifications is the notifications section (channels, routes),
	// validated by the notify package into Notifications.
	RawNotifications *node          `yaml:"notifications"`
	Notifications    *notify.Config `yaml:"-"`
	At               keyPos         `yaml:"-"`

	matcher *pattern.Matcher
}

// Rule says which findings (an EventBridge pattern) get which response.
type Rule struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	RawPattern  *node      `yaml:"pattern"`
	Playbook    string     `yaml:"playbook"`
	InlineSteps []*StepRef `yaml:"steps"`
	Mode        string     `yaml:"mode"`
	Continue    *bool      `yaml:"continue"`
	Samples     string     `yaml:"samples"`
	Disabled    bool       `yaml:"disabled"`
	Pos         Pos
	At          keyPos `yaml:"-"`

	// Pattern is the compiled pattern and PatternJSON its JSON text.
	Pattern     *pattern.Pattern `yaml:"-"`
	PatternJSON string           `yaml:"-"`
	// Steps are the rule's steps: its playbook's or its inline ones.
	Steps []*StepRef `yaml:"-"`
}

// ContinueAfter reports whether later rules still apply when this one
// matches (default true).
func (r *Rule) ContinueAfter() bool { return r.Continue == nil || *r.Continue }

// Playbook is a named list of steps rules share.
type Playbook struct {
	Description string     `yaml:"description"`
	Steps       []*StepRef `yaml:"steps"`
	Pos         Pos
	At          keyPos `yaml:"-"`
}

// StepRef is one step of a playbook: which step, its parameters, what to
// do when it fails, its timeout and retries.
type StepRef struct {
	Name      string   `yaml:"step"`
	RawParams *node    `yaml:"params"`
	OnFailure string   `yaml:"on_failure"`
	Timeout   Duration `yaml:"timeout"`
	Retries   *int     `yaml:"retries"`
	Pos       Pos
	At        keyPos `yaml:"-"`

	// Step is the registered step and Params the validated parameters.
	Step   action.Step   `yaml:"-"`
	Params action.Params `yaml:"-"`
}

// Guards are the safety checks every decision passes.
type Guards struct {
	Samples   string    `yaml:"samples"`
	Protected Protected `yaml:"protected"`
	Self      Self      `yaml:"self"`
	Budget    Budget    `yaml:"budget"`
	At        keyPos    `yaml:"-"`
}

// Protected resources are never touched.
type Protected struct {
	// Tags: a resource with any of these tags (value "*" = any value).
	Tags map[string]string `yaml:"tags"`
	// Accounts: findings in these accounts are never acted on.
	Accounts []string `yaml:"accounts"`
	// ARNs: resources whose ARN matches one of these patterns (* matches
	// any run of characters).
	ARNs []string `yaml:"arns"`
	At   keyPos   `yaml:"-"`
}

// Self names reflex's own role and infrastructure, never touched either.
type Self struct {
	Roles     []string `yaml:"roles"`     // role names or ARN patterns
	Resources []string `yaml:"resources"` // ARN patterns
	At        keyPos   `yaml:"-"`
}

// Budget is the blast-radius budget: at most PerAccount enforced
// containments per account and Total in all per Window; past it, enforce
// turns into approve until the window ends.
type Budget struct {
	Window     Duration `yaml:"window"`
	PerAccount int      `yaml:"per_account"`
	Total      int      `yaml:"total"`
	At         keyPos   `yaml:"-"`
}

// Account says how to reach an account.
type Account struct {
	ID         string   `yaml:"id"`          // 12 digits, or "*" for every other account
	Role       string   `yaml:"role"`        // role name, or ARN template with {account}
	ExternalID string   `yaml:"external_id"` // sts:ExternalId
	Regions    []string `yaml:"regions"`     // regions reflex acts in (empty: the finding's)
	Pos        Pos
	At         keyPos `yaml:"-"`
}

// Ledger settings.
type Ledger struct {
	Path string `yaml:"path"` // SQLite file (default under the user's state directory)
	At   keyPos `yaml:"-"`
}

// Execution settings of the executor.
type Execution struct {
	Parallel int      `yaml:"parallel"` // resources worked on at once (default 4)
	Timeout  Duration `yaml:"timeout"`  // per step attempt (default 60s)
	Retries  int      `yaml:"retries"`  // retries of a retryable failure (default 3)
	Backoff  Duration `yaml:"backoff"`  // first retry delay, doubling (default 500ms)
	At       keyPos   `yaml:"-"`
}

// Approvals settings.
type Approvals struct {
	ExpireAfter Duration `yaml:"expire_after"` // a pending plan expires after this (default 24h)
	At          keyPos   `yaml:"-"`
}
