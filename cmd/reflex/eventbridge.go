package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/forward"
)

func newEventBridgePatternCmd(g *globals, s streams) *cobra.Command {
	var maxSize int
	cmd := &cobra.Command{
		Use:   "eventbridge-pattern -c FILE",
		Short: "Print the EventBridge rule pattern(s) forwarding exactly the findings the configuration's rules can match",
		Long: `Print the EventBridge rule pattern(s) that forward to reflex exactly the
GuardDuty findings some rule of the configuration can match: the union of the
rules' patterns, restricted to GuardDuty findings, split into several rules when
one would exceed EventBridge's limits (2,048 characters — an adjustable quota,
see --max-size — and 1,000 $or combinations).

With -o json the output has "patterns" (a list of pattern strings: the
Terraform module's event_patterns input), "groups" (each pattern with the rules
it serves), "skipped" (rules that can never match a finding) and "warnings".`,
		Example: `  reflex eventbridge-pattern -c reflex.yaml
  reflex eventbridge-pattern -c reflex.yaml -o json > patterns.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadPolicy(g)
			if err != nil {
				return err
			}
			var rules []forward.Rule
			for _, r := range p.Rules {
				if r.Disabled {
					continue
				}
				rules = append(rules, forward.Rule{Name: r.Name, Pattern: r.PatternJSON})
			}
			res, err := forward.Compute(rules, forward.Options{MaxSize: maxSize})
			if err != nil {
				return usageErr(fmt.Errorf("%s: %w", p.File, err))
			}
			if g.json() {
				type group struct {
					Pattern json.RawMessage `json:"pattern"`
					Rules   []string        `json:"rules"`
				}
				out := struct {
					Patterns []string          `json:"patterns"`
					Groups   []group           `json:"groups"`
					Skipped  []forward.Skipped `json:"skipped"`
					Warnings []string          `json:"warnings"`
				}{Patterns: res.Patterns(), Groups: []group{}, Skipped: res.Skipped, Warnings: res.Warnings}
				if out.Patterns == nil {
					out.Patterns = []string{}
				}
				if out.Skipped == nil {
					out.Skipped = []forward.Skipped{}
				}
				if out.Warnings == nil {
					out.Warnings = []string{}
				}
				for _, gr := range res.Groups {
					out.Groups = append(out.Groups, group{Pattern: json.RawMessage(gr.Pattern), Rules: gr.Rules})
				}
				return printJSON(s.out, out)
			}
			if len(res.Groups) == 0 {
				fmt.Fprintln(s.out, "# no rule can match a GuardDuty finding: nothing to forward")
			}
			for i, gr := range res.Groups {
				var pretty strings.Builder
				var v any
				_ = json.Unmarshal([]byte(gr.Pattern), &v)
				enc := json.NewEncoder(&pretty)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				_ = enc.Encode(v)
				fmt.Fprintf(s.out, "# EventBridge rule %d of %d (%d characters), for rules: %s\n%s", i+1, len(res.Groups), len([]rune(gr.Pattern)), strings.Join(gr.Rules, ", "), pretty.String())
			}
			for _, sk := range res.Skipped {
				fmt.Fprintf(s.err, "reflex: rule %q is not forwarded: %s\n", sk.Rule, sk.Reason)
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(s.err, "reflex: warning: "+w)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&maxSize, "max-size", 0, "pattern size quota in characters (default EventBridge's 2,048; raise it if your account's quota was raised)")
	return cmd
}
