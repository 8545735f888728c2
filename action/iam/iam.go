// Package iam holds reflex's IAM containment steps: deactivate exactly the
// finding's access key, attach a deny-all, revoke sessions issued before
// now (aws:TokenIssueTime), delete the console password (approve mode
// only). Reference: reference/response-playbooks.md §4.3.
package iam

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/action/internal/awsstep"
	"github.com/reflexsec/reflex/action/internal/revoke"
	"github.com/reflexsec/reflex/cloud"
	"github.com/reflexsec/reflex/finding"
)

// DenyAllARN is AWS's managed deny-all policy.
const DenyAllARN = "arn:aws:iam::aws:policy/AWSDenyAll"

// InlineDenyName is the inline deny-all policy reflex writes with inline: true.
const InlineDenyName = "reflex-deny-all"

// Steps returns the IAM steps.
func Steps() []action.Step {
	return []action.Step{deactivateKey(), denyAll(), revokeSessions(), deleteLoginProfile()}
}

var principalKinds = []string{finding.KindUser, finding.KindRole}

func client(ctx context.Context, env awsstep.Env) (*sdk.Client, error) {
	return env.IAM(ctx, env.Account, env.Region)
}

func principal(req *action.Request) (revoke.Kind, string) {
	if req.Target == nil {
		return "", ""
	}
	if req.Target.Kind == finding.KindRole {
		return revoke.Role, req.Target.Name
	}
	return revoke.User, req.Target.Name
}

type keyPrior struct {
	User   string `json:"user"`
	KeyID  string `json:"access_key_id"`
	Status string `json:"status"`
}

func deactivateKey() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "iam.deactivate-key", Effect: action.Reversible, Targets: []string{finding.KindAccessKey},
			Description: "Deactivate exactly the access key in the finding (UpdateAccessKey Status=Inactive): never deletes it, never touches the user's other keys. " +
				"Temporary keys (ASIA…, assumed roles) cannot be deactivated: use iam.revoke-sessions. Release makes the key active again.",
			Example:    "- step: iam.deactivate-key",
			IAMActions: []string{"iam:ListAccessKeys", "iam:UpdateAccessKey"}},
		PlanFn: func(req *action.Request) []action.Call {
			user := userOfKey(req)
			return []action.Call{
				{Service: "iam", Action: "ListAccessKeys", Target: user},
				{Service: "iam", Action: "UpdateAccessKey", Target: req.Target.ID, Input: map[string]any{"UserName": user, "AccessKeyId": req.Target.ID, "Status": "Inactive"}, Note: "this key only"},
			}
		},
		DoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			key, user := req.Target.ID, userOfKey(req)
			if finding.IsPlaceholder(user) {
				return action.Skipped(user + " is a placeholder of a sample finding")
			}
			if ut := req.Target.Attrs["userType"]; ut != "" && ut != "IAMUser" {
				return action.Skipped(fmt.Sprintf("the key belongs to a %s: temporary credentials cannot be deactivated (use iam.revoke-sessions)", ut))
			}
			if strings.HasPrefix(key, "ASIA") {
				return action.Skipped(key + " is a temporary key (ASIA…): it cannot be deactivated (use iam.revoke-sessions)")
			}
			c, err := client(ctx, env)
			if err != nil {
				return action.Failed(err, false)
			}
			out, err := c.ListAccessKeys(ctx, &sdk.ListAccessKeysInput{UserName: aws.String(user)})
			if err != nil {
				return awsstep.Fail(err, "list the access keys of %s", user)
			}
			status := ""
			for _, k := range out.AccessKeyMetadata {
				if aws.ToString(k.AccessKeyId) == key {
					status = string(k.Status)
				}
			}
			p := keyPrior{User: user, KeyID: key, Status: status}
			earlier, err := awsstep.Earlier(req, &p)
			if err != nil {
				return action.Failed(err, false)
			}
			switch {
			case status == "":
				return action.Failed(fmt.Errorf("access key %s is not a key of user %s", key, user), false)
			case status == "Inactive" && earlier:
				return awsstep.Result(p, map[string]string{"deactivated": key, "user": user}) // by the earlier attempt
			case status == "Inactive":
				return action.Skipped(key + " is already inactive (release will not activate it)")
			}
			if err := awsstep.Checkpoint(ctx, req, p); err != nil {
				return action.Failed(err, true)
			}
			if _, err := c.UpdateAccessKey(ctx, &sdk.UpdateAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(key), Status: "Inactive"}); err != nil {
				return awsstep.Fail(err, "deactivate %s of %s", key, user)
			}
			return awsstep.Result(p, map[string]string{"deactivated": key, "user": user})
		},
		UndoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			var p keyPrior
			if err := awsstep.Unmarshal(req, &p); err != nil {
				return action.Failed(err, false)
			}
			c, err := client(ctx, env)
			if err != nil {
				return action.Failed(err, false)
			}
			if _, err := c.UpdateAccessKey(ctx, &sdk.UpdateAccessKeyInput{UserName: aws.String(p.User), AccessKeyId: aws.String(p.KeyID), Status: "Active"}); err != nil {
				return awsstep.Fail(err, "activate %s of %s again", p.KeyID, p.User)
			}
			return action.Done(map[string]string{"activated": p.KeyID})
		},
	}
}

func userOfKey(req *action.Request) string {
	if req.Target == nil {
		return ""
	}
	if u := req.Target.Attrs["userName"]; u != "" {
		return u
	}
	return req.Target.Name
}

type denyPrior struct {
	Kind      revoke.Kind `json:"kind"`
	Name      string      `json:"name"`
	PolicyARN string      `json:"policy_arn,omitempty"`
	Inline    bool        `json:"inline,omitempty"`
}

func denyAll() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "iam.deny-all", Effect: action.Reversible, Targets: principalKinds,
			Description: "Freeze the user or role of the finding: attach AWSDenyAll (or the policy_arn given), or with inline: true put an inline deny-all policy. " +
				"For a role this hits every user of the role. Release detaches or deletes it.",
			Params: []action.Param{
				{Name: "policy_arn", Type: action.TypeString, Default: DenyAllARN, Description: "the managed deny policy to attach"},
				{Name: "inline", Type: action.TypeBool, Default: false, Description: "put an inline deny-all policy (" + InlineDenyName + ") instead of attaching a managed one"},
			},
			Example: "- step: iam.deny-all",
			IAMActions: []string{"iam:ListAttachedUserPolicies", "iam:AttachUserPolicy", "iam:DetachUserPolicy", "iam:ListAttachedRolePolicies",
				"iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:GetUserPolicy", "iam:PutUserPolicy", "iam:DeleteUserPolicy",
				"iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"}},
		PlanFn: func(req *action.Request) []action.Call {
			kind, name := principal(req)
			k := capital(string(kind))
			if req.Params.Bool("inline") {
				return []action.Call{{Service: "iam", Action: "Get" + k + "Policy", Target: name, Input: map[string]any{"PolicyName": InlineDenyName}},
					{Service: "iam", Action: "Put" + k + "Policy", Target: name, Input: map[string]any{"PolicyName": InlineDenyName}, Note: "Deny * on *, unless in place"}}
			}
			return []action.Call{{Service: "iam", Action: "ListAttached" + k + "Policies", Target: name},
				{Service: "iam", Action: "Attach" + k + "Policy", Target: name, Input: map[string]any{"PolicyArn": req.Params.String("policy_arn")}}}
		},
		DoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			kind, name := principal(req)
			c, err := client(ctx, env)
			if err != nil {
				return action.Failed(err, false)
			}
			if req.Params.Bool("inline") {
				p := denyPrior{Kind: kind, Name: name, Inline: true}
				earlier, err := awsstep.Earlier(req, &p)
				if err != nil {
					return action.Failed(err, false)
				}
				there, err := hasInline(ctx, c, kind, name)
				switch {
				case err != nil:
					return awsstep.Fail(err, "read the policy %s of %s %s", InlineDenyName, kind, name)
				case there && earlier:
					return awsstep.Result(p, map[string]string{"inline_policy": InlineDenyName}) // put by the earlier attempt
				case there:
					return action.Skipped(fmt.Sprintf("%s %s already has the policy %s (release will leave it)", kind, name, InlineDenyName))
				}
				if err := awsstep.Checkpoint(ctx, req, p); err != nil {
					return action.Failed(err, true)
				}
				doc := `{"Version":"2012-10-17","Statement":[{"Sid":"ReflexDenyAll","Effect":"Deny","Action":"*","Resource":"*"}]}`
				if kind == revoke.User {
					_, err = c.PutUserPolicy(ctx, &sdk.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(InlineDenyName), PolicyDocument: aws.String(doc)})
				} else {
					_, err = c.PutRolePolicy(ctx, &sdk.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(InlineDenyName), PolicyDocument: aws.String(doc)})
				}
				if err != nil {
					return awsstep.Fail(err, "put %s on %s %s", InlineDenyName, kind, name)
				}
				return awsstep.Result(p, map[string]string{"inline_policy": InlineDenyName})
			}
			arn := req.Params.String("policy_arn")
			p := denyPrior{Kind: kind, Name: name, PolicyARN: arn}
			earlier, err := awsstep.Earlier(req, &p)
			if err != nil {
				return action.Failed(err, false)
			}
			attached, err := isAttached(ctx, c, kind, name, p.PolicyARN)
			switch {
			case err != nil:
				return awsstep.Fail(err, "list the policies of %s %s", kind, name)
			case attached && earlier:
				return awsstep.Result(p, map[string]string{"attached": p.PolicyARN}) // by the earlier attempt
			case attached:
				return action.Skipped(fmt.Sprintf("%s is already attached to %s %s (release will leave it)", arn, kind, name))
			}
			if err := awsstep.Checkpoint(ctx, req, p); err != nil {
				return action.Failed(err, true)
			}
			if kind == revoke.User {
				_, err = c.AttachUserPolicy(ctx, &sdk.AttachUserPolicyInput{UserName: aws.String(name), PolicyArn: aws.String(arn)})
			} else {
				_, err = c.AttachRolePolicy(ctx, &sdk.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(arn)})
			}
			if err != nil {
				return awsstep.Fail(err, "attach %s to %s %s", arn, kind, name)
			}
			return awsstep.Result(p, map[string]string{"attached": arn})
		},
		UndoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			var p denyPrior
			if err := awsstep.Unmarshal(req, &p); err != nil {
				return action.Failed(err, false)
			}
			c, err := client(ctx, env)
			if err != nil {
				return action.Failed(err, false)
			}
			switch {
			case p.Inline && p.Kind == revoke.User:
				_, err = c.DeleteUserPolicy(ctx, &sdk.DeleteUserPolicyInput{UserName: aws.String(p.Name), PolicyName: aws.String(InlineDenyName)})
			case p.Inline:
				_, err = c.DeleteRolePolicy(ctx, &sdk.DeleteRolePolicyInput{RoleName: aws.String(p.Name), PolicyName: aws.String(InlineDenyName)})
			case p.Kind == revoke.User:
				_, err = c.DetachUserPolicy(ctx, &sdk.DetachUserPolicyInput{UserName: aws.String(p.Name), PolicyArn: aws.String(p.PolicyARN)})
			default:
				_, err = c.DetachRolePolicy(ctx, &sdk.DetachRolePolicyInput{RoleName: aws.String(p.Name), PolicyArn: aws.String(p.PolicyARN)})
			}
			if err != nil && cloud.Code(err) != "NoSuchEntity" {
				return awsstep.Fail(err, "remove the deny-all of %s %s", p.Kind, p.Name)
			}
			return action.Done(map[string]string{"released": p.Name})
		},
	}
}

// hasInline reports whether the principal has reflex's inline deny-all.
func hasInline(ctx context.Context, c *sdk.Client, kind revoke.Kind, name string) (bool, error) {
	var err error
	if kind == revoke.User {
		_, err = c.GetUserPolicy(ctx, &sdk.GetUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(InlineDenyName)})
	} else {
		_, err = c.GetRolePolicy(ctx, &sdk.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(InlineDenyName)})
	}
	if cloud.Code(err) == "NoSuchEntity" {
		return false, nil
	}
	return err == nil, err
}

func isAttached(ctx context.Context, c *sdk.Client, kind revoke.Kind, name, arn string) (bool, error) {
	if kind == revoke.User {
		p := sdk.NewListAttachedUserPoliciesPaginator(c, &sdk.ListAttachedUserPoliciesInput{UserName: aws.String(name)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return false, err
			}
			for _, ap := range page.AttachedPolicies {
				if aws.ToString(ap.PolicyArn) == arn {
					return true, nil
				}
			}
		}
		return false, nil
	}
	p := sdk.NewListAttachedRolePoliciesPaginator(c, &sdk.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return false, err
		}
		for _, ap := range page.AttachedPolicies {
			if aws.ToString(ap.PolicyArn) == arn {
				return true, nil
			}
		}
	}
	return false, nil
}

func revokeSessions() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "iam.revoke-sessions", Effect: action.Reversible, Targets: principalKinds,
			Description: "Deny the principal's temporary sessions issued before now (inline policy " + revoke.PolicyName + ", Deny * when aws:TokenIssueTime is earlier). " +
				"For an assumed-role finding it cuts every session of the role. Does not stop long-term keys: deactivate them too. Release removes the policy.",
			Example:    "- step: iam.revoke-sessions",
			IAMActions: []string{"iam:GetUserPolicy", "iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"}},
		PlanFn: func(req *action.Request) []action.Call {
			kind, name := principal(req)
			k := capital(string(kind))
			return []action.Call{{Service: "iam", Action: "Get" + k + "Policy", Target: name, Input: map[string]any{"PolicyName": revoke.PolicyName}},
				{Service: "iam", Action: "Put" + k + "Policy", Target: name, Input: map[string]any{"PolicyName": revoke.PolicyName}, Note: "Deny * when aws:TokenIssueTime < now"}}
		},
		DoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			kind, name := principal(req)
			c, err := client(ctx, env)
			if err != nil {
				return action.Failed(err, false)
			}
			var earlier *revoke.Prior
			if len(req.Prior) > 0 {
				earlier = &revoke.Prior{}
				if err := awsstep.Unmarshal(req, earlier); err != nil {
					return action.Failed(err, false)
				}
			}
			p, err := revoke.Revoke(ctx, c, kind, name, time.Now(), earlier, func(p *revoke.Prior) error { return awsstep.Checkpoint(ctx, req, p) })
			if err != nil {
				return awsstep.Fail(err, "revoke the sessions of %s %s", kind, name)
			}
			return awsstep.Result(p, map[string]string{"revoked_before": p.Issued, string(kind): name})
		},
		UndoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			var p revoke.Prior
			if err := awsstep.Unmarshal(req, &p); err != nil {
				return action.Failed(err, false)
			}
			c, err := client(ctx, env)
			if err != nil {
				return action.Failed(err, false)
			}
			if err := revoke.Restore(ctx, c, &p); err != nil {
				return awsstep.Fail(err, "remove the session revocation of %s %s", p.Kind, p.Name)
			}
			return action.Done(map[string]string{"released": p.Name})
		},
	}
}

func deleteLoginProfile() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "iam.delete-login-profile", Effect: action.Irreversible, Targets: []string{finding.KindUser},
			Description: "Delete the user's console password. The password cannot be restored: approve mode only.",
			Example:     "- step: iam.delete-login-profile",
			IAMActions:  []string{"iam:GetLoginProfile", "iam:DeleteLoginProfile"}},
		PlanFn: func(req *action.Request) []action.Call {
			return []action.Call{{Service: "iam", Action: "GetLoginProfile", Target: req.Target.Name}, {Service: "iam", Action: "DeleteLoginProfile", Target: req.Target.Name}}
		},
		DoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			user := req.Target.Name
			c, err := client(ctx, env)
			if err != nil {
				return action.Failed(err, false)
			}
			if _, err := c.GetLoginProfile(ctx, &sdk.GetLoginProfileInput{UserName: aws.String(user)}); err != nil {
				if cloud.Code(err) == "NoSuchEntity" {
					return action.Skipped(user + " has no console password")
				}
				return awsstep.Fail(err, "read the login profile of %s", user)
			}
			if _, err := c.DeleteLoginProfile(ctx, &sdk.DeleteLoginProfileInput{UserName: aws.String(user)}); err != nil && cloud.Code(err) != "NoSuchEntity" {
				return awsstep.Fail(err, "delete the login profile of %s", user)
			}
			return awsstep.Result(map[string]string{"user": user}, map[string]string{"deleted_login_profile": user})
		},
		UndoFn: func(context.Context, awsstep.Env, *action.Request) action.Result {
			return action.Skipped("cannot be undone: the console password is gone (set a new one with iam:CreateLoginProfile)")
		},
	}
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
