// Package setup enables GuardDuty and wires it to reflex through the AWS API,
// idempotently: it reads the current state, changes only what differs from
// the wanted state, and says what it changed (or, in a dry run, what it would
// change). Running it twice changes nothing the second time. It does what the
// brief's CLI steps do — create-detector and update-detector with the data
// sources, put-rule and put-targets, enable-organization-admin-account and
// update-organization-configuration — with the EventBridge patterns derived
// from the configuration (package forward), so the rules never disagree with
// it.
//
// With a runtime (Want.Runtime), it also deploys reflex itself as the
// Terraform module deploy/terraform/reflex does, resource for resource and
// with the same names and defaults: the dead-letter queue, the SQS queue of
// `reflex serve` or the Lambda function with its log group, asynchronous
// retry settings and EventBridge's permission to invoke it, reflex's IAM role
// with the least-privilege policy of the configuration's steps, the SNS
// topic and the DynamoDB ledger table (runtime.go lists them). Each resource
// is read first and changed only where it differs — the function's code only
// when its CodeSha256 differs from the package's.
//
// With Want.IsolationGroups, it makes reflex's untrack and isolation
// security groups (package isogroup) exist in every VPC where reflex acts,
// with exactly the rules the ec2 steps give them, so that containment
// finds them ready rather than creating them (groups.go).
package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	"github.com/aws/smithy-go"

	"github.com/reflexsec/reflex/action/ec2/isogroup"
)

// GuardDuty is the part of the GuardDuty API setup uses.
type GuardDuty interface {
	ListDetectors(context.Context, *guardduty.ListDetectorsInput, ...func(*guardduty.Options)) (*guardduty.ListDetectorsOutput, error)
	GetDetector(context.Context, *guardduty.GetDetectorInput, ...func(*guardduty.Options)) (*guardduty.GetDetectorOutput, error)
	CreateDetector(context.Context, *guardduty.CreateDetectorInput, ...func(*guardduty.Options)) (*guardduty.CreateDetectorOutput, error)
	UpdateDetector(context.Context, *guardduty.UpdateDetectorInput, ...func(*guardduty.Options)) (*guardduty.UpdateDetectorOutput, error)
	ListOrganizationAdminAccounts(context.Context, *guardduty.ListOrganizationAdminAccountsInput, ...func(*guardduty.Options)) (*guardduty.ListOrganizationAdminAccountsOutput, error)
	EnableOrganizationAdminAccount(context.Context, *guardduty.EnableOrganizationAdminAccountInput, ...func(*guardduty.Options)) (*guardduty.EnableOrganizationAdminAccountOutput, error)
	DescribeOrganizationConfiguration(context.Context, *guardduty.DescribeOrganizationConfigurationInput, ...func(*guardduty.Options)) (*guardduty.DescribeOrganizationConfigurationOutput, error)
	UpdateOrganizationConfiguration(context.Context, *guardduty.UpdateOrganizationConfigurationInput, ...func(*guardduty.Options)) (*guardduty.UpdateOrganizationConfigurationOutput, error)
}

// EventBridge is the part of the EventBridge API setup uses.
type EventBridge interface {
	DescribeRule(context.Context, *eventbridge.DescribeRuleInput, ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error)
	PutRule(context.Context, *eventbridge.PutRuleInput, ...func(*eventbridge.Options)) (*eventbridge.PutRuleOutput, error)
	ListTargetsByRule(context.Context, *eventbridge.ListTargetsByRuleInput, ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error)
	PutTargets(context.Context, *eventbridge.PutTargetsInput, ...func(*eventbridge.Options)) (*eventbridge.PutTargetsOutput, error)
	ListRules(context.Context, *eventbridge.ListRulesInput, ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error)
	RemoveTargets(context.Context, *eventbridge.RemoveTargetsInput, ...func(*eventbridge.Options)) (*eventbridge.RemoveTargetsOutput, error)
	DeleteRule(context.Context, *eventbridge.DeleteRuleInput, ...func(*eventbridge.Options)) (*eventbridge.DeleteRuleOutput, error)
}

// Feature names: GuardDuty's protection plans (detector features).
var Features = []string{"S3_DATA_EVENTS", "EKS_AUDIT_LOGS", "EBS_MALWARE_PROTECTION", "RUNTIME_MONITORING", "RDS_LOGIN_EVENTS", "LAMBDA_NETWORK_LOGS"}

// Want is the wanted state.
type Want struct {
	// Frequency is the finding publishing frequency: FIFTEEN_MINUTES,
	// ONE_HOUR or SIX_HOURS.
	Frequency string
	// Features lists the protection plans to enable; the others in
	// Features are disabled.
	Features []string
	// Patterns are the EventBridge patterns (package forward).
	Patterns []string
	// RulePrefix names the rules: PREFIX-findings-00, -01 …
	RulePrefix string
	// TargetARN receives the findings: the Lambda function or SQS queue.
	TargetARN string
	// DeadLetterARN, if set, is the rules' dead-letter queue (with a
	// runtime: NAME-dlq).
	DeadLetterARN string

	// Runtime, if set, is what setup deploys to receive the findings (and
	// TargetARN must be empty): RuntimeLambda, the function NAME; or
	// RuntimeSQS, the queue `reflex serve` drains. Both come with the
	// dead-letter queue NAME-dlq, the role NAME, and the topic and ledger
	// table when Topic and Ledger say so.
	Runtime string
	// Queue names the queue of runtime sqs (default NAME-findings); setting
	// it alone chooses runtime sqs.
	Queue string
	// Name prefixes reflex's resources (the module's name variable).
	Name string
	// Function is the Lambda function of runtime lambda.
	Function Function
	// ResponsePolicy is the policy document of the configuration's steps
	// (`reflex iam-policy`: member_role.permissions_policy), the role's
	// inline policy NAME-response; one without statements is none.
	ResponsePolicy string
	// MemberRoleARNs are the member accounts' response roles reflex may
	// assume.
	MemberRoleARNs []string
	// ConfigSSMParameter, if set, is where the function reads its
	// configuration (REFLEX_CONFIG=ssm:NAME); setup grants the read.
	ConfigSSMParameter string
	// Ledger creates the DynamoDB ledger table NAME-ledger; records expire
	// after LedgerTTLDays (0: never).
	Ledger        bool
	LedgerTTLDays int
	// Topic creates the SNS topic NAME, with an e-mail subscription for each
	// of NotificationEmails.
	Topic              bool
	NotificationEmails []string
	// Tags are set on the resources setup creates.
	Tags map[string]string

	// IsolationGroups, if set, makes reflex's untrack and isolation groups
	// (package isogroup) exist, with exactly the rules ec2.isolate and
	// ec2.contain give them, in every VPC of the accounts and regions where
	// reflex acts (groups.go): the steps then find them ready instead of
	// creating them while containing. Needs Setup.STS and Setup.EC2.
	IsolationGroups *IsolationGroups
}

// Change is one change setup made or would make.
type Change struct {
	Service string         `json:"service"` // the IAM prefix: guardduty, events, sqs, sns, iam, logs, lambda, dynamodb, ec2
	Action  string         `json:"action"`  // the API operation
	Target  string         `json:"target"`
	Why     string         `json:"why"`
	Input   map[string]any `json:"input,omitempty"`
}

func (c Change) String() string {
	return fmt.Sprintf("%s:%s %s — %s", c.Service, c.Action, c.Target, c.Why)
}

// Report is what a run did.
type Report struct {
	DryRun    bool     `json:"dryRun"`
	Changes   []Change `json:"changes"`
	Unchanged []string `json:"unchanged"`
	// Notes are what setup could not do and did not fail for: accounts it
	// cannot list ("*") or reach (an AssumeRole refused).
	Notes []string `json:"notes,omitempty"`
}

// Setup applies wanted states with the given clients.
type Setup struct {
	GuardDuty   GuardDuty
	EventBridge EventBridge
	// The clients of reflex's own resources, needed with Want.Runtime.
	SQS      SQS
	STS      STS
	IAM      IAM
	Lambda   Lambda
	Logs     Logs
	SNS      SNS
	DynamoDB DynamoDB
	// EC2 gives the EC2 clients of Want.IsolationGroups (EC2Clients).
	EC2 EC2For
	// Region is the clients' region (for the ARNs of Want.Runtime).
	Region string
	DryRun bool
	// OnChange, if set, is told of each change as it is made (or planned).
	OnChange func(Change)
	// Sleep, if set, replaces the waits between polls of a new function or
	// table and between retries while a new role propagates.
	Sleep func(context.Context, time.Duration) error
}

func (s *Setup) change(r *Report, c Change, do func() error) error {
	if s.OnChange != nil {
		s.OnChange(c)
	}
	r.Changes = append(r.Changes, c)
	if s.DryRun {
		return nil
	}
	if err := do(); err != nil {
		return apiErr(c.Service, c.Action, c.Target, err)
	}
	return nil
}

func joinWhy(why []string) string { return strings.Join(why, "; ") }

// Validate checks a wanted state before any call is made, and completes
// it: Queue alone means runtime sqs; a runtime's Name defaults to reflex
// and its Queue to NAME-findings.
func (w *Want) Validate() error {
	switch w.Frequency {
	case "FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS":
	default:
		return fmt.Errorf("finding publishing frequency %q: want FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS", w.Frequency)
	}
	for _, f := range w.Features {
		if !slices.Contains(Features, f) {
			return fmt.Errorf("protection plan %q: want one of %s", f, strings.Join(Features, ", "))
		}
	}
	if w.RulePrefix == "" || len(w.RulePrefix) > 40 {
		return errors.New("rule prefix: 1 to 40 characters")
	}
	if w.Queue != "" && w.Runtime == "" {
		w.Runtime = RuntimeSQS
	}
	switch w.Runtime {
	case "", RuntimeLambda, RuntimeSQS:
	default:
		return fmt.Errorf("runtime %q: want lambda or sqs", w.Runtime)
	}
	if w.Runtime != "" && w.TargetARN != "" {
		return errors.New("give --target-arn (a target deployed otherwise) or --runtime/--queue (deployed by setup), not both")
	}
	if w.Queue != "" && w.Runtime != RuntimeSQS {
		return errors.New("--queue names the queue of runtime sqs")
	}
	if len(w.Patterns) > 0 && w.Runtime == "" && !strings.HasPrefix(w.TargetARN, "arn:") {
		return errors.New("name where findings go: --runtime lambda to deploy the reflex function, --runtime sqs (or --queue NAME) for the queue of reflex serve, or --target-arn ARN for a target deployed otherwise")
	}
	if g := w.IsolationGroups; g != nil {
		for _, k := range g.Kinds {
			if !slices.Contains(isogroup.Kinds(), k) {
				return fmt.Errorf("isolation group kind %q: want %s", k, strings.Join(isogroup.Kinds(), " or "))
			}
		}
	}
	if w.Runtime == "" {
		return nil
	}
	if w.Name == "" {
		w.Name = DefaultName
	}
	if w.Runtime == RuntimeSQS && w.Queue == "" {
		w.Queue = w.Name + "-findings"
	}
	if w.ResponsePolicy != "" && !json.Valid([]byte(w.ResponsePolicy)) {
		return errors.New("response policy: not JSON")
	}
	return w.validateRuntime()
}

// Apply brings GuardDuty and EventBridge to the wanted state.
func (s *Setup) Apply(ctx context.Context, w Want) (*Report, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	r := &Report{DryRun: s.DryRun, Changes: []Change{}, Unchanged: []string{}}
	u := &run{Setup: s, r: r, w: &w, created: map[string]bool{}}
	if w.Runtime != "" || w.IsolationGroups != nil {
		if err := u.identity(ctx); err != nil {
			return r, err
		}
	}
	if _, err := s.detector(ctx, r, w); err != nil {
		return r, err
	}
	var perms map[string]string
	if w.Runtime != "" {
		if err := u.deploy(ctx); err != nil {
			return r, err
		}
		if w.Runtime == RuntimeLambda {
			var err error
			if perms, err = u.permissions(ctx); err != nil {
				return r, err
			}
		}
	}
	if err := u.rules(ctx, perms); err != nil {
		return r, err
	}
	// Last: the groups speed containment up, the wiring above makes it
	// happen at all.
	if err := u.isolationGroups(ctx); err != nil {
		return r, err
	}
	return r, nil
}

// deploy brings reflex's own resources to the wanted state, in the order
// they depend on each other, and points w's target at the runtime.
func (u *run) deploy(ctx context.Context) error {
	w := u.w
	queue, dlq, err := u.queues(ctx)
	if err != nil {
		return err
	}
	if w.DeadLetterARN == "" {
		w.DeadLetterARN = dlq
	}
	var topic, table string
	if w.Topic {
		if topic, err = u.topic(ctx); err != nil {
			return err
		}
	}
	if w.Ledger {
		if table, err = u.ledger(ctx); err != nil {
			return err
		}
	}
	role, err := u.role(ctx, u.runtimePolicy(queue, dlq, topic, table))
	if err != nil {
		return err
	}
	if w.Runtime == RuntimeSQS {
		w.TargetARN = queue
		return nil
	}
	if err := u.logGroup(ctx); err != nil {
		return err
	}
	fn, err := u.function(ctx, role, dlq)
	if err != nil {
		return err
	}
	if err := u.invokeConfig(ctx, dlq); err != nil {
		return err
	}
	w.TargetARN = fn
	return nil
}

func featureConfigs(want []string) []gdtypes.DetectorFeatureConfiguration {
	var out []gdtypes.DetectorFeatureConfiguration
	for _, f := range Features {
		st := gdtypes.FeatureStatusDisabled
		if slices.Contains(want, f) {
			st = gdtypes.FeatureStatusEnabled
		}
		out = append(out, gdtypes.DetectorFeatureConfiguration{Name: gdtypes.DetectorFeature(f), Status: st})
	}
	return out
}

func featureMap(want []string) map[string]any {
	m := map[string]any{}
	for _, f := range Features {
		m[f] = slices.Contains(want, f)
	}
	return m
}

// detector makes sure this account and region has an enabled detector with
// the wanted frequency and protection plans; it returns its id.
func (s *Setup) detector(ctx context.Context, r *Report, w Want) (string, error) {
	list, err := s.GuardDuty.ListDetectors(ctx, &guardduty.ListDetectorsInput{})
	if err != nil {
		return "", fmt.Errorf("guardduty:ListDetectors: %w", err)
	}
	if len(list.DetectorIds) == 0 {
		var id string
		err := s.change(r, Change{Service: "guardduty", Action: "CreateDetector", Target: "detector",
			Why:   "no GuardDuty detector in this account and region",
			Input: map[string]any{"Enable": true, "FindingPublishingFrequency": w.Frequency, "Features": featureMap(w.Features)}},
			func() error {
				out, err := s.GuardDuty.CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true),
					FindingPublishingFrequency: gdtypes.FindingPublishingFrequency(w.Frequency), Features: featureConfigs(w.Features)})
				if err == nil {
					id = aws.ToString(out.DetectorId)
				}
				return err
			})
		return id, err
	}
	id := list.DetectorIds[0]
	d, err := s.GuardDuty.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(id)})
	if err != nil {
		return "", fmt.Errorf("guardduty:GetDetector %s: %w", id, err)
	}
	var why []string
	if d.Status != gdtypes.DetectorStatusEnabled {
		why = append(why, "the detector is disabled")
	}
	if string(d.FindingPublishingFrequency) != w.Frequency {
		why = append(why, fmt.Sprintf("publishing frequency is %s, want %s", d.FindingPublishingFrequency, w.Frequency))
	}
	have := map[string]bool{}
	for _, f := range d.Features {
		have[string(f.Name)] = f.Status == gdtypes.FeatureStatusEnabled
	}
	for _, f := range Features {
		if want := slices.Contains(w.Features, f); have[f] != want {
			why = append(why, fmt.Sprintf("%s is %s, want %s", f, onOff(have[f]), onOff(want)))
		}
	}
	if len(why) == 0 {
		r.Unchanged = append(r.Unchanged, "guardduty detector "+id)
		return id, nil
	}
	return id, s.change(r, Change{Service: "guardduty", Action: "UpdateDetector", Target: "detector " + id,
		Why:   strings.Join(why, "; "),
		Input: map[string]any{"Enable": true, "FindingPublishingFrequency": w.Frequency, "Features": featureMap(w.Features)}},
		func() error {
			_, err := s.GuardDuty.UpdateDetector(ctx, &guardduty.UpdateDetectorInput{DetectorId: aws.String(id), Enable: aws.Bool(true),
				FindingPublishingFrequency: gdtypes.FindingPublishingFrequency(w.Frequency), Features: featureConfigs(w.Features)})
			return err
		})
}

func onOff(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

// RuleName is the name of the i-th EventBridge rule.
func RuleName(prefix string, i int) string { return fmt.Sprintf("%s-findings-%02d", prefix, i) }

// targetID is the id of reflex's target on its rules.
const targetID = "reflex"

// rules makes the EventBridge rules PREFIX-findings-NN carry the wanted
// patterns and target, and removes such rules the configuration no longer
// needs.
func (u *run) rules(ctx context.Context, perms map[string]string) error {
	s, r, w := u.Setup, u.r, *u.w
	for i, p := range w.Patterns {
		name := RuleName(w.RulePrefix, i)
		cur, err := s.EventBridge.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(name)})
		var why string
		switch {
		case isNotFound(err):
			why = "the rule does not exist"
		case err != nil:
			return fmt.Errorf("events:DescribeRule %s: %w", name, err)
		case !sameJSON(aws.ToString(cur.EventPattern), p):
			why = "its pattern differs from the configuration's"
		case cur.State != ebtypes.RuleStateEnabled:
			why = "the rule is " + string(cur.State)
		}
		if why != "" {
			if err := s.change(r, Change{Service: "events", Action: "PutRule", Target: name, Why: why,
				Input: map[string]any{"EventPattern": p, "State": "ENABLED"}},
				func() error {
					_, err := s.EventBridge.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(p),
						State: ebtypes.RuleStateEnabled, Description: aws.String("GuardDuty findings for reflex (reflex setup)")})
					return err
				}); err != nil {
				return err
			}
		} else {
			r.Unchanged = append(r.Unchanged, "events rule "+name)
		}
		if perms != nil {
			if err := u.permission(ctx, perms, name); err != nil {
				return err
			}
		}
		if err := s.target(ctx, r, w, name, why == "the rule does not exist"); err != nil {
			return err
		}
	}
	// Rules of ours beyond the wanted count are stale.
	out, err := s.EventBridge.ListRules(ctx, &eventbridge.ListRulesInput{NamePrefix: aws.String(w.RulePrefix + "-findings-")})
	if err != nil {
		return fmt.Errorf("events:ListRules: %w", err)
	}
	wanted := map[string]bool{}
	for i := range w.Patterns {
		wanted[RuleName(w.RulePrefix, i)] = true
	}
	var stale []string
	for _, ru := range out.Rules {
		if name := aws.ToString(ru.Name); !wanted[name] {
			stale = append(stale, name)
		}
	}
	sort.Strings(stale)
	// The function's permissions for rules no longer wanted go too.
	var stalePerms []string
	for sid := range perms {
		name, ok := strings.CutPrefix(sid, permissionSid(""))
		if ok && strings.HasPrefix(name, w.RulePrefix+"-findings-") && !wanted[name] {
			stalePerms = append(stalePerms, sid)
		}
	}
	sort.Strings(stalePerms)
	for _, sid := range stalePerms {
		if err := u.removePermission(ctx, sid, "the configuration no longer needs its rule"); err != nil {
			return err
		}
	}
	for _, name := range stale {
		if err := s.change(r, Change{Service: "events", Action: "RemoveTargets", Target: name, Why: "the configuration no longer needs this rule",
			Input: map[string]any{"Ids": []string{targetID}}},
			func() error {
				_, err := s.EventBridge.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(name), Ids: []string{targetID}})
				return err
			}); err != nil {
			return err
		}
		if err := s.change(r, Change{Service: "events", Action: "DeleteRule", Target: name, Why: "the configuration no longer needs this rule"},
			func() error {
				_, err := s.EventBridge.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(name)})
				return err
			}); err != nil {
			return err
		}
	}
	return nil
}

// target makes reflex's target of a rule point at the wanted ARN.
func (s *Setup) target(ctx context.Context, r *Report, w Want, rule string, created bool) error {
	want := ebtypes.Target{Id: aws.String(targetID), Arn: aws.String(w.TargetARN)}
	if w.DeadLetterARN != "" {
		want.DeadLetterConfig = &ebtypes.DeadLetterConfig{Arn: aws.String(w.DeadLetterARN)}
	}
	retry := 0
	if w.Runtime == RuntimeLambda {
		retry = targetRetryAttempts
		want.RetryPolicy = &ebtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(targetRetryAttempts), MaximumEventAgeInSeconds: aws.Int32(targetRetryAge)}
	}
	why := "the rule has no reflex target"
	if !created || !s.DryRun {
		out, err := s.EventBridge.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(rule)})
		switch {
		case isNotFound(err) && s.DryRun:
		case err != nil:
			return fmt.Errorf("events:ListTargetsByRule %s: %w", rule, err)
		default:
			for _, t := range out.Targets {
				if aws.ToString(t.Id) != targetID {
					continue
				}
				dlq := ""
				if t.DeadLetterConfig != nil {
					dlq = aws.ToString(t.DeadLetterConfig.Arn)
				}
				haveRetry, haveAge := 0, 0
				if t.RetryPolicy != nil {
					haveRetry, haveAge = int(aws.ToInt32(t.RetryPolicy.MaximumRetryAttempts)), int(aws.ToInt32(t.RetryPolicy.MaximumEventAgeInSeconds))
				}
				sameRetry := retry == 0 || haveRetry == retry && haveAge == targetRetryAge
				if aws.ToString(t.Arn) == w.TargetARN && dlq == w.DeadLetterARN && sameRetry {
					r.Unchanged = append(r.Unchanged, "events target "+rule+"/"+targetID)
					return nil
				}
				switch {
				case aws.ToString(t.Arn) != w.TargetARN:
					why = "the target is " + aws.ToString(t.Arn)
				case dlq != w.DeadLetterARN:
					why = fmt.Sprintf("its dead-letter queue is %q", dlq)
				default:
					why = fmt.Sprintf("its retry policy is %d attempts over %d s", haveRetry, haveAge)
				}
			}
		}
	}
	return s.change(r, Change{Service: "events", Action: "PutTargets", Target: rule, Why: why,
		Input: targetInput(w.TargetARN, w.DeadLetterARN, retry)},
		func() error {
			out, err := s.EventBridge.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), Targets: []ebtypes.Target{want}})
			if err == nil && out.FailedEntryCount > 0 {
				return fmt.Errorf("%s: %s", aws.ToString(out.FailedEntries[0].ErrorCode), aws.ToString(out.FailedEntries[0].ErrorMessage))
			}
			return err
		})
}

func targetInput(arn, dlq string, retry int) map[string]any {
	in := map[string]any{"Id": targetID, "Arn": arn, "DeadLetterArn": dlq}
	if retry > 0 {
		in["RetryPolicy"] = map[string]any{"MaximumRetryAttempts": retry, "MaximumEventAgeInSeconds": targetRetryAge}
	}
	return in
}

// Org is the organisation part: the delegated administrator (run with the
// management account's credentials) and the auto-enable configuration (run
// with the administrator's).
type Org struct {
	AdminAccount string   // enable this account as GuardDuty's delegated administrator
	AutoEnable   string   // ALL, NEW or NONE; empty leaves it
	Features     []string // plans auto-enabled for members
}

// ApplyOrg applies the organisation settings.
func (s *Setup) ApplyOrg(ctx context.Context, o Org) (*Report, error) {
	r := &Report{DryRun: s.DryRun, Changes: []Change{}, Unchanged: []string{}}
	if o.AdminAccount != "" {
		if len(o.AdminAccount) != 12 || strings.Trim(o.AdminAccount, "0123456789") != "" {
			return nil, fmt.Errorf("--admin-account %q: want a 12-digit account id", o.AdminAccount)
		}
		out, err := s.GuardDuty.ListOrganizationAdminAccounts(ctx, &guardduty.ListOrganizationAdminAccountsInput{})
		if err != nil {
			return nil, fmt.Errorf("guardduty:ListOrganizationAdminAccounts (run this with the management account's credentials): %w", err)
		}
		enabled := false
		for _, a := range out.AdminAccounts {
			if aws.ToString(a.AdminAccountId) == o.AdminAccount && a.AdminStatus == gdtypes.AdminStatusEnabled {
				enabled = true
			} else if a.AdminStatus == gdtypes.AdminStatusEnabled {
				return nil, fmt.Errorf("account %s is already GuardDuty's delegated administrator; disable it first (aws guardduty disable-organization-admin-account)", aws.ToString(a.AdminAccountId))
			}
		}
		if enabled {
			r.Unchanged = append(r.Unchanged, "guardduty delegated administrator "+o.AdminAccount)
		} else if err := s.change(r, Change{Service: "guardduty", Action: "EnableOrganizationAdminAccount", Target: o.AdminAccount,
			Why: "the account is not the delegated administrator", Input: map[string]any{"AdminAccountId": o.AdminAccount}},
			func() error {
				_, err := s.GuardDuty.EnableOrganizationAdminAccount(ctx, &guardduty.EnableOrganizationAdminAccountInput{AdminAccountId: aws.String(o.AdminAccount)})
				return err
			}); err != nil {
			return r, err
		}
	}
	if o.AutoEnable == "" {
		return r, nil
	}
	switch o.AutoEnable {
	case "ALL", "NEW", "NONE":
	default:
		return nil, fmt.Errorf("--auto-enable %q: want ALL, NEW or NONE", o.AutoEnable)
	}
	list, err := s.GuardDuty.ListDetectors(ctx, &guardduty.ListDetectorsInput{})
	if err != nil {
		return r, fmt.Errorf("guardduty:ListDetectors: %w", err)
	}
	if len(list.DetectorIds) == 0 {
		return r, errors.New("no GuardDuty detector here: run `reflex setup` in the administrator account first")
	}
	id := list.DetectorIds[0]
	cur, err := s.GuardDuty.DescribeOrganizationConfiguration(ctx, &guardduty.DescribeOrganizationConfigurationInput{DetectorId: aws.String(id)})
	if err != nil {
		return r, fmt.Errorf("guardduty:DescribeOrganizationConfiguration (run this with the delegated administrator's credentials): %w", err)
	}
	have := map[string]string{}
	for _, f := range cur.Features {
		have[string(f.Name)] = string(f.AutoEnable)
	}
	want := map[string]string{}
	var feats []gdtypes.OrganizationFeatureConfiguration
	for _, f := range o.Features {
		want[f] = o.AutoEnable
		feats = append(feats, gdtypes.OrganizationFeatureConfiguration{Name: gdtypes.OrgFeature(f), AutoEnable: gdtypes.OrgFeatureStatus(o.AutoEnable)})
	}
	if string(cur.AutoEnableOrganizationMembers) == o.AutoEnable && reflect.DeepEqual(subset(have, want), want) {
		r.Unchanged = append(r.Unchanged, "guardduty organisation configuration")
		return r, nil
	}
	return r, s.change(r, Change{Service: "guardduty", Action: "UpdateOrganizationConfiguration", Target: "detector " + id,
		Why:   fmt.Sprintf("members auto-enable is %s, want %s (plans %s)", cur.AutoEnableOrganizationMembers, o.AutoEnable, strings.Join(o.Features, ", ")),
		Input: map[string]any{"AutoEnableOrganizationMembers": o.AutoEnable, "Features": o.Features}},
		func() error {
			_, err := s.GuardDuty.UpdateOrganizationConfiguration(ctx, &guardduty.UpdateOrganizationConfigurationInput{DetectorId: aws.String(id),
				AutoEnableOrganizationMembers: gdtypes.AutoEnableMembers(o.AutoEnable), Features: feats})
			return err
		})
}

func subset(have, want map[string]string) map[string]string {
	out := map[string]string{}
	for k := range want {
		if v, ok := have[k]; ok {
			out[k] = v
		}
	}
	return out
}

func isNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException"
}

// sameJSON compares two JSON documents by value.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	return reflect.DeepEqual(x, y)
}
