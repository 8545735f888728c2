package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
)

func newApproveCmd(g *globals, s streams) *cobra.Command { return answerCmd(g, s, true) }

func newDenyCmd(g *globals, s streams) *cobra.Command { return answerCmd(g, s, false) }

func answerCmd(g *globals, s streams, approve bool) *cobra.Command {
	var by, reason, ledgerPath string
	var noRun bool
	var notifyTimeout time.Duration
	use, short := "deny DECISION-ID", "Deny a plan waiting for approval (recorded with who and why)"
	if approve {
		use, short = "approve DECISION-ID", "Approve a plan waiting for approval and run it (recorded with who and why)"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if by == "" {
				return usageErr(errors.New("say who answers: --by NAME (default $USER)"))
			}
			eng, db, err := openEngine(g, ledgerPath, false, approve && !noRun)
			if err != nil {
				return err
			}
			defer db.Close()
			ann := startAnnouncer(cmd.Context(), eng, notifyTimeout, s.err)
			defer ann.finish(s.err) // before the ledger closes
			out, err := eng.Answer(cmd.Context(), args[0], approve, by, reason, !noRun)
			if err != nil {
				return negative(err)
			}
			verdict := "denied"
			if approve {
				verdict = "approved"
			}
			if g.json() {
				return printJSON(s.out, map[string]any{"decision_id": args[0], "verdict": verdict, "by": by, "outcome": out})
			}
			fmt.Fprintf(s.out, "%s %s by %s\n", args[0], verdict, by)
			if out != nil {
				fmt.Fprintf(s.out, "executed: %s\n", out.Status)
				printSteps(s.out, out.Steps)
				if out.Failed() > 0 {
					return negative(fmt.Errorf("%d step(s) failed", out.Failed()))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", os.Getenv("USER"), "who answers")
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	cmd.Flags().StringVar(&ledgerPath, "ledger", "", "ledger file (default: the configuration's ledger.path, $REFLEX_LEDGER, or the state directory)")
	addNotifyTimeout(cmd, &notifyTimeout)
	if approve {
		cmd.Flags().BoolVar(&noRun, "no-run", false, "record the approval only; the next 'reflex run' executes it")
	}
	return cmd
}
