package ec2

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/action/internal/awsstep"
	"github.com/reflexsec/reflex/action/internal/revoke"
)

type profilePrior struct {
	ProfileARN string        `json:"profile_arn"`
	Replaced   bool          `json:"replaced,omitempty"`
	Role       *revoke.Prior `json:"role,omitempty"`
}

func credentials() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "ec2.revoke-instance-credentials", Effect: action.Reversible, Targets: instanceKinds,
			Description: "Remove the instance profile (or replace it with a no-permission one) so the instance gets no new credentials; " +
				"optionally deny the role's sessions issued before now (aws:TokenIssueTime), which cuts credentials already handed out — " +
				"and every other instance or user of the role: its own explicit choice.",
			Params: []action.Param{
				{Name: "replace_with", Type: action.TypeString, Description: "instance profile name or ARN to put in place (default: remove the profile)"},
				{Name: "revoke_role_sessions", Type: action.TypeBool, Default: false, Description: "also deny the role's sessions issued before now (hits every user of the role)"},
			},
			Example: "- step: ec2.revoke-instance-credentials\n  params: {replace_with: quarantine-profile, revoke_role_sessions: true}",
			IAMActions: []string{"ec2:DescribeInstances", "ec2:DescribeIamInstanceProfileAssociations", "ec2:DisassociateIamInstanceProfile",
				"ec2:AssociateIamInstanceProfile", "ec2:ReplaceIamInstanceProfileAssociation", "ec2:CreateTags", "ec2:DeleteTags",
				"iam:GetInstanceProfile", "iam:PassRole", "iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"}},
		PlanFn: func(req *action.Request) []action.Call {
			id := instanceID(req)
			calls := []action.Call{call("ec2", "DescribeIamInstanceProfileAssociations", id, nil, "with DescribeInstances, in parallel"),
				call("ec2", "CreateTags", id, map[string]any{"Key": TagProfilePrior}, "checkpoint: the profile")}
			if r := req.Params.String("replace_with"); r != "" {
				calls = append(calls, call("ec2", "ReplaceIamInstanceProfileAssociation", id, map[string]any{"IamInstanceProfile": r}, ""))
			} else {
				calls = append(calls, call("ec2", "DisassociateIamInstanceProfile", id, nil, ""))
			}
			if req.Params.Bool("revoke_role_sessions") {
				calls = append(calls, call("iam", "GetInstanceProfile", "", nil, "the profile's role"),
					call("iam", "PutRolePolicy", "", map[string]any{"PolicyName": revoke.PolicyName}, "Deny * when aws:TokenIssueTime < now; hits every user of the role"))
			}
			return calls
		},
		DoFn:   doCredentials,
		UndoFn: undoCredentials,
	}
}

func profileRef(s string) *types.IamInstanceProfileSpecification {
	if strings.HasPrefix(s, "arn:") {
		return &types.IamInstanceProfileSpecification{Arn: aws.String(s)}
	}
	return &types.IamInstanceProfileSpecification{Name: aws.String(s)}
}

func doCredentials(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
	id := instanceID(req)
	c, err := ec2Client(ctx, env)
	if err != nil {
		return action.Failed(err, false)
	}
	var assoc *types.IamInstanceProfileAssociation
	var tags map[string]string
	errs := awsstep.Parallel(2,
		func() error {
			out, err := c.DescribeIamInstanceProfileAssociations(ctx, &sdk.DescribeIamInstanceProfileAssociationsInput{
				Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{id}}}})
			if err == nil {
				for i := range out.IamInstanceProfileAssociations {
					a := &out.IamInstanceProfileAssociations[i]
					if a.State == types.IamInstanceProfileAssociationStateAssociated || a.State == types.IamInstanceProfileAssociationStateAssociating {
						assoc = a
					}
				}
			}
			return err
		},
		func() error {
			in, err := describe(ctx, c, id)
			if err == nil {
				tags = tagMap(in.Tags)
			}
			return err
		})
	if err := awsstep.First(errs); err != nil {
		return awsstep.Fail(err, "read the instance profile of %s", id)
	}
	replace := req.Params.String("replace_with")
	curARN := ""
	if assoc != nil && assoc.IamInstanceProfile != nil {
		curARN = aws.ToString(assoc.IamInstanceProfile.Arn)
	}
	prior := profilePrior{ProfileARN: tags[TagProfilePrior], Replaced: replace != ""}
	earlier, err := awsstep.Earlier(req, &prior)
	if err != nil {
		return action.Failed(err, false)
	}
	if prior.ProfileARN == "" {
		if curARN == "" {
			return action.Skipped(id + " has no instance profile")
		}
		prior.ProfileARN = curARN
	}
	if !earlier {
		if err := awsstep.Checkpoint(ctx, req, prior); err != nil {
			return action.Failed(err, true)
		}
	}
	if tags[TagProfilePrior] == "" {
		if err := setTags(ctx, c, []string{id}, map[string]string{TagProfilePrior: prior.ProfileARN}); err != nil {
			return awsstep.Fail(err, "checkpoint the instance profile of %s", id)
		}
	}
	replaced := replace != "" && curARN != "" && curARN != prior.ProfileARN
	switch {
	case replace != "" && !replaced && assoc != nil:
		_, err = c.ReplaceIamInstanceProfileAssociation(ctx, &sdk.ReplaceIamInstanceProfileAssociationInput{AssociationId: assoc.AssociationId, IamInstanceProfile: profileRef(replace)})
	case replace != "" && assoc == nil:
		_, err = c.AssociateIamInstanceProfile(ctx, &sdk.AssociateIamInstanceProfileInput{InstanceId: aws.String(id), IamInstanceProfile: profileRef(replace)})
	case replace == "" && assoc != nil:
		_, err = c.DisassociateIamInstanceProfile(ctx, &sdk.DisassociateIamInstanceProfileInput{AssociationId: assoc.AssociationId})
		if isCode(err, "InvalidAssociationID.NotFound") {
			err = nil
		}
	}
	if err != nil {
		return awsstep.Fail(err, "take the instance profile of %s away", id)
	}
	out := map[string]any{"removed": prior.ProfileARN}
	if replace != "" {
		out["replaced_with"] = replace
	}
	if req.Params.Bool("revoke_role_sessions") {
		ic, err := env.IAM(ctx, env.Account, env.Region)
		if err != nil {
			return action.Failed(err, false)
		}
		name := prior.ProfileARN[strings.LastIndexByte(prior.ProfileARN, '/')+1:]
		ip, err := ic.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
		if err != nil {
			return awsstep.Fail(err, "read instance profile %s", name)
		}
		if roles := ip.InstanceProfile.Roles; len(roles) > 0 { // a profile holds one role
			role := aws.ToString(roles[0].RoleName)
			rp, err := revoke.Revoke(ctx, ic, revoke.Role, role, time.Now(), prior.Role, func(p *revoke.Prior) error {
				cp := prior
				cp.Role = p
				return awsstep.Checkpoint(ctx, req, cp)
			})
			if err != nil {
				return awsstep.Fail(err, "revoke the older sessions of role %s", role)
			}
			prior.Role = rp
			out["revoked_sessions_of_role"] = role
		}
	}
	return awsstep.Result(prior, out)
}

func undoCredentials(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
	var p profilePrior
	if err := awsstep.Unmarshal(req, &p); err != nil {
		return action.Failed(err, false)
	}
	id := instanceID(req)
	c, err := ec2Client(ctx, env)
	if err != nil {
		return action.Failed(err, false)
	}
	out, err := c.DescribeIamInstanceProfileAssociations(ctx, &sdk.DescribeIamInstanceProfileAssociationsInput{
		Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{id}}}})
	if err != nil {
		return awsstep.Fail(err, "read the instance profile of %s", id)
	}
	var assoc *types.IamInstanceProfileAssociation
	for i := range out.IamInstanceProfileAssociations {
		a := &out.IamInstanceProfileAssociations[i]
		if a.State == types.IamInstanceProfileAssociationStateAssociated || a.State == types.IamInstanceProfileAssociationStateAssociating {
			assoc = a
		}
	}
	switch {
	case assoc == nil:
		_, err = c.AssociateIamInstanceProfile(ctx, &sdk.AssociateIamInstanceProfileInput{InstanceId: aws.String(id), IamInstanceProfile: profileRef(p.ProfileARN)})
	case aws.ToString(assoc.IamInstanceProfile.Arn) != p.ProfileARN:
		_, err = c.ReplaceIamInstanceProfileAssociation(ctx, &sdk.ReplaceIamInstanceProfileAssociationInput{AssociationId: assoc.AssociationId, IamInstanceProfile: profileRef(p.ProfileARN)})
	}
	if err != nil {
		return awsstep.Fail(err, "give %s its instance profile back", id)
	}
	if p.Role != nil {
		ic, err := env.IAM(ctx, env.Account, env.Region)
		if err != nil {
			return action.Failed(err, false)
		}
		if err := revoke.Restore(ctx, ic, p.Role); err != nil {
			return awsstep.Fail(err, "remove the session revocation of role %s", p.Role.Name)
		}
	}
	if err := deleteTags(ctx, c, []string{id}, TagProfilePrior); err != nil {
		return awsstep.Fail(err, "remove the checkpoint tag of %s", id)
	}
	return action.Done(map[string]any{"profile": p.ProfileARN})
}
