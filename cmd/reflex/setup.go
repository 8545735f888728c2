package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/forward"
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
	verb := "changed"
	if r.DryRun {
		verb = "would change (dry run: nothing was changed)"
	}
	fmt.Fprintf(w, "%d %s\n", len(r.Changes), verb)
	return nil
}

func newSetupCmd(g *globals, s streams) *cobra.Command {
	var (
		w        setup.Want
		features string
		region   string
		dryRun   bool
	)
	cmd := &cobra.Command{
		Use:   "setup -c FILE --target-arn ARN",
		Short: "Enable GuardDuty and wire EventBridge to reflex, idempotently",
		Long: `Enable GuardDuty in this account and region (the detector, its protection
plans, the finding publishing frequency) and create the EventBridge rule(s)
forwarding exactly the findings the configuration's rules can match (the
patterns of 'reflex eventbridge-pattern') to the target: the reflex Lambda
function (--target-arn), or the SQS queue of 'reflex serve' (--queue NAME creates
it with a dead-letter queue and a policy letting only these rules send to it).

It reads the current state first and changes only what differs, so running it
again changes nothing; rules of an earlier, larger configuration are removed.
--dry-run lists the calls it would make and makes none.

A Lambda target also needs EventBridge's permission to invoke the function
(the Terraform module grants it; by hand: aws lambda add-permission).`,
		Example: `  reflex setup -c reflex.yaml --target-arn arn:aws:lambda:eu-west-1:111111111111:function:reflex --dry-run
  reflex setup -c reflex.yaml --queue reflex-findings --features s3,eks,malware,runtime
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
			if err := w.Validate(); err != nil {
				return usageErr(err)
			}
			cfg, err := awsConfig(ctx, region)
			if err != nil {
				return usageErr(err)
			}
			st := &setup.Setup{GuardDuty: guardduty.NewFromConfig(cfg), EventBridge: eventbridge.NewFromConfig(cfg), SQS: sqs.NewFromConfig(cfg), DryRun: dryRun}
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
	f.StringVar(&w.TargetARN, "target-arn", "", "where findings go: the reflex Lambda function's or the SQS queue's ARN")
	f.StringVar(&w.Queue, "queue", "", "create (or keep) this SQS queue, with a dead-letter queue NAME-dlq, for reflex serve, and send findings to it")
	f.StringVar(&w.DeadLetterARN, "dead-letter-arn", "", "SQS queue ARN for events EventBridge cannot deliver (default with --queue: NAME-dlq)")
	f.StringVar(&w.Frequency, "frequency", "FIFTEEN_MINUTES", "finding publishing frequency: FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS")
	f.StringVar(&features, "features", "all", "protection plans to enable: all, none, or a list of s3, eks, malware, runtime, rds, lambda")
	f.StringVar(&w.RulePrefix, "rule-prefix", "reflex", "prefix of the EventBridge rule names (PREFIX-findings-00 …)")
	f.StringVar(&region, "region", "", "AWS region (default: the SDK's, e.g. AWS_REGION)")
	f.BoolVar(&dryRun, "dry-run", false, "list the changes, make none")
	cmd.AddCommand(newSetupOrgCmd(g, s))
	return cmd
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
