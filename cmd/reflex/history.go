package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/store"
)

func newHistoryCmd(g *globals, s streams) *cobra.Command {
	var f store.Filter
	var since time.Duration
	var ledgerPath string
	cmd := &cobra.Command{
		Use:       "history [decisions|findings|steps|approvals|events]",
		Short:     "The ledger: findings, decisions, steps, approvals and the audit trail",
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"decisions", "findings", "steps", "approvals", "events"},
		RunE: func(cmd *cobra.Command, args []string) error {
			what := "decisions"
			if len(args) == 1 {
				what = args[0]
			}
			if since > 0 {
				f.Since = time.Now().Add(-since)
			}
			eng, db, err := openEngine(g, ledgerPath, false, false)
			if err != nil {
				return err
			}
			defer db.Close()
			ctx := cmd.Context()
			led := eng.Ledger
			var v any
			switch what {
			case "decisions":
				decs, err := led.Decisions(ctx, f)
				if err != nil {
					return err
				}
				if g.json() {
					type withSteps struct {
						*store.Decision
						Steps []*store.Step `json:"steps"`
					}
					out := []withSteps{}
					for _, d := range decs {
						st, err := led.DecisionSteps(ctx, d.ID)
						if err != nil {
							return err
						}
						out = append(out, withSteps{d, st})
					}
					return printJSON(s.out, out)
				}
				for _, d := range decs {
					fmt.Fprintf(s.out, "%s  %s  %-16s %-8s %s  %s\n", d.CreatedAt.Format(time.RFC3339), d.ID, d.Status, d.Mode, d.FindingKey, d.Summary)
					if d.Status == store.DecisionPending {
						fmt.Fprintf(s.out, "    waiting for approval until %s: reflex approve %s / reflex deny %s\n", d.ExpiresAt.Format(time.RFC3339), d.ID, d.ID)
					}
					st, err := led.DecisionSteps(ctx, d.ID)
					if err != nil {
						return err
					}
					printSteps(s.out, st)
				}
				return nil
			case "findings":
				fs, err := led.Findings(ctx, f)
				if err != nil {
					return err
				}
				if !g.json() {
					for _, x := range fs {
						fmt.Fprintf(s.out, "%s  %s  %-50s sev %.1f count %d rev %d%s\n", x.LastSeen.Format(time.RFC3339), x.Key, x.Type, x.Severity, x.Count, x.Revision, map[bool]string{true: " SAMPLE"}[x.Sample])
					}
					return nil
				}
				v = fs
			case "steps":
				st, err := led.Steps(ctx, f)
				if err != nil {
					return err
				}
				if !g.json() {
					for _, x := range st {
						fmt.Fprintf(s.out, "%s  %s  ", x.PlannedAt.Format(time.RFC3339), x.DecisionID)
						printSteps(s.out, []*store.Step{x})
					}
					return nil
				}
				v = st
			case "approvals":
				as, err := led.Approvals(ctx, f)
				if err != nil {
					return err
				}
				if !g.json() {
					for _, a := range as {
						fmt.Fprintf(s.out, "%s  %s  %s by %s  %s\n", a.At.Format(time.RFC3339), a.DecisionID, a.Verdict, a.By, a.Reason)
					}
					return nil
				}
				v = as
			case "events":
				es, err := led.Events(ctx, f)
				if err != nil {
					return err
				}
				if !g.json() {
					for _, e := range es {
						fmt.Fprintf(s.out, "%s  %-18s %s %s\n", e.At.Format(time.RFC3339Nano), e.Kind, e.DecisionID, e.Message)
					}
					return nil
				}
				v = es
			default:
				return usageErr(fmt.Errorf("history %q: want decisions, findings, steps, approvals or events", what))
			}
			return printJSON(s.out, v)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.FindingKey, "finding", "", "only this finding (ACCOUNT/REGION/ID)")
	fl.StringVar(&f.DecisionID, "decision", "", "only this decision")
	fl.StringVar(&f.AccountID, "account", "", "only this account")
	fl.StringVar(&f.Status, "status", "", "only this decision status, step state, verdict or event kind")
	fl.DurationVar(&since, "since", 0, "only the last DURATION (e.g. 24h)")
	fl.IntVar(&f.Limit, "limit", 100, "at most N records (0: all)")
	fl.StringVar(&ledgerPath, "ledger", "", "ledger file (default: the configuration's ledger.path, $REFLEX_LEDGER, or the state directory)")
	return cmd
}
