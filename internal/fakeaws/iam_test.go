package fakeaws_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

const (
	aliceKey1 = "AKIAFAKEALICE0000001"
	aliceKey2 = "AKIAFAKEALICE0000002"
)

func TestIAMUsersAndKeys(t *testing.T) {
	srv := newServer(t)
	c := iam.NewFromConfig(srv.Config(prod))
	ctx := context.Background()

	u, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	must(t, err)
	if aws.ToString(u.User.Arn) != "arn:aws:iam::111111111111:user/alice" {
		t.Fatalf("user = %+v", u.User)
	}
	_, err = c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("mallory")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("GetUser unknown: %v, want *NoSuchEntityException", err)
	}

	keys, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice")})
	must(t, err)
	if len(keys.AccessKeyMetadata) != 2 || keys.AccessKeyMetadata[0].Status != iamtypes.StatusTypeActive {
		t.Fatalf("keys = %+v", keys.AccessKeyMetadata)
	}

	// Alice's key works until it is deactivated; her other key keeps working.
	alice := iam.NewFromConfig(srv.ConfigFor(aliceKey1, "fakeaws/alice/secret/00000000000000000001", "", "us-east-1"))
	me, err := alice.GetUser(ctx, &iam.GetUserInput{})
	must(t, err)
	if aws.ToString(me.User.UserName) != "alice" {
		t.Fatalf("GetUser as alice = %+v", me.User)
	}
	_, err = c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String(aliceKey1), Status: iamtypes.StatusTypeInactive})
	must(t, err)
	_, err = alice.GetUser(ctx, &iam.GetUserInput{})
	wantCode(t, err, "InvalidClientTokenId")
	alice2 := sts.NewFromConfig(srv.ConfigFor(aliceKey2, "x", "", "us-east-1"))
	_, err = alice2.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	must(t, err)
	if st, _ := srv.Cloud.AccessKeyStatus(prod, "alice", aliceKey2); st != "Active" {
		t.Fatalf("other key status = %s", st)
	}
	_, err = c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String("AKIANOPE"), Status: iamtypes.StatusTypeInactive})
	if !errors.As(err, &nse) {
		t.Fatalf("UpdateAccessKey unknown key: %v", err)
	}

	// Login profile.
	lp, err := c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("alice")})
	must(t, err)
	if aws.ToString(lp.LoginProfile.UserName) != "alice" {
		t.Fatalf("login profile = %+v", lp.LoginProfile)
	}
	_, err = c.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String("alice")})
	must(t, err)
	_, err = c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("alice")})
	if !errors.As(err, &nse) {
		t.Fatalf("GetLoginProfile after delete: %v", err)
	}
	_, err = c.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String("alice")})
	wantCode(t, err, "NoSuchEntity")
}

const denyOld = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-01-01T00:00:00Z"}}}]}`

func TestIAMPolicies(t *testing.T) {
	srv := newServer(t)
	c := iam.NewFromConfig(srv.Config(prod))
	ctx := context.Background()

	type ops struct {
		put    func(name, doc string) error
		get    func(name string) (string, error)
		del    func(name string) error
		attach func(arn string) error
		detach func(arn string) error
	}
	user, role := "alice", "web-role"
	cases := map[string]ops{
		"user": {
			put: func(n, d string) error {
				_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &user, PolicyName: &n, PolicyDocument: &d})
				return err
			},
			get: func(n string) (string, error) {
				out, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: &user, PolicyName: &n})
				if err != nil {
					return "", err
				}
				return aws.ToString(out.PolicyDocument), nil
			},
			del: func(n string) error {
				_, err := c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: &user, PolicyName: &n})
				return err
			},
			attach: func(a string) error {
				_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: &user, PolicyArn: &a})
				return err
			},
			detach: func(a string) error {
				_, err := c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: &user, PolicyArn: &a})
				return err
			},
		},
		"role": {
			put: func(n, d string) error {
				_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &role, PolicyName: &n, PolicyDocument: &d})
				return err
			},
			get: func(n string) (string, error) {
				out, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &role, PolicyName: &n})
				if err != nil {
					return "", err
				}
				return aws.ToString(out.PolicyDocument), nil
			},
			del: func(n string) error {
				_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &role, PolicyName: &n})
				return err
			},
			attach: func(a string) error {
				_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &role, PolicyArn: &a})
				return err
			},
			detach: func(a string) error {
				_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: &role, PolicyArn: &a})
				return err
			},
		},
	}
	for kind, o := range cases {
		t.Run(kind, func(t *testing.T) {
			must(t, o.put("AWSRevokeOlderSessions", denyOld))
			wantCode(t, o.put("bad", "{not json"), "MalformedPolicyDocument")
			doc, err := o.get("AWSRevokeOlderSessions")
			must(t, err)
			if dec, _ := url.QueryUnescape(doc); dec != denyOld {
				t.Fatalf("document = %q (decoded %q)", doc, dec)
			}
			wantCode(t, func() error { _, err := o.get("nope"); return err }(), "NoSuchEntity")
			must(t, o.attach("arn:aws:iam::aws:policy/AWSDenyAll"))
			wantCode(t, o.attach("not-an-arn"), "InvalidInput")
			name := map[string]string{"user": user, "role": role}[kind]
			inline, attached, _ := srv.Cloud.PrincipalPolicies(prod, kind, name)
			if inline["AWSRevokeOlderSessions"] != denyOld || !slices.Contains(attached, "arn:aws:iam::aws:policy/AWSDenyAll") {
				t.Fatalf("policies = %v %v", inline, attached)
			}
			must(t, o.detach("arn:aws:iam::aws:policy/AWSDenyAll"))
			wantCode(t, o.detach("arn:aws:iam::aws:policy/AWSDenyAll"), "NoSuchEntity")
			must(t, o.del("AWSRevokeOlderSessions"))
			wantCode(t, o.del("AWSRevokeOlderSessions"), "NoSuchEntity")
		})
	}
	_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("nope"), PolicyName: aws.String("p"), PolicyDocument: aws.String(denyOld)})
	wantCode(t, err, "NoSuchEntity")
	lp, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("web-role")})
	must(t, err)
	if len(lp.AttachedPolicies) != 1 || aws.ToString(lp.AttachedPolicies[0].PolicyName) != "AmazonS3ReadOnlyAccess" {
		t.Fatalf("attached = %+v", lp.AttachedPolicies)
	}
}

func TestIAMRolesAndProfiles(t *testing.T) {
	srv := newServer(t)
	c := iam.NewFromConfig(srv.Config(prod))
	ctx := context.Background()
	r, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("reflex-responder")})
	must(t, err)
	if aws.ToString(r.Role.Arn) != "arn:aws:iam::111111111111:role/reflex-responder" || aws.ToString(r.Role.AssumeRolePolicyDocument) == "" {
		t.Fatalf("role = %+v", r.Role)
	}
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("GetRole unknown: %v", err)
	}
	p, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("web-profile")})
	must(t, err)
	if len(p.InstanceProfile.Roles) != 1 || aws.ToString(p.InstanceProfile.Roles[0].RoleName) != "web-role" {
		t.Fatalf("profile = %+v", p.InstanceProfile)
	}
	_, err = c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("nope")})
	wantCode(t, err, "NoSuchEntity")
	// IAM is per account.
	sec := iam.NewFromConfig(srv.Config(security))
	_, err = sec.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	wantCode(t, err, "NoSuchEntity")
}

func TestSTS(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	sec := sts.NewFromConfig(srv.Config(security))

	id, err := sec.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	must(t, err)
	if aws.ToString(id.Account) != security || aws.ToString(id.Arn) != "arn:aws:iam::222222222222:root" {
		t.Fatalf("identity = %+v", id)
	}

	responder := "arn:aws:iam::111111111111:role/reflex-responder"
	tests := []struct {
		name, role, ext, errCode string
		client                   *sts.Client
	}{
		{"right external id", responder, "reflex-external-id", "", sec},
		{"wrong external id", responder, "guess", "AccessDenied", sec},
		{"no external id", responder, "", "AccessDenied", sec},
		{"untrusted account", responder, "reflex-external-id", "AccessDenied", sts.NewFromConfig(srv.Config(prod))},
		{"service-only trust", "arn:aws:iam::111111111111:role/web-role", "", "AccessDenied", sec},
		{"unknown role", "arn:aws:iam::111111111111:role/nope", "", "AccessDenied", sec},
		{"same-account trust by id", "arn:aws:iam::222222222222:role/reflex", "", "", sec},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &sts.AssumeRoleInput{RoleArn: aws.String(tc.role), RoleSessionName: aws.String("reflex-test")}
			if tc.ext != "" {
				in.ExternalId = aws.String(tc.ext)
			}
			_, err := tc.client.AssumeRole(ctx, in)
			wantCode(t, err, tc.errCode)
		})
	}

	// The minted credentials act in the role's account.
	out, err := sec.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(responder), RoleSessionName: aws.String("reflex"), ExternalId: aws.String("reflex-external-id")})
	must(t, err)
	cr := out.Credentials
	cfg := srv.ConfigFor(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken), "us-east-1")
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	must(t, err)
	if aws.ToString(who.Account) != prod || aws.ToString(who.Arn) != "arn:aws:sts::111111111111:assumed-role/reflex-responder/reflex" {
		t.Fatalf("assumed identity = %+v", who)
	}
	di, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{web1}})
	must(t, err)
	if len(di.Reservations) != 1 {
		t.Fatal("assumed role cannot see the prod instance")
	}
	// Without the session token the key is refused.
	noTok := srv.ConfigFor(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), "", "us-east-1")
	_, err = sts.NewFromConfig(noTok).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
	// Unknown keys are refused in each protocol's way.
	bad := srv.ConfigFor("AKIAUNKNOWN000000000", "x", "", "us-east-1")
	_, err = sts.NewFromConfig(bad).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
	_, err = ec2.NewFromConfig(bad).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	wantCode(t, err, "AuthFailure")
	_, err = sec.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(responder), RoleSessionName: aws.String("x"), ExternalId: aws.String("reflex-external-id")})
	wantCode(t, err, "ValidationError")
}
