package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/store"
	"github.com/reflexsec/reflex/store/sqlite"
)

// lockedDB is a ledger whose executor lock is released on Close.
type lockedDB struct {
	*sqlite.DB
	unlock func()
}

func (l *lockedDB) Close() error {
	err := l.DB.Close()
	l.unlock()
	return err
}

type ledgerCloser interface {
	Close() error
	Path() string
}

// openEngine loads the configuration (when needed or given) and opens the
// ledger; execute takes the ledger's executor lock, so one process at a
// time runs steps from it.
func openEngine(g *globals, ledgerFlag string, needPolicy, execute bool) (*engine.Engine, ledgerCloser, error) {
	var p *policy.Policy
	var err error
	if needPolicy || g.config != "" {
		if p, err = loadPolicy(g); err != nil {
			return nil, nil, err
		}
	} else {
		// approve/deny/history work from the ledger alone; execution
		// settings are the defaults.
		p = &policy.Policy{Execution: policy.Execution{Parallel: policy.DefaultParallel, Timeout: policy.Duration(policy.DefaultTimeout),
			Retries: policy.DefaultRetries, Backoff: policy.Duration(policy.DefaultBackoff)}}
	}
	db, err := sqlite.Open(resolveLedger(ledgerFlag, p), sqlite.Options{})
	if err != nil {
		return nil, nil, err
	}
	if execute {
		unlock, err := db.LockExecution()
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		return &engine.Engine{Policy: p, Registry: action.NewRegistry(), Ledger: db}, &lockedDB{db, unlock}, nil
	}
	return &engine.Engine{Policy: p, Registry: action.NewRegistry(), Ledger: db}, db, nil
}

func newRunCmd(g *globals, s streams) *cobra.Command {
	var ledgerPath string
	var notifyTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "run -c FILE FINDING…|-",
		Short: "Decide and execute, honouring each rule's mode; every step journaled in the ledger",
		Long: `Decide for each finding, record the decision in the ledger and execute the
steps of enforce-mode decisions. Dry-run decisions are recorded only;
approve-mode decisions wait for 'reflex approve ID'. Work left unfinished by
an earlier run (a crash, a kill) is finished first, without repeating a
completed step. Exit 1 when a step failed.

With a notifications section, every decision that waits for approval or
ran is announced on its routes (dry-runs only where a route lists dry-run
in match.modes); before exiting, reflex waits up to --notify-timeout for
the messages to be delivered. Delivery failures are printed on stderr and
recorded in the ledger (reflex history events); they never change the exit
code.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, db, err := openEngine(g, ledgerPath, true, true)
			if err != nil {
				return err
			}
			defer db.Close()
			ann := startAnnouncer(cmd.Context(), eng, notifyTimeout, s.err)
			defer ann.finish(s.err) // before the ledger closes
			fs, bad, err := loadFindings(cmd.Context(), args, s.in, s.err)
			if err != nil {
				return err
			}
			if len(bad) > 0 {
				return usageErr(fmt.Errorf("invalid findings (nothing was done):\n%s", strings.Join(bad, "\n")))
			}
			if len(fs) == 0 {
				return usageErr(errors.New("no finding in the input"))
			}
			results, resumed, err := eng.Run(cmd.Context(), fs, engine.Options{})
			failed := 0
			for _, o := range resumed {
				failed += o.Failed()
			}
			for _, r := range results {
				if r.Outcome != nil {
					failed += r.Outcome.Failed()
				}
			}
			if g.json() {
				if perr := printJSON(s.out, map[string]any{"ledger": db.Path(), "resumed": resumed, "results": jsonResults(results)}); perr != nil {
					return perr
				}
			} else {
				for _, o := range resumed {
					fmt.Fprintf(s.out, "resumed %s: %s\n", o.DecisionID, o.Status)
					printSteps(s.out, o.Steps)
				}
				for _, r := range results {
					status := r.Plan.Status
					if r.Outcome != nil {
						status = r.Outcome.Status
					}
					fmt.Fprintf(s.out, "%s %s: %s — %s\n", r.Plan.Finding.Key, r.Plan.DecisionID, status, r.Plan.Summary)
					for _, gv := range r.Plan.Guards {
						if gv.Verdict == "hold" {
							fmt.Fprintf(s.out, "    %s: %s\n", gv.Guard, gv.Reason)
						}
					}
					if status == store.DecisionPending {
						fmt.Fprintf(s.out, "    waiting for approval: reflex approve %s --by NAME (or reflex deny %s)\n", r.Plan.DecisionID, r.Plan.DecisionID)
					}
					if r.Outcome != nil {
						printSteps(s.out, r.Outcome.Steps)
					}
				}
			}
			if err != nil {
				return err
			}
			if failed > 0 {
				return negative(fmt.Errorf("%d step(s) failed (reflex history -o json for details)", failed))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&ledgerPath, "ledger", "", "ledger file (default: the configuration's ledger.path, $REFLEX_LEDGER, or the state directory)")
	addNotifyTimeout(cmd, &notifyTimeout)
	return cmd
}

func jsonResults(rs []*engine.Result) []map[string]any {
	out := []map[string]any{}
	for _, r := range rs {
		out = append(out, map[string]any{"change": r.Change, "plan": r.Plan, "outcome": r.Outcome})
	}
	return out
}

func printSteps(w io.Writer, steps []*store.Step) {
	for _, st := range steps {
		line := fmt.Sprintf("    %2d. %-28s %-40s %s", st.Seq, st.Name, orFinding(st.Target), st.State)
		if st.Attempts > 1 {
			line += fmt.Sprintf(" (%d attempts)", st.Attempts)
		}
		if st.Reason != "" {
			line += " — " + st.Reason
		}
		fmt.Fprintln(w, line)
	}
}

func orFinding(t string) string {
	if t == "" {
		return "(the finding)"
	}
	return t
}
