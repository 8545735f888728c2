package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/engine"
)

func newReleaseCmd(g *globals, s streams) *cobra.Command {
	var sel engine.ReleaseSelector
	var ledgerPath string
	var notifyTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "release (--finding ID | --resource ARN_OR_ID)",
		Short: "Undo a containment from the ledger, in reverse order, from the recorded prior state",
		Long: `Undo the steps reflex ran for a finding (its id, or account/region/id), or
for every finding that acted on a resource (ARN or id), last step first,
each from the state it recorded before changing anything. A step a crash
interrupted is undone from the state it journaled before its change, and
the interrupted execution does not resume afterwards. Releasing a
released containment does nothing. What cannot be undone (a deleted
console password, a stopped instance's memory, feedback) is said.
Exit 1 when an undo failed: the containment is then still partly in place.
With -c, the release is announced on the configuration's notification routes
(PagerDuty resolves the incident it opened for the finding).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (sel.Finding == "") == (sel.Resource == "") {
				return usageErr(errors.New("release: pass exactly one of --finding ID or --resource ARN_OR_ID"))
			}
			eng, db, err := openEngine(g, ledgerPath, false, true) // release changes AWS resources: one executor at a time
			if err != nil {
				return err
			}
			defer db.Close()
			ann := startAnnouncer(cmd.Context(), eng, notifyTimeout, s.err) // with -c: announce the release (PagerDuty resolves)
			defer ann.finish(s.err)                                         // before the ledger closes
			rel, err := eng.Release(cmd.Context(), sel)
			if err != nil {
				return negative(err)
			}
			if g.json() {
				if err := printJSON(s.out, rel); err != nil {
					return err
				}
			} else {
				printReleased(s.out, rel)
			}
			failed := 0
			for _, r := range rel {
				if r.Status == engine.ReleaseFailed {
					failed++
				}
			}
			if failed > 0 {
				return negative(fmt.Errorf("%d undo(s) failed: the containment is still partly in place (reflex release again retries them)", failed))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&sel.Finding, "finding", "", "the finding: its id, or account/region/id")
	cmd.Flags().StringVar(&sel.Resource, "resource", "", "a resource: every containment that acted on it (ARN or id)")
	cmd.Flags().StringVar(&ledgerPath, "ledger", "", "ledger file (default: the configuration's ledger.path, $REFLEX_LEDGER, or the state directory)")
	addNotifyTimeout(cmd, &notifyTimeout)
	return cmd
}

func printReleased(w io.Writer, rel []*engine.Released) {
	for _, r := range rel {
		line := fmt.Sprintf("  %-30s %-58s %s", r.Step, orFinding(r.Target), r.Status)
		if r.Reason != "" {
			line += " — " + r.Reason
		}
		fmt.Fprintln(w, line)
	}
}
