package setup

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// IAM is the part of the IAM API setup uses for reflex's role.
type IAM interface {
	GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	CreateRole(context.Context, *iam.CreateRoleInput, ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	UpdateRole(context.Context, *iam.UpdateRoleInput, ...func(*iam.Options)) (*iam.UpdateRoleOutput, error)
	UpdateAssumeRolePolicy(context.Context, *iam.UpdateAssumeRolePolicyInput, ...func(*iam.Options)) (*iam.UpdateAssumeRolePolicyOutput, error)
	GetRolePolicy(context.Context, *iam.GetRolePolicyInput, ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(context.Context, *iam.PutRolePolicyInput, ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	DeleteRolePolicy(context.Context, *iam.DeleteRolePolicyInput, ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
}

// trustPolicy lets Lambda functions of this account (only) assume the role.
func (u *run) trustPolicy() string {
	b, _ := json.Marshal(PolicyDocument{Version: "2012-10-17", Statement: []Statement{{
		Effect: "Allow", Principal: map[string]any{"Service": "lambda.amazonaws.com"}, Action: "sts:AssumeRole",
		Condition: map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": u.account}},
	}}})
	return string(b)
}

// runtimePolicy is what the runtime itself needs beyond the response steps:
// the module's "baseline" document, Statement for statement.
func (u *run) runtimePolicy(queue, dlq, topic, table string) string {
	sts := []Statement{
		{Sid: "Logs", Effect: "Allow", Action: []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resource: u.arn("logs", "log-group:"+u.logGroupName()+":*")},
		{Sid: "DeadLetters", Effect: "Allow", Action: "sqs:SendMessage", Resource: dlq},
	}
	if queue != "" {
		sts = append(sts, Statement{Sid: "DrainFindings", Effect: "Allow",
			Action:   []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"},
			Resource: queue})
	}
	if table != "" {
		sts = append(sts, Statement{Sid: "Ledger", Effect: "Allow",
			Action: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query",
				"dynamodb:BatchWriteItem", "dynamodb:TransactWriteItems", "dynamodb:DescribeTable"},
			Resource: []string{table, table + "/index/*"}})
	}
	if topic != "" {
		sts = append(sts, Statement{Sid: "Notify", Effect: "Allow", Action: "sns:Publish", Resource: topic})
	}
	if p := u.w.ConfigSSMParameter; p != "" {
		sts = append(sts, Statement{Sid: "Configuration", Effect: "Allow", Action: "ssm:GetParameter",
			Resource: u.arn("ssm", "parameter/"+strings.TrimPrefix(p, "/"))})
	}
	if len(u.w.MemberRoleARNs) > 0 {
		sts = append(sts, Statement{Sid: "MemberAccounts", Effect: "Allow", Action: "sts:AssumeRole", Resource: u.w.MemberRoleARNs})
	}
	b, _ := json.Marshal(PolicyDocument{Version: "2012-10-17", Statement: sts})
	return string(b)
}

// hasStatements reports whether a policy document has any statement.
func hasStatements(doc string) bool {
	var d struct{ Statement json.RawMessage }
	if json.Unmarshal([]byte(doc), &d) != nil {
		return false
	}
	s := strings.TrimSpace(string(d.Statement))
	return s != "" && s != "null" && s != "[]"
}

// role makes sure reflex's role exists, trusts Lambda in this account, and
// carries exactly the wanted inline policies; it returns its ARN.
func (u *run) role(ctx context.Context, runtimePolicy string) (string, error) {
	if u.IAM == nil {
		return "", fmt.Errorf("setup: no IAM client")
	}
	name, trust := u.w.Name, u.trustPolicy()
	cur, err := u.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	switch {
	case errCode(err) == "NoSuchEntity":
		var tags []iamtypes.Tag
		for _, k := range u.tagKeys() {
			tags = append(tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(u.w.Tags[k])})
		}
		u.created["role"] = true
		if err := u.change(u.r, Change{Service: "iam", Action: "CreateRole", Target: name, Why: "the role does not exist",
			Input: map[string]any{"AssumeRolePolicyDocument": trust, "Description": roleDescription}},
			func() error {
				_, err := u.IAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust),
					Description: aws.String(roleDescription), Tags: tags})
				return err
			}); err != nil {
			return "", err
		}
	case err != nil:
		return "", apiErr("iam", "GetRole", name, err)
	default:
		if arn := aws.ToString(cur.Role.Arn); arn != u.roleARN() {
			return "", fmt.Errorf("role %s is %s, not %s: choose another --name", name, arn, u.roleARN())
		}
		doc, _ := url.QueryUnescape(aws.ToString(cur.Role.AssumeRolePolicyDocument))
		same := true
		if !sameJSON(doc, trust) {
			same = false
			if err := u.change(u.r, Change{Service: "iam", Action: "UpdateAssumeRolePolicy", Target: name,
				Why: "its trust policy is not Lambda's of this account", Input: map[string]any{"PolicyDocument": trust}},
				func() error {
					_, err := u.IAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(trust)})
					return err
				}); err != nil {
				return "", err
			}
		}
		if d := aws.ToString(cur.Role.Description); d != roleDescription {
			same = false
			if err := u.change(u.r, Change{Service: "iam", Action: "UpdateRole", Target: name,
				Why: fmt.Sprintf("its description is %q", d), Input: map[string]any{"Description": roleDescription}},
				func() error {
					_, err := u.IAM.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String(name), Description: aws.String(roleDescription)})
					return err
				}); err != nil {
				return "", err
			}
		}
		if same {
			u.r.Unchanged = append(u.r.Unchanged, "iam role "+name)
		}
	}
	response := ""
	if hasStatements(u.w.ResponsePolicy) {
		response = u.w.ResponsePolicy
	}
	for _, p := range []struct{ name, doc, what string }{
		{name + "-response", response, "the configuration's steps (reflex iam-policy)"},
		{name + "-runtime", runtimePolicy, "the runtime's own needs"},
	} {
		if err := u.rolePolicy(ctx, p.name, p.doc, p.what); err != nil {
			return "", err
		}
	}
	return u.roleARN(), nil
}

// rolePolicy makes the role's inline policy pname hold doc ("" removes it).
func (u *run) rolePolicy(ctx context.Context, pname, doc, what string) error {
	role := u.w.Name
	cur := ""
	exists := false
	if !u.created["role"] {
		out, err := u.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(pname)})
		switch {
		case errCode(err) == "NoSuchEntity":
		case err != nil:
			return apiErr("iam", "GetRolePolicy", role+"/"+pname, err)
		default:
			exists = true
			cur, _ = url.QueryUnescape(aws.ToString(out.PolicyDocument))
		}
	}
	target := role + "/" + pname
	switch {
	case doc == "" && !exists:
		return nil
	case doc == "":
		return u.change(u.r, Change{Service: "iam", Action: "DeleteRolePolicy", Target: target, Why: "the configuration's steps need no permission"},
			func() error {
				_, err := u.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(pname)})
				return err
			})
	case exists && sameJSON(cur, doc):
		u.r.Unchanged = append(u.r.Unchanged, "iam role policy "+target)
		return nil
	}
	why := "the role has no policy for " + what
	if exists {
		why = "its policy for " + what + " differs from the configuration's"
	}
	return u.change(u.r, Change{Service: "iam", Action: "PutRolePolicy", Target: target, Why: why, Input: map[string]any{"PolicyDocument": doc}},
		func() error {
			_, err := u.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(pname), PolicyDocument: aws.String(doc)})
			return err
		})
}
