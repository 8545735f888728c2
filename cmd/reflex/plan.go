package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/store/sqlite"
)

func newPlanCmd(g *globals, s streams) *cobra.Command {
	var explain, noLedger bool
	var ledgerPath string
	cmd := &cobra.Command{
		Use:   "plan -c FILE FINDING…|-",
		Short: "Decide for findings and print the plan with every reason; changes nothing",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPolicy(g)
			if err != nil {
				return err
			}
			fs, bad, err := loadFindings(cmd.Context(), args, s.in, s.err)
			if err != nil {
				return err
			}
			eng := &engine.Engine{Policy: p, Registry: action.NewRegistry()}
			if !noLedger {
				path := resolveLedger(ledgerPath, p)
				if _, err := os.Stat(path); err == nil {
					db, err := sqlite.Open(path, sqlite.Options{ReadOnly: true})
					if err != nil {
						return err
					}
					defer db.Close()
					eng.Ledger = db
				}
			}
			var plans []*engine.Plan
			for _, f := range fs {
				pl, err := eng.Decide(cmd.Context(), f, engine.Options{Explain: explain, Calls: true})
				if err != nil {
					return err
				}
				plans = append(plans, pl)
			}
			if g.json() {
				if plans == nil {
					plans = []*engine.Plan{}
				}
				if err := printJSON(s.out, plans); err != nil {
					return err
				}
			} else {
				for i, pl := range plans {
					if i > 0 {
						fmt.Fprintln(s.out)
					}
					printPlan(s.out, pl, explain)
				}
			}
			if len(bad) > 0 {
				return usageErr(fmt.Errorf("invalid findings (the others are planned above):\n%s", strings.Join(bad, "\n")))
			}
			if len(fs) == 0 {
				return usageErr(errors.New("no finding in the input"))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&explain, "explain", false, "say which pattern field each non-matching rule fails, and list every API call")
	cmd.Flags().BoolVar(&noLedger, "no-ledger", false, "ignore the ledger (no duplicate or budget verdicts)")
	cmd.Flags().StringVar(&ledgerPath, "ledger", "", "ledger file (default: the configuration's ledger.path, $REFLEX_LEDGER, or the state directory)")
	return cmd
}

// resolveLedger picks the ledger file: the flag, the configuration,
// $REFLEX_LEDGER, the default under the user's state directory.
func resolveLedger(flag string, p *policy.Policy) string {
	switch {
	case flag != "":
		return flag
	case p != nil && p.LedgerPath() != "":
		return p.LedgerPath()
	case os.Getenv("REFLEX_LEDGER") != "":
		return os.Getenv("REFLEX_LEDGER")
	}
	return sqlite.DefaultPath()
}

// loadFindings reads every finding of the inputs (files, directories, -).
// Events that are valid but not GuardDuty findings are skipped with a note
// on w (reflex ignores them, as an EventBridge rule would). Malformed input
// is returned in bad, one line each, naming the input and position.
func loadFindings(ctx context.Context, args []string, stdin io.Reader, w io.Writer) (fs []*finding.Finding, bad []string, err error) {
	inputs, err := expandInputs(args)
	if err != nil {
		return nil, nil, usageErr(err)
	}
	err = readFindings(ctx, inputs, stdin, func(f *finding.Finding) { fs = append(fs, f) }, func(err error) {
		var re *finding.RecordError
		if errors.As(err, &re) && re.NotFinding {
			fmt.Fprintf(w, "reflex: skipped %s\n", err)
			return
		}
		bad = append(bad, err.Error())
	})
	return fs, bad, err
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "·"
}

func printPlan(w io.Writer, pl *engine.Plan, explain bool) {
	f := pl.Finding
	fmt.Fprintf(w, "finding %s\n  %s  %s %.1f", f.Key, f.Type, f.Band, f.Severity)
	if f.Sample {
		fmt.Fprintf(w, "  SAMPLE (%s)", f.SampleWhy)
	}
	if f.Origin != "" {
		fmt.Fprintf(w, "  [%s]", f.Origin)
	}
	fmt.Fprintln(w)
	for _, r := range f.Resources {
		fmt.Fprintf(w, "  resource: %s\n", r.Label())
	}
	if pl.Change != "new" {
		fmt.Fprintf(w, "  ledger: %s\n", pl.Change)
	}
	fmt.Fprintln(w, "  rules:")
	for _, r := range pl.Rules {
		mode := ""
		if r.Matched {
			mode = " [" + r.Mode + "]"
		}
		fmt.Fprintf(w, "    %s %s%s: %s\n", mark(r.Matched), r.Rule, mode, r.Why)
	}
	if len(pl.Guards) > 0 {
		fmt.Fprintln(w, "  guards:")
		for _, g := range pl.Guards {
			fmt.Fprintf(w, "    %-9s %-7s %s\n", g.Guard, g.Verdict, g.Reason)
		}
	}
	if len(pl.Steps) > 0 {
		fmt.Fprintf(w, "  steps (mode %s):\n", pl.Mode)
		for _, st := range pl.Steps {
			target := st.TargetID
			if st.Target != nil {
				target = st.Target.Label()
			}
			if target == "" {
				target = "(the finding)"
			}
			line := fmt.Sprintf("    %2d. %-28s %-40s %s", st.Seq, st.Name, target, st.Status)
			if st.Reason != "" {
				line += " — " + st.Reason
			}
			if len(st.AlsoFrom) > 0 {
				line += " (also from " + strings.Join(st.AlsoFrom, ", ") + ")"
			}
			fmt.Fprintln(w, line)
			if explain {
				for _, c := range st.Calls {
					fmt.Fprintf(w, "          %s\n", c)
				}
			}
		}
	}
	fmt.Fprintf(w, "  decision %s: %s — %s\n", pl.DecisionID, pl.Status, pl.Summary)
}
