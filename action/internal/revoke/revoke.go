// Package revoke puts and removes the inline policy that denies a user's
// or role's sessions issued before a time (aws:TokenIssueTime), the
// mechanism of IAM's "revoke active sessions"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html).
package revoke

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/reflexsec/reflex/cloud"
)

// PolicyName is the inline policy reflex writes.
const PolicyName = "reflex-revoke-older-sessions"

// Sid marks reflex's statement.
const Sid = "ReflexRevokeOlderSessions"

// Kind of principal.
type Kind string

// Kinds.
const (
	User Kind = "user"
	Role Kind = "role"
)

// Prior is what Revoke replaced: the previous document of the same-named
// policy ("" when there was none), and the time before which sessions are
// denied.
type Prior struct {
	Kind     Kind   `json:"kind"`
	Name     string `json:"name"`
	Previous string `json:"previous_document,omitempty"`
	Issued   string `json:"revoked_before"`
}

// Document is the deny policy for sessions issued before t.
func Document(t time.Time) string {
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid": Sid, "Effect": "Deny", "Action": "*", "Resource": "*",
			"Condition": map[string]any{"DateLessThan": map[string]any{"aws:TokenIssueTime": t.UTC().Format(time.RFC3339)}},
		}},
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// get returns the policy document ("" when absent).
func get(ctx context.Context, c *iam.Client, kind Kind, name string) (string, error) {
	var doc *string
	var err error
	if kind == User {
		var out *iam.GetUserPolicyOutput
		out, err = c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(PolicyName)})
		if err == nil {
			doc = out.PolicyDocument
		}
	} else {
		var out *iam.GetRolePolicyOutput
		out, err = c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(PolicyName)})
		if err == nil {
			doc = out.PolicyDocument
		}
	}
	if cloud.Code(err) == "NoSuchEntity" {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	s := aws.ToString(doc)
	if u, uerr := url.QueryUnescape(s); uerr == nil {
		s = u
	}
	return s, nil
}

func put(ctx context.Context, c *iam.Client, kind Kind, name, doc string) error {
	var err error
	if kind == User {
		_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(PolicyName), PolicyDocument: aws.String(doc)})
	} else {
		_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(PolicyName), PolicyDocument: aws.String(doc)})
	}
	return err
}

// Revoke denies the principal's sessions issued before now. The policy's
// document before (another revocation's, when reflex revoked the
// principal's sessions for an earlier finding) is the prior state, which
// checkpoint journals before the policy is put. earlier is the prior state
// an earlier attempt checkpointed (nil when none): it stays the prior state,
// its time is kept, and the policy is put again only if that attempt's put
// did not land.
func Revoke(ctx context.Context, c *iam.Client, kind Kind, name string, now time.Time, earlier *Prior, checkpoint func(*Prior) error) (*Prior, error) {
	cur, err := get(ctx, c, kind, name)
	if err != nil {
		return nil, err
	}
	p := earlier
	if p == nil {
		p = &Prior{Kind: kind, Name: name, Previous: cur, Issued: now.UTC().Format(time.RFC3339)}
	}
	at, err := time.Parse(time.RFC3339, p.Issued)
	if err != nil {
		return nil, fmt.Errorf("the recorded revocation time %q: %w", p.Issued, err)
	}
	if strings.Contains(cur, Sid) && strings.Contains(cur, p.Issued) {
		return p, nil // in place: this attempt's time, put by an earlier attempt
	}
	if err := checkpoint(p); err != nil {
		return nil, err
	}
	if err := put(ctx, c, kind, name, Document(at)); err != nil {
		return nil, fmt.Errorf("put %s on %s %s: %w", PolicyName, kind, name, err)
	}
	return p, nil
}

// Restore removes reflex's policy, or puts back the one it replaced.
func Restore(ctx context.Context, c *iam.Client, p *Prior) error {
	if p.Previous != "" {
		return put(ctx, c, p.Kind, p.Name, p.Previous)
	}
	var err error
	if p.Kind == User {
		_, err = c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String(p.Name), PolicyName: aws.String(PolicyName)})
	} else {
		_, err = c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(p.Name), PolicyName: aws.String(PolicyName)})
	}
	if cloud.Code(err) == "NoSuchEntity" {
		return nil
	}
	return err
}
