package main

import (
	"github.com/reflexsec/reflex/setup"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/policy"
)

func newIAMPolicyCmd(g *globals, s streams) *cobra.Command {
	var principal string
	cmd := &cobra.Command{
		Use:   "iam-policy -c FILE",
		Short: "Print the least-privilege IAM policies the configuration's steps need (JSON)",
		Long: `Print, as JSON, what the configuration's steps need and nothing more:
  member_role.permissions_policy  the actions of every step a rule uses, per service
  member_role.trust_policy        who may assume the role in member accounts (reflex's
                                  principal, with the configured external id)
  reflex.permissions_policy       what reflex's own role needs: sts:AssumeRole on those roles
Steps on disabled rules and steps no rule uses are left out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadPolicy(g)
			if err != nil {
				return err
			}
			return printJSON(s.out, iamPolicies(p, principal))
		},
	}
	cmd.Flags().StringVar(&principal, "principal", "arn:aws:iam::REFLEX_ACCOUNT_ID:role/reflex", "the principal reflex runs as (trusted by the member-account role)")
	return cmd
}

func iamPolicies(p *policy.Policy, principal string) map[string]any {
	byService := map[string]map[string]bool{}
	var steps []string
	seen := map[string]bool{}
	for _, r := range p.Rules {
		if r.Disabled {
			continue
		}
		for _, ref := range r.Steps {
			spec := ref.Step.Spec()
			if !seen[spec.Name] {
				seen[spec.Name] = true
				steps = append(steps, spec.Name)
			}
			for _, a := range spec.IAMActions {
				svc, _, _ := strings.Cut(a, ":")
				if byService[svc] == nil {
					byService[svc] = map[string]bool{}
				}
				byService[svc][a] = true
			}
		}
	}
	sort.Strings(steps)
	perms := setup.PolicyDocument{Version: "2012-10-17"}
	svcs := make([]string, 0, len(byService))
	for s := range byService {
		svcs = append(svcs, s)
	}
	sort.Strings(svcs)
	for _, svc := range svcs {
		var acts []string
		for a := range byService[svc] {
			acts = append(acts, a)
		}
		sort.Strings(acts)
		perms.Statement = append(perms.Statement, setup.Statement{Sid: "Reflex" + sid(svc), Effect: "Allow", Action: acts, Resource: "*"})
	}
	if len(perms.Statement) == 0 {
		perms.Statement = []setup.Statement{}
	}
	var roles []string
	trustCond := map[string]any{}
	roleName := "reflex-responder"
	for _, a := range p.Accounts {
		if a.Role == "" {
			continue
		}
		if strings.HasPrefix(a.Role, "arn:") {
			roles = append(roles, strings.ReplaceAll(a.Role, "{account}", accountOrStar(a.ID)))
		} else {
			roleName = a.Role
			roles = append(roles, "arn:aws:iam::"+accountOrStar(a.ID)+":role/"+a.Role)
		}
		if a.ExternalID != "" {
			trustCond["StringEquals"] = map[string]any{"sts:ExternalId": a.ExternalID}
		}
	}
	trust := setup.PolicyDocument{Version: "2012-10-17", Statement: []setup.Statement{{Effect: "Allow", Principal: map[string]any{"AWS": principal},
		Action: "sts:AssumeRole", Condition: trustCond}}}
	if len(trustCond) == 0 {
		trust.Statement[0].Condition = nil
	}
	out := map[string]any{
		"steps": steps,
		"member_role": map[string]any{
			"name":               roleName,
			"permissions_policy": perms,
			"trust_policy":       trust,
		},
	}
	if len(roles) > 0 {
		out["reflex"] = map[string]any{"permissions_policy": setup.PolicyDocument{Version: "2012-10-17",
			Statement: []setup.Statement{{Sid: "ReflexAssumeResponder", Effect: "Allow", Action: "sts:AssumeRole", Resource: roles}}}}
	}
	return out
}

func accountOrStar(id string) string {
	if id == "" || id == "*" {
		return "*"
	}
	return id
}

func sid(svc string) string {
	var b strings.Builder
	up := true
	for _, r := range svc {
		if r == '-' || r == '.' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}
