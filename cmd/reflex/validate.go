package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/policy"
)

func newValidateCmd(g *globals, s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "validate -c FILE",
		Short: "Check a configuration: every problem with file:line:column and what to change",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.config == "" {
				return usageErr(errors.New("no configuration: pass -c FILE or set REFLEX_CONFIG (start from examples/reflex.yaml)"))
			}
			p, err := policy.Load(g.config, action.NewRegistry())
			if err != nil {
				var es *policy.Errors
				if !errors.As(err, &es) {
					return usageErr(err)
				}
				if g.json() {
					type jerr struct {
						File    string `json:"file"`
						Line    int    `json:"line"`
						Column  int    `json:"column"`
						Message string `json:"message"`
					}
					out := []jerr{}
					for _, e := range es.List {
						out = append(out, jerr{e.File, e.Line, e.Col, e.Msg})
					}
					_ = printJSON(s.out, map[string]any{"valid": false, "errors": out})
				}
				return usageErr(fmt.Errorf("invalid configuration (%d problem(s)):\n%s", len(es.List), es.Error()))
			}
			steps := 0
			for _, r := range p.Rules {
				steps += len(r.Steps)
			}
			if g.json() {
				return printJSON(s.out, map[string]any{"valid": true, "file": p.File, "rules": len(p.Rules), "playbooks": len(p.Playbooks)})
			}
			fmt.Fprintf(s.out, "%s: valid: %d rule(s), %d playbook(s), %d step reference(s)\n", p.File, len(p.Rules), len(p.Playbooks), steps)
			var missing []string
			seen := map[string]bool{}
			for _, r := range p.Rules {
				for _, st := range r.Steps {
					if !st.Step.Spec().Available && !seen[st.Name] {
						seen[st.Name] = true
						missing = append(missing, st.Name)
					}
				}
			}
			if len(missing) > 0 {
				fmt.Fprintf(s.out, "note: declared but not available in this build (plans list them; running one fails): %s\n", strings.Join(missing, ", "))
			}
			return nil
		},
	}
}

// loadPolicy loads the configuration named by -c, as an invalid-input
// error (exit 2) when it is missing or wrong.
func loadPolicy(g *globals) (*policy.Policy, error) {
	if g.config == "" {
		return nil, usageErr(errors.New("no configuration: pass -c FILE or set REFLEX_CONFIG (start from examples/reflex.yaml)"))
	}
	p, err := policy.Load(g.config, action.NewRegistry())
	if err != nil {
		var es *policy.Errors
		if errors.As(err, &es) {
			return nil, usageErr(fmt.Errorf("invalid configuration (%d problem(s)):\n%s", len(es.List), es.Error()))
		}
		return nil, usageErr(err)
	}
	return p, nil
}
