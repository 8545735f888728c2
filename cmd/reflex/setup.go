package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/action/ec2"
	"github.com/reflexsec/reflex/action/ec2/isogroup"
	"github.com/reflexsec/reflex/forward"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/setup"
)

// planAliases are the short names of GuardDuty's protection plans.
var planAliases = map[string]string{
	"s3": "S3_DATA_EVENTS", "eks": "EKS_AUDIT_LOGS", "malware": "EBS_MALWARE_PROTECTION",
	"runtime": "RUNTIME_MONITORING", "rds": "RDS_LOGIN_EVENTS", "lambda": "LAMBDA_NETWORK_LOGS",
}

// parsePlans reads --features: "all", "none", or a comma list of short or
// API names.
func parsePlans(s string) ([]string, error) {
	switch strings.TrimSpace(s) {
	case "all":
		return slices.Clone(setup.Features), nil
	case "none", "":
		return nil, nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		name := planAliases[strings.ToLower(p)]
		if name == "" && slices.Contains(setup.Features, strings.ToUpper(p)) {
			name = strings.ToUpper(p)
		}
		if name == "" {
			return nil, fmt.Errorf("--features: %q is not a protection plan (s3, eks, malware, runtime, rds, lambda, all, none)", p)
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// awsConfig loads the SDK's default configuration chain (environment,
// profiles, SSO, IMDS; AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>).
func awsConfig(ctx context.Context, region string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return cfg, errors.New("no AWS region: pass --region or set AWS_REGION")
	}
	return cfg, nil
}

func printSetupReport(w io.Writer, g *globals, r *setup.Report) error {
	if g.json() {
		return printJSON(w, r)
	}
	for _, u := range r.Unchanged {
		fmt.Fprintf(w, "= %s: up to date\n", u)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "! %s\n", n)
	}
	verb := "changed"
	if r.DryRun {
		verb = "would change (dry run: nothing was changed)"
	}
	fmt.Fprintf(w, "%d %s\n", len(r.Changes), verb)
	return nil
}

// setupFlags are the flags of reflex's own resources: the Terraform
// module's variables.
type setupFlags struct {
	lambdaZip, architecture string
	noLedger, noTopic       bool
	noIsolationGroups       bool
	tags                    map[string]string
	memberRoles             []string
	memberRolesSet          bool
}

func newSetupCmd(g *globals, s streams) *cobra.Command {
	var (
		w        setup.Want
		sf       setupFlags
		features string
		region   string
		dryRun   bool
	)
	w.Function = setup.DefaultFunction()
	cmd := &cobra.Command{
		Use:   "setup -c FILE (--runtime lambda|sqs | --target-arn ARN)",
		Short: "Enable GuardDuty, deploy reflex and wire EventBridge to it, idempotently",
		Long: `Enable GuardDuty in this account and region (the detector, its protection
plans, the finding publishing frequency), deploy reflex, and create the
EventBridge rule(s) forwarding exactly the findings the configuration's rules
can match (the patterns of 'reflex eventbridge-pattern') to it — what the
Terraform module deploy/terraform/reflex does, with the same names and
defaults (--name prefixes them):

  --runtime lambda   the function NAME (provided.al2023, --architecture, reserved
                     concurrency, asynchronous retries with NAME-dlq as on-failure
                     destination and dead-letter queue), its log group
                     /aws/lambda/NAME with retention, and EventBridge's permission
                     to invoke it for each rule
  --runtime sqs      the queue NAME-findings (or --queue NAME) that reflex serve
                     drains, with a redrive policy to NAME-dlq
  both               the dead-letter queue NAME-dlq; the IAM role NAME, trusted by
                     Lambda in this account, with the least-privilege policy of the
                     configuration's steps ('reflex iam-policy') as NAME-response and
                     the runtime's own needs (logs, queues, ledger, topic,
                     --config-ssm-parameter, member roles) as NAME-runtime; the SNS
                     topic NAME (--notify-email subscribes addresses); the DynamoDB
                     ledger table NAME-ledger (on demand, encrypted, point-in-time
                     recovery, TTL, deletion protection)
  --target-arn ARN   none of these: findings go to a target deployed otherwise

When the configuration's steps isolate instances (ec2.isolate, ec2.contain),
setup also makes reflex's security groups reflex-untrack (all traffic in and
out, 0.0.0.0/0 and ::/0) and reflex-isolation (no rule) in every VPC where
reflex acts, with exactly the rules the steps give them, so that containment
finds them ready instead of creating them first: this account when no
accounts are configured or "*" or its id is listed; each account listed by
id through its role (assumed by the credentials running setup), in its
regions or else --region. The accounts "*" stands for cannot be listed, and
an AssumeRole refused is not fatal: both are told ("!" lines, "notes" in
JSON); the Terraform module deploy/terraform/member-role makes the groups
there (isolation_vpc_ids). --no-isolation-groups leaves the VPCs alone.

The function's code is --lambda-zip FILE (scripts/build-lambda.sh ARCH --config
FILE; its reflex.yaml must be the -c file), or else this reflex binary itself
when it is a static linux one, packaged with the -c file as reflex.yaml
(REFLEX_CONFIG=reflex.yaml). With --config-ssm-parameter the function reads
the configuration from that parameter instead (which setup does not write).
The code is uploaded only when its SHA-256 differs from the function's.

It reads the current state first and changes only what differs, so running it
again changes nothing, and changes made by hand (retention, policies, the
function's settings or code) are put back; rules of an earlier, larger
configuration are removed with their permissions. --dry-run lists the calls it
would make and makes none. The credentials need the read and write calls of
the resources above (iam:GetRole, iam:CreateRole, iam:PutRolePolicy,
lambda:CreateFunction, … — an AccessDenied error names the missing one),
iam:PassRole on the role NAME and, for the groups, ec2:DescribeVpcs,
ec2:DescribeSecurityGroups, ec2:CreateSecurityGroup, ec2:CreateTags,
ec2:AuthorizeSecurityGroupIngress/Egress, ec2:RevokeSecurityGroupIngress/Egress
(and sts:AssumeRole on the accounts' roles).`,
		Example: `  reflex setup -c reflex.yaml --runtime lambda --dry-run
  reflex setup -c reflex.yaml --runtime lambda --lambda-zip dist/reflex-lambda-arm64.zip --notify-email soc@example.com
  reflex setup -c reflex.yaml --queue reflex-findings --features s3,eks,malware,runtime
  reflex setup -c reflex.yaml --target-arn arn:aws:lambda:eu-west-1:111111111111:function:reflex
  reflex setup org --admin-account 111111111111`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			p, err := loadPolicy(g)
			if err != nil {
				return err
			}
			if w.Features, err = parsePlans(features); err != nil {
				return usageErr(err)
			}
			var rules []forward.Rule
			for _, r := range p.Rules {
				if !r.Disabled {
					rules = append(rules, forward.Rule{Name: r.Name, Pattern: r.PatternJSON})
				}
			}
			fw, err := forward.Compute(rules, forward.Options{})
			if err != nil {
				return usageErr(fmt.Errorf("%s: %w", p.File, err))
			}
			w.Patterns = fw.Patterns()
			if w.RulePrefix == "" {
				w.RulePrefix = w.Name
			}
			w.Ledger, w.Topic, w.Tags = !sf.noLedger, !sf.noTopic, sf.tags
			if err := runtimeWant(&w, &sf, p); err != nil {
				return usageErr(err)
			}
			if !sf.noIsolationGroups {
				w.IsolationGroups = isolationGroups(p)
			}
			if err := w.Validate(); err != nil {
				return usageErr(err)
			}
			cfg, err := awsConfig(ctx, region)
			if err != nil {
				return usageErr(err)
			}
			st := &setup.Setup{GuardDuty: guardduty.NewFromConfig(cfg), EventBridge: eventbridge.NewFromConfig(cfg), SQS: sqs.NewFromConfig(cfg),
				STS: sts.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg), Lambda: lambda.NewFromConfig(cfg), Logs: cloudwatchlogs.NewFromConfig(cfg),
				SNS: sns.NewFromConfig(cfg), DynamoDB: dynamodb.NewFromConfig(cfg), EC2: setup.EC2Clients(cfg), Region: cfg.Region, DryRun: dryRun}
			if !g.json() {
				st.OnChange = func(c setup.Change) { fmt.Fprintf(s.out, "+ %s\n", c) }
			}
			rep, err := st.Apply(ctx, w)
			if rep != nil {
				if perr := printSetupReport(s.out, g, rep); perr != nil {
					return perr
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&w.Runtime, "runtime", "", "deploy reflex: lambda (the function) or sqs (the queue of reflex serve)")
	f.StringVar(&w.TargetARN, "target-arn", "", "send findings to this Lambda function or SQS queue, deployed otherwise (instead of --runtime)")
	f.StringVar(&w.Queue, "queue", "", "name of the queue of runtime sqs (default NAME-findings; implies --runtime sqs)")
	f.StringVar(&w.DeadLetterARN, "dead-letter-arn", "", "SQS queue ARN for events EventBridge cannot deliver (default with a runtime: NAME-dlq)")
	f.StringVar(&w.Name, "name", setup.DefaultName, "name prefix of reflex's resources: role, function, log group, queues, topic, ledger table")
	f.StringVar(&w.Frequency, "frequency", "FIFTEEN_MINUTES", "finding publishing frequency: FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS")
	f.StringVar(&features, "features", "all", "protection plans to enable: all, none, or a list of s3, eks, malware, runtime, rds, lambda")
	f.StringVar(&w.RulePrefix, "rule-prefix", "", "prefix of the EventBridge rule names, PREFIX-findings-00 … (default NAME)")
	f.StringVar(&sf.lambdaZip, "lambda-zip", "", "the function's package (scripts/build-lambda.sh); default: this reflex binary, if a static linux one, with the -c file")
	f.StringVar(&sf.architecture, "architecture", "", "the function's architecture, arm64 or x86_64 (default: the package's)")
	f.IntVar(&w.Function.MemoryMB, "memory", w.Function.MemoryMB, "the function's memory, in MB")
	f.IntVar(&w.Function.TimeoutSeconds, "timeout", w.Function.TimeoutSeconds, "timeout of one invocation, in seconds")
	f.IntVar(&w.Function.ReservedConcurrency, "reserved-concurrency", w.Function.ReservedConcurrency, "reserved concurrent executions of the function (-1: unreserved)")
	f.IntVar(&w.Function.MaxRetryAttempts, "max-retry-attempts", w.Function.MaxRetryAttempts, "retries of a failed asynchronous invocation (0-2) before the event goes to the dead-letter queue")
	f.IntVar(&w.Function.MaxEventAgeSeconds, "max-event-age", w.Function.MaxEventAgeSeconds, "seconds an undelivered event is retried (60-21600) before it goes to the dead-letter queue")
	f.IntVar(&w.Function.LogRetentionDays, "log-retention-days", w.Function.LogRetentionDays, "retention of the function's log group, in days")
	f.StringVar(&w.ConfigSSMParameter, "config-ssm-parameter", "", "SSM parameter holding the configuration, read by the function (REFLEX_CONFIG=ssm:NAME) instead of a packaged reflex.yaml")
	f.StringSliceVar(&sf.memberRoles, "member-role-arn", nil, "response role (ARN or pattern) in member accounts reflex may assume (default: the configuration's accounts' roles)")
	f.BoolVar(&sf.noLedger, "no-ledger-table", false, "do not create the DynamoDB ledger table")
	f.IntVar(&w.LedgerTTLDays, "ledger-ttl-days", 400, "days after which ledger records expire through DynamoDB TTL (0: never)")
	f.BoolVar(&sf.noTopic, "no-sns-topic", false, "do not create the SNS topic")
	f.BoolVar(&sf.noIsolationGroups, "no-isolation-groups", false, "do not make reflex's isolation groups in the VPCs (ec2.isolate and ec2.contain then create them while containing: ec2.contain isolates one round trip later)")
	f.StringSliceVar(&w.NotificationEmails, "notify-email", nil, "e-mail address subscribed to the SNS topic (each must confirm)")
	f.StringToStringVar(&sf.tags, "tag", nil, "tag KEY=VALUE set on the resources setup creates")
	f.StringVar(&region, "region", "", "AWS region (default: the SDK's, e.g. AWS_REGION)")
	f.BoolVar(&dryRun, "dry-run", false, "list the changes, make none")
	cmd.PreRun = func(cmd *cobra.Command, _ []string) { sf.memberRolesSet = cmd.Flags().Changed("member-role-arn") }
	cmd.AddCommand(newSetupOrgCmd(g, s))
	return cmd
}

// isolationGroups returns the groups of package isogroup the
// configuration's steps put on interfaces (ec2.isolate and ec2.contain,
// unless given their own isolation group and no untrack pass), with the
// accounts and regions where reflex acts; nil when no step uses them.
func isolationGroups(p *policy.Policy) *setup.IsolationGroups {
	need := map[string]bool{}
	for _, r := range p.Rules {
		if r.Disabled {
			continue
		}
		for _, ref := range r.Steps {
			for _, k := range ec2.GroupKinds(ref.Step.Spec().Name, ref.Params) {
				need[k] = true
			}
		}
	}
	g := &setup.IsolationGroups{}
	for _, k := range isogroup.Kinds() {
		if need[k] {
			g.Kinds = append(g.Kinds, k)
		}
	}
	if len(g.Kinds) == 0 {
		return nil
	}
	for i, a := range cloudAccounts(p) {
		g.Accounts = append(g.Accounts, setup.Account{Account: a, Regions: p.Accounts[i].Regions})
	}
	return g
}

// runtimeWant completes the wanted state of reflex's own resources from the
// configuration: the steps' policy, the member roles, the function's code.
func runtimeWant(w *setup.Want, sf *setupFlags, p *policy.Policy) error {
	if w.Queue != "" && w.Runtime == "" {
		w.Runtime = setup.RuntimeSQS
	}
	if w.Runtime == "" {
		return nil
	}
	pol := iamPolicies(p, "")
	doc, err := json.Marshal(pol["member_role"].(map[string]any)["permissions_policy"])
	if err != nil {
		return err
	}
	w.ResponsePolicy = string(doc)
	w.MemberRoleARNs = sf.memberRoles
	if !sf.memberRolesSet {
		if own, ok := pol["reflex"].(map[string]any); ok {
			if d, ok := own["permissions_policy"].(setup.PolicyDocument); ok && len(d.Statement) > 0 {
				w.MemberRoleARNs, _ = d.Statement[0].Resource.([]string)
			}
		}
	}
	if w.Runtime != setup.RuntimeLambda {
		return nil
	}
	exe, err := os.Executable()
	if err != nil && sf.lambdaZip == "" {
		return fmt.Errorf("finding this reflex binary to package it: %w; give --lambda-zip FILE", err)
	}
	zip, arch, env, err := setup.Package(setup.PackageFrom{Zip: sf.lambdaZip, Executable: exe, GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		Config: p.File, Architecture: sf.architecture, ConfigInSSM: w.ConfigSSMParameter != ""})
	if err != nil {
		return err
	}
	w.Function.Zip, w.Function.Architecture, w.Function.Env = zip, arch, env
	return nil
}

func newSetupOrgCmd(g *globals, s streams) *cobra.Command {
	var (
		o        setup.Org
		features string
		region   string
		dryRun   bool
	)
	cmd := &cobra.Command{
		Use:   "org [--admin-account ID] [--auto-enable ALL|NEW|NONE]",
		Short: "Organisation steps: the GuardDuty delegated administrator and members' auto-enable",
		Long: `--admin-account makes the account GuardDuty's delegated administrator for the
organisation (run with the management account's credentials). --auto-enable
sets which member accounts GuardDuty enables automatically, with the protection
plans of --features (run with the delegated administrator's credentials).
Both are idempotent; --dry-run lists the calls and makes none.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if o.AdminAccount == "" && o.AutoEnable == "" {
				return usageErr(errors.New("setup org: give --admin-account ID and/or --auto-enable ALL|NEW|NONE"))
			}
			var err error
			if o.Features, err = parsePlans(features); err != nil {
				return usageErr(err)
			}
			cfg, err := awsConfig(ctx, region)
			if err != nil {
				return usageErr(err)
			}
			st := &setup.Setup{GuardDuty: guardduty.NewFromConfig(cfg), DryRun: dryRun}
			if !g.json() {
				st.OnChange = func(c setup.Change) { fmt.Fprintf(s.out, "+ %s\n", c) }
			}
			rep, err := st.ApplyOrg(ctx, o)
			if rep != nil {
				if perr := printSetupReport(s.out, g, rep); perr != nil {
					return perr
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.AdminAccount, "admin-account", "", "account id to make GuardDuty's delegated administrator")
	f.StringVar(&o.AutoEnable, "auto-enable", "", "members GuardDuty enables automatically: ALL, NEW or NONE")
	f.StringVar(&features, "features", "all", "protection plans auto-enabled for members (as for setup)")
	f.StringVar(&region, "region", "", "AWS region (default: the SDK's, e.g. AWS_REGION)")
	f.BoolVar(&dryRun, "dry-run", false, "list the changes, make none")
	return cmd
}
