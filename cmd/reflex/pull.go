package main

import (
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/intake"
)

// parseSince reads --since: a duration back from now (72h) or a time
// (RFC 3339 or a date).
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration (72h) or a time (2026-01-02 or RFC 3339)", s)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newPullCmd(g *globals, s streams) *cobra.Command {
	var (
		ledger, since string
		regions       []string
		minSev        float64
		fromStart     bool
	)
	cmd := &cobra.Command{
		Use:   "pull -c FILE",
		Short: "Catch up: read findings from the GuardDuty API and decide/execute them",
		Long: `Read findings from the GuardDuty API — every detector of every region
given (default: the SDK's region) — oldest update first: ListFindings with
criteria (updatedAt, severity), GetFindings 50 at a time. Each page goes
through the same decide/execute path as the Lambda and the service, and
then a checkpoint is written to the ledger, so a re-run continues where
the last one stopped (--from-start ignores it). Findings already in the
ledger are duplicates: nothing runs twice.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			from, err := parseSince(since, time.Now())
			if err != nil {
				return usageErr(err)
			}
			log := newLogger(s.err)
			proc, led, err := newProcessor(ctx, runtimeOpts{config: g.config, ledger: ledger}, log, nil)
			if err != nil {
				return err
			}
			defer led.Close()
			cfg, err := awsCfg(ctx)
			if err != nil {
				return err
			}
			if len(regions) == 0 {
				if cfg.Region == "" {
					return usageErr(fmt.Errorf("no region: pass --region or set AWS_REGION"))
				}
				regions = []string{cfg.Region}
			}
			p := &intake.Poll{Proc: proc, Regions: regions, Since: from, IgnoreCheckpoint: fromStart, MinSeverity: minSev,
				Client: func(region string) intake.GuardDutyAPI {
					return guardduty.NewFromConfig(cfg, func(o *guardduty.Options) { o.Region = region })
				}}
			if f, ok := s.err.(*os.File); ok && isTerminal(f) {
				p.Progress = func(region, det string, done int) {
					fmt.Fprintf(s.err, "\r\033[K%s %s: %d findings", region, det, done)
				}
			}
			st, err := p.Run(ctx)
			if p.Progress != nil {
				fmt.Fprintln(s.err)
			}
			if g.json() {
				if perr := printJSON(s.out, st); perr != nil {
					return perr
				}
			} else {
				fmt.Fprintf(s.out, "%d detector(s), %d finding(s): %d new, %d updated, %d already in the ledger, %d rejected\n",
					st.Detectors, st.Findings, st.New, st.Updated, st.Duplicate, st.Rejected)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&ledger, "ledger", "", "ledger: dynamodb://TABLE or a SQLite file (default $REFLEX_LEDGER, the configuration's ledger.path)")
	f.StringVar(&since, "since", "", "read findings updated since: a duration (72h) or a time (2026-01-02, RFC 3339)")
	f.StringSliceVar(&regions, "region", nil, "region(s) to read (repeatable; default the SDK's region)")
	f.Float64Var(&minSev, "min-severity", 0, "only findings of at least this severity")
	f.BoolVar(&fromStart, "from-start", false, "ignore the checkpoint: read from --since (or everything)")
	return cmd
}
