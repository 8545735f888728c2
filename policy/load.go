package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/pattern"
)

// Defaults.
const (
	DefaultProtectedTag = "reflex:protected"
	DefaultWindow       = time.Hour
	DefaultPerAccount   = 5
	DefaultTotal        = 20
	DefaultParallel     = 4
	DefaultTimeout      = 60 * time.Second
	DefaultRetries      = 3
	DefaultBackoff      = 500 * time.Millisecond
	DefaultExpireAfter  = 24 * time.Hour
)

// maxSize bounds a configuration file.
const maxSize = 8 << 20

// Load reads and validates the configuration at path against the steps of
// reg. Every problem is reported (an *Errors), each with file:line:column.
func Load(path string, reg *action.Registry) (*Policy, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("configuration %s is a directory: name the file", path)
	}
	if fi.Size() > maxSize {
		return nil, fmt.Errorf("configuration %s: %d bytes is over the %d limit", path, fi.Size(), maxSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return Parse(path, data, reg)
}

// Parse validates a configuration held in data; name is used in messages.
func Parse(name string, data []byte, reg *action.Registry) (p *Policy, err error) {
	errs := &Errors{File: name}
	defer func() {
		// The YAML library must never take reflex down with a bad file.
		if r := recover(); r != nil {
			p, err = nil, &Errors{File: name, List: []*Error{{File: name, Msg: fmt.Sprintf("cannot read the configuration (%v)", r)}}}
		}
	}()
	if len(data) > maxSize {
		errs.add(Pos{}, "%d bytes is over the %d limit", len(data), maxSize)
		return nil, errs.err()
	}
	if strings.TrimSpace(string(data)) == "" {
		errs.add(Pos{}, "the configuration is empty: start from examples/reflex.yaml")
		return nil, errs.err()
	}
	file, perr := parser.ParseBytes(data, 0)
	if perr != nil {
		var ye yaml.Error
		if errors.As(perr, &ye) {
			pos := Pos{}
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				pos = Pos{tk.Position.Line, tk.Position.Column}
			}
			errs.add(pos, "not valid YAML: %s", ye.GetMessage())
		} else {
			errs.add(Pos{}, "not valid YAML: %v", perr)
		}
		return nil, errs.err()
	}
	if len(file.Docs) != 1 {
		errs.add(Pos{}, "want one YAML document, found %d", len(file.Docs))
		if len(file.Docs) == 0 {
			return nil, errs.err()
		}
	}
	conv := &converter{anchors: map[string]*node{}, errs: errs}
	root := conv.convert(file.Docs[0])
	if root.kind != kMap {
		errs.add(root.pos, "the configuration must be a mapping with rules, playbooks, guards...; got %s", root.describe())
		return nil, errs.err()
	}
	p = &Policy{File: name}
	dec := &decoder{errs: errs}
	dec.decode(root, reflect.ValueOf(p).Elem(), "")
	v := &validator{p: p, reg: reg, errs: errs, file: name}
	v.defaults()
	v.validate()
	if err := errs.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// Matcher returns the compiled matcher of the enabled rules; ids are
// RuleID(i).
func (p *Policy) Matcher() *pattern.Matcher { return p.matcher }

// RuleID is the matcher id of the i-th rule: sorting ids keeps rule order.
func RuleID(i int) string { return fmt.Sprintf("r%05d", i) }

// RuleIndex reverses RuleID.
func RuleIndex(id string) int {
	// the ids RuleID makes for fewer than 100,000 rules, without fmt
	if len(id) == 6 && id[0] == 'r' {
		n := 0
		for _, c := range []byte(id[1:]) {
			if c < '0' || c > '9' {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if n >= 0 {
			return n
		}
	}
	var i int
	fmt.Sscanf(id, "r%05d", &i)
	return i
}

// Playbook names, sorted.
func (p *Policy) PlaybookNames() []string {
	names := make([]string, 0, len(p.Playbooks))
	for n := range p.Playbooks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LedgerPath returns the configured ledger path with ~ expanded, or "".
func (p *Policy) LedgerPath() string {
	path := p.Ledger.Path
	if strings.HasPrefix(path, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, path[2:])
		}
	}
	if path != "" && !filepath.IsAbs(path) && p.File != "" {
		path = filepath.Join(filepath.Dir(p.File), path)
	}
	return path
}

type validator struct {
	p    *Policy
	reg  *action.Registry
	errs *Errors
	file string
}

func (v *validator) add(p Pos, format string, args ...any) { v.errs.add(p, format, args...) }

func (v *validator) defaults() {
	p := v.p
	if p.Guards.Samples == "" {
		p.Guards.Samples = SamplesDryRun
	}
	if p.Guards.Protected.Tags == nil {
		p.Guards.Protected.Tags = map[string]string{DefaultProtectedTag: "true"}
	}
	b := &p.Guards.Budget
	if b.Window == 0 {
		b.Window = Duration(DefaultWindow)
	}
	if b.PerAccount == 0 {
		b.PerAccount = DefaultPerAccount
	}
	if b.Total == 0 {
		b.Total = DefaultTotal
	}
	e := &p.Execution
	if e.Parallel == 0 {
		e.Parallel = DefaultParallel
	}
	if e.Timeout == 0 {
		e.Timeout = Duration(DefaultTimeout)
	}
	if _, set := e.At["retries"]; !set {
		e.Retries = DefaultRetries
	}
	if e.Backoff == 0 {
		e.Backoff = Duration(DefaultBackoff)
	}
	if p.Approvals.ExpireAfter == 0 {
		p.Approvals.ExpireAfter = Duration(DefaultExpireAfter)
	}
	for _, r := range p.Rules {
		if r != nil && r.Mode == "" {
			r.Mode = DryRun
		}
	}
}

// Length limits are checked beside the expressions, not inside them: Go
// compiles x{1,512} into 512 nested copies of x, and these few bounds cost
// 5 ms of every process start, a sixth of a Lambda cold start (measured
// with GODEBUG=inittrace=1).
var (
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	roleARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}|\{account\}):role/[\w+=,.@/-]+$`)
	roleRE    = regexp.MustCompile(`^[\w+=,.@-]+$`)
)

// validName reports whether s is a rule or playbook name: a letter or
// digit, then up to 127 letters, digits, '_', '.' or '-'.
func validName(s string) bool { return len(s) <= 128 && nameRE.MatchString(s) }

// validRoleName reports whether s is an IAM role name (1 to 64 characters).
func validRoleName(s string) bool { return len(s) <= 64 && roleRE.MatchString(s) }

// validRoleARN reports whether s is a role ARN or ARN template whose path
// and name are at most 512 characters.
func validRoleARN(s string) bool {
	_, path, ok := strings.Cut(s, ":role/")
	return ok && len(path) <= 512 && roleARNRE.MatchString(s)
}

func oneOf(s string, opts ...string) bool { return slices.Contains(opts, s) }

func (v *validator) validate() {
	p := v.p
	if _, ok := p.At["version"]; ok && p.Version != 1 {
		v.add(p.At.of("version", Pos{}), "version %d: this reflex reads version 1", p.Version)
	}
	p.Version = 1
	v.guards()
	v.accounts()
	v.notifications()
	if p.Execution.Parallel < 1 || p.Execution.Parallel > 64 {
		v.add(p.Execution.At.of("parallel", Pos{}), "execution.parallel %d: want 1 to 64", p.Execution.Parallel)
	}
	if p.Execution.Retries < 0 || p.Execution.Retries > 20 {
		v.add(p.Execution.At.of("retries", Pos{}), "execution.retries %d: want 0 to 20", p.Execution.Retries)
	}
	// playbooks
	for _, name := range p.PlaybookNames() {
		pb := p.Playbooks[name]
		if pb == nil {
			v.add(p.At.of("playbooks", Pos{}), "playbook %q is empty: give it steps", name)
			continue
		}
		if !validName(name) {
			v.add(pb.Pos, "playbook name %q: use letters, digits, '-', '_' and '.'", name)
		}
		if len(pb.Steps) == 0 {
			v.add(pb.Pos, "playbook %q has no steps: add a steps: list", name)
		}
		v.steps(pb.Steps, "playbook "+name)
	}
	// rules
	p.matcher = pattern.NewMatcher()
	seen := map[string]Pos{}
	if len(p.Rules) == 0 {
		v.add(p.At.of("rules", Pos{}), "no rules: add at least one rule (a name, a pattern and a playbook)")
	}
	for i, r := range p.Rules {
		if r == nil {
			v.add(p.At.of("rules", Pos{}), "rule %d is empty", i+1)
			continue
		}
		v.rule(i, r, seen)
	}
	v.routes()
}

func (v *validator) rule(i int, r *Rule, seen map[string]Pos) {
	what := fmt.Sprintf("rule %d", i+1)
	if r.Name == "" {
		v.add(r.Pos, "%s has no name: add name: (letters, digits, '-', '_', '.')", what)
	} else {
		what = fmt.Sprintf("rule %q", r.Name)
		if !validName(r.Name) {
			v.add(r.At.of("name", r.Pos), "rule name %q: use letters, digits, '-', '_' and '.'", r.Name)
		}
		if prev, dup := seen[r.Name]; dup {
			v.add(r.At.of("name", r.Pos), "rule name %q is used twice (also at line %d): names must be unique", r.Name, prev.Line)
		}
		seen[r.Name] = r.At.of("name", r.Pos)
	}
	if !oneOf(r.Mode, DryRun, Approve, Enforce) {
		v.add(r.At.of("mode", r.Pos), "%s: mode %q: want dry-run, approve or enforce", what, r.Mode)
	}
	if r.Samples != "" && !oneOf(r.Samples, SamplesIgnore, SamplesDryRun, SamplesAct) {
		v.add(r.At.of("samples", r.Pos), "%s: samples %q: want ignore, dry-run or act", what, r.Samples)
	}
	// pattern
	if r.RawPattern == nil || r.RawPattern.kind == kNull {
		v.add(r.Pos, "%s has no pattern: add an EventBridge event pattern, e.g. pattern: {detail-type: [GuardDuty Finding]}", what)
	} else {
		var src []byte
		switch r.RawPattern.kind {
		case kScalar:
			s, _ := r.RawPattern.str()
			src = []byte(s)
		case kMap:
			var err error
			src, err = r.RawPattern.toJSON()
			if err != nil {
				v.add(r.RawPattern.pos, "%s: pattern: %v", what, err)
			}
		default:
			v.add(r.RawPattern.pos, "%s: pattern: want a mapping (or JSON text), got %s", what, r.RawPattern.describe())
		}
		if src != nil {
			pt, err := pattern.Parse(src)
			if err != nil {
				v.add(r.RawPattern.pos, "%s: invalid event pattern: %v", what, err)
			} else {
				r.Pattern, r.PatternJSON = pt, string(src)
				if !r.Disabled {
					if err := v.p.matcher.AddPattern(RuleID(i), pt); err != nil {
						v.add(r.RawPattern.pos, "%s: invalid event pattern: %v", what, err)
					}
				}
			}
		}
	}
	// steps
	switch {
	case r.Playbook != "" && r.InlineSteps != nil:
		v.add(r.At.of("steps", r.Pos), "%s has both playbook and steps: keep one", what)
	case r.Playbook != "":
		pb, ok := v.p.Playbooks[r.Playbook]
		if !ok {
			v.add(r.At.of("playbook", r.Pos), "%s: playbook %q is not defined%s", what, r.Playbook, suggestAmong(r.Playbook, v.p.PlaybookNames(), "playbooks"))
		} else if pb != nil {
			r.Steps = pb.Steps
		}
	case r.InlineSteps != nil:
		if len(r.InlineSteps) == 0 {
			v.add(r.At.of("steps", r.Pos), "%s: steps is empty: list at least one step (record, notify...)", what)
		}
		v.steps(r.InlineSteps, what)
		r.Steps = r.InlineSteps
	default:
		v.add(r.Pos, "%s has neither playbook nor steps: add playbook: NAME or steps: [...] (to only record, steps: [{step: record}])", what)
	}
	if r.Mode == Enforce {
		for _, s := range r.Steps {
			if s != nil && s.Step != nil && s.Step.Spec().Effect == action.Irreversible {
				v.add(r.At.of("mode", r.Pos), "%s: step %s (line %d) cannot be undone: irreversible steps are allowed only in approve mode; set mode: approve or remove the step", what, s.Name, s.Pos.Line)
			}
		}
	}
}

func (v *validator) steps(list []*StepRef, owner string) {
	for i, s := range list {
		if s == nil {
			v.add(Pos{}, "%s: step %d is empty", owner, i+1)
			continue
		}
		if s.Step != nil {
			continue // already checked (a playbook shared by several rules)
		}
		if s.Name == "" {
			v.add(s.Pos, "%s: step %d: add step: NAME (one of %s)", owner, i+1, strings.Join(v.reg.Names(), ", "))
			continue
		}
		st, ok := v.reg.Lookup(s.Name)
		if !ok {
			v.add(s.At.of("step", s.Pos), "%s: unknown step %q%s", owner, s.Name, suggestAmong(s.Name, v.reg.Names(), "steps"))
			continue
		}
		spec := st.Spec()
		raw := map[string]any{}
		if s.RawParams != nil && s.RawParams.kind != kNull {
			if s.RawParams.kind != kMap {
				v.add(s.RawParams.pos, "%s: step %s: params: want a mapping of parameter names to values, got %s", owner, s.Name, s.RawParams.describe())
			} else {
				raw, _ = s.RawParams.toAny().(map[string]any)
			}
		}
		params, perrs := action.ParseParams(spec, raw)
		for _, pe := range perrs {
			pos := s.At.of("params", s.Pos)
			if pe.Name != "" {
				if k := paramKeyPos(s.RawParams, pe.Name, !declared(spec, pe.Name)); k != (Pos{}) {
					pos = k
				}
			}
			if _, isRaw := raw[pe.Name]; !isRaw && s.RawParams == nil {
				pos = s.Pos
			}
			v.add(pos, "%s: step %s: %s", owner, s.Name, pe.Error())
		}
		if s.OnFailure == "" {
			s.OnFailure = OnFailureStop
		} else if !oneOf(s.OnFailure, OnFailureStop, OnFailureContinue) {
			v.add(s.At.of("on_failure", s.Pos), "%s: step %s: on_failure %q: want stop or continue", owner, s.Name, s.OnFailure)
		}
		if s.Retries != nil && (*s.Retries < 0 || *s.Retries > 20) {
			v.add(s.At.of("retries", s.Pos), "%s: step %s: retries %d: want 0 to 20", owner, s.Name, *s.Retries)
		}
		s.Step, s.Params = st, params
	}
}

func declared(spec action.Spec, name string) bool {
	for _, p := range spec.Params {
		if p.Name == name {
			return true
		}
	}
	return false
}

// paramKeyPos is the position of a parameter's value (or of its key).
func paramKeyPos(n *node, name string, key bool) Pos {
	if n == nil || n.kind != kMap {
		return Pos{}
	}
	for i, k := range n.keys {
		if k.text() == name {
			if !key && n.vals[i].kind != kNull {
				return n.vals[i].pos
			}
			return k.pos
		}
	}
	return Pos{}
}

func (v *validator) guards() {
	g := &v.p.Guards
	if !oneOf(g.Samples, SamplesIgnore, SamplesDryRun, SamplesAct) {
		v.add(g.At.of("samples", Pos{}), "guards.samples %q: want ignore, dry-run (the default) or act", g.Samples)
	}
	for _, a := range g.Protected.Accounts {
		if !accountRE.MatchString(a) {
			v.add(g.Protected.At.of("accounts", Pos{}), "guards.protected.accounts: %q is not a 12-digit account id (quote ids that start with 0)", a)
		}
	}
	for k := range g.Protected.Tags {
		if k == "" {
			v.add(g.Protected.At.of("tags", Pos{}), "guards.protected.tags: a tag key is empty")
		}
	}
	for _, list := range []struct {
		name string
		at   Pos
		l    []string
	}{
		{"guards.protected.arns", g.Protected.At.of("arns", Pos{}), g.Protected.ARNs},
		{"guards.self.resources", g.Self.At.of("resources", Pos{}), g.Self.Resources},
	} {
		for _, a := range list.l {
			if !strings.HasPrefix(a, "arn:") {
				v.add(list.at, "%s: %q is not an ARN pattern (arn:partition:service:region:account:resource, * for any run)", list.name, a)
			}
		}
	}
	for _, r := range g.Self.Roles {
		if !strings.HasPrefix(r, "arn:") && !validRoleName(r) {
			v.add(g.Self.At.of("roles", Pos{}), "guards.self.roles: %q is neither a role name nor a role ARN pattern", r)
		}
	}
	b := &g.Budget
	if b.PerAccount < 0 {
		v.add(b.At.of("per_account", Pos{}), "guards.budget.per_account %d: want a positive number", b.PerAccount)
	}
	if b.Total < 0 {
		v.add(b.At.of("total", Pos{}), "guards.budget.total %d: want a positive number", b.Total)
	}
	if time.Duration(b.Window) < time.Minute {
		v.add(b.At.of("window", Pos{}), "guards.budget.window %s: want at least 1m", time.Duration(b.Window))
	}
}

// notifications validates the notifications section with the notify
// package (its messages name the key path inside the section), and checks
// that every notify step names a configured route.
func (v *validator) notifications() {
	n := v.p.RawNotifications
	if n == nil || n.kind == kNull {
		return
	}
	js, err := n.toJSON()
	if err == nil {
		v.p.Notifications, err = notify.ParseConfig(js)
	}
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "notifications: ")
		v.add(n.pos, "notifications: %s", msg)
	}
}

func (v *validator) routes() {
	cfg := v.p.Notifications
	if cfg == nil {
		return
	}
	var names []string
	for _, r := range cfg.Routes {
		names = append(names, r.Name)
	}
	check := func(list []*StepRef, owner string) {
		for _, s := range list {
			if s == nil || s.Name != "notify" || s.Params == nil {
				continue
			}
			route := s.Params.String("route")
			if route != "" && route != "default" && !slices.Contains(names, route) {
				v.add(paramOrStep(s, "route"), "%s: step notify: route %q is not in notifications.routes%s", owner, route, suggestAmong(route, names, "routes"))
			}
		}
	}
	for _, name := range v.p.PlaybookNames() {
		if pb := v.p.Playbooks[name]; pb != nil {
			check(pb.Steps, "playbook "+name)
		}
	}
	for _, r := range v.p.Rules {
		if r != nil {
			check(r.InlineSteps, fmt.Sprintf("rule %q", r.Name))
		}
	}
}

func paramOrStep(s *StepRef, name string) Pos {
	if p := paramKeyPos(s.RawParams, name, false); p != (Pos{}) {
		return p
	}
	return s.Pos
}

func (v *validator) accounts() {
	seen := map[string]bool{}
	for i, a := range v.p.Accounts {
		if a == nil {
			v.add(v.p.At.of("accounts", Pos{}), "accounts: entry %d is empty", i+1)
			continue
		}
		switch {
		case a.ID == "":
			v.add(a.Pos, "accounts: entry %d has no id: give the 12-digit account id, or \"*\" for all others", i+1)
		case a.ID != "*" && !accountRE.MatchString(a.ID):
			v.add(a.At.of("id", a.Pos), "accounts: %q is not a 12-digit account id or \"*\" (quote ids that start with 0)", a.ID)
		case seen[a.ID]:
			v.add(a.At.of("id", a.Pos), "accounts: %q is listed twice", a.ID)
		}
		seen[a.ID] = true
		if a.Role == "" {
			v.add(a.Pos, "accounts: %s has no role: give a role name or an ARN template such as arn:aws:iam::{account}:role/reflex", a.ID)
		} else if strings.HasPrefix(a.Role, "arn:") {
			if !validRoleARN(a.Role) {
				v.add(a.At.of("role", a.Pos), "accounts: role %q: want arn:aws:iam::ACCOUNT:role/NAME ({account} is replaced by the finding's account)", a.Role)
			}
		} else if !validRoleName(a.Role) {
			v.add(a.At.of("role", a.Pos), "accounts: role %q is not a valid role name", a.Role)
		}
		for _, r := range a.Regions {
			if !regionRE.MatchString(r) {
				v.add(a.At.of("regions", a.Pos), "accounts: region %q is not a region name such as us-east-1", r)
			}
		}
	}
}

// AccountFor returns the account settings for an account id (an exact
// entry, else "*"), or nil when accounts are configured and none applies.
func (p *Policy) AccountFor(id string) *Account {
	var star *Account
	for _, a := range p.Accounts {
		if a.ID == id {
			return a
		}
		if a.ID == "*" {
			star = a
		}
	}
	return star
}

// RoleARN returns the role to assume in account id.
func (a *Account) RoleARN(id, partition string) string {
	if partition == "" {
		partition = "aws"
	}
	if strings.HasPrefix(a.Role, "arn:") {
		return strings.ReplaceAll(a.Role, "{account}", id)
	}
	return "arn:" + partition + ":iam::" + id + ":role/" + a.Role
}

// Glob reports whether s matches pattern, where * matches any run of
// characters (including none) and everything else matches itself.
func Glob(pattern, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			if pattern[px] == '*' {
				nextPx, nextSx = px, sx+1
				px++
				continue
			}
			if sx < len(s) && pattern[px] == s[sx] {
				px++
				sx++
				continue
			}
		}
		if nextPx >= 0 && nextSx <= len(s) {
			px, sx = nextPx+1, nextSx
			nextSx++
			continue
		}
		return false
	}
	return true
}
