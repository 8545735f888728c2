package contract

import (
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

const (
	docListAccessKeys   = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAccessKeys.html"
	docGetUser          = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetUser.html"
	docGetRole          = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html"
	docRoleType         = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_Role.html"
	docPutRolePolicy    = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html"
	docGetRolePolicy    = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRolePolicy.html"
	docDeleteRolePolicy = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRolePolicy.html"
	docDetachRolePolicy = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_DetachRolePolicy.html"
	docManagedPolicies  = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html#aws-managed-policies"
)

// denyAll is the kind of inline policy iam.deny-all puts on a role.
const denyAll = `{"Version":"2012-10-17","Statement":[{"Sid":"ReflexDenyAll","Effect":"Deny","Action":"*","Resource":"*",` +
	`"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-01-02T03:04:05Z"}}}]}`

func iamChecks() []check {
	return []check{
		{name: "iam/ListAccessKeys lists each of the user's keys", doc: docListAccessKeys, run: func(t *testing.T, e *env) {
			user := unique("alice")
			ids := e.fix.user(t, user, 2)
			out, err := iamClient(e.cfg).ListAccessKeys(t.Context(), &iam.ListAccessKeysInput{UserName: aws.String(user)})
			must(t, "ListAccessKeys", err)
			var got []string
			for _, k := range out.AccessKeyMetadata {
				got = append(got, aws.ToString(k.AccessKeyId))
				if aws.ToString(k.UserName) != user || k.Status != iamtypes.StatusTypeActive || k.CreateDate == nil {
					t.Errorf("key %s: user %q status %q created %v, want %q Active and a creation date",
						aws.ToString(k.AccessKeyId), aws.ToString(k.UserName), k.Status, k.CreateDate, user)
				}
			}
			slices.Sort(got)
			slices.Sort(ids)
			if !slices.Equal(got, ids) {
				t.Errorf("keys = %v, want %v", got, ids)
			}
			if out.IsTruncated {
				t.Error("IsTruncated for two keys")
			}
		}},
		{name: "iam/ListAccessKeys of a missing user fails NoSuchEntity", doc: docListAccessKeys, run: func(t *testing.T, e *env) {
			_, err := iamClient(e.cfg).ListAccessKeys(t.Context(), &iam.ListAccessKeysInput{UserName: aws.String(unique("nobody"))})
			wantAs[*iamtypes.NoSuchEntityException](t, err)
		}},
		{name: "iam/GetUser of a missing user fails NoSuchEntity", doc: docGetUser, run: func(t *testing.T, e *env) {
			_, err := iamClient(e.cfg).GetUser(t.Context(), &iam.GetUserInput{UserName: aws.String(unique("nobody"))})
			wantAs[*iamtypes.NoSuchEntityException](t, err)
		}},
		{name: "iam/GetRole returns the role with its ARN in the caller's account", doc: docRoleType,
			kumo: "kumo's IAM writes account 123456789012 into role ARNs while its STS, SQS, SNS, EC2 and ELBv2 answer for account 000000000000",
			run: func(t *testing.T, e *env) {
				role := unique("getrole")
				e.fix.role(t, role, trustAccount(t, e.account, ""))
				r := getRole(t, e, role)
				if aws.ToString(r.Arn) != roleARN(e, role) || aws.ToString(r.RoleName) != role || !strings.HasPrefix(aws.ToString(r.RoleId), "AROA") {
					t.Errorf("role = %s %s %s, want %s %s AROA…", aws.ToString(r.Arn), aws.ToString(r.RoleName), aws.ToString(r.RoleId), roleARN(e, role), role)
				}
			}},
		{name: "iam/GetRole returns the trust policy URL-encoded", doc: docRoleType, kumo: kumoIAMEncoding, run: func(t *testing.T, e *env) {
			role := unique("trust")
			trust := trustAccount(t, e.account, "")
			e.fix.role(t, role, trust)
			got := aws.ToString(getRole(t, e, role).AssumeRolePolicyDocument)
			wantURLEncoded(t, "AssumeRolePolicyDocument", got)
			wantPolicy(t, "AssumeRolePolicyDocument", got, trust)
		}},
		{name: "iam/GetRole of a missing role fails NoSuchEntity", doc: docGetRole, run: func(t *testing.T, e *env) {
			_, err := iamClient(e.cfg).GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(unique("norole"))})
			wantAs[*iamtypes.NoSuchEntityException](t, err)
		}},
		{name: "iam/PutRolePolicy stores an inline policy that GetRolePolicy and ListRolePolicies return", doc: docPutRolePolicy, run: func(t *testing.T, e *env) {
			role := unique("deny")
			e.fix.role(t, role, trustAccount(t, e.account, ""))
			putRolePolicy(t, e, role, "reflex-deny-all", denyAll)
			wantPolicy(t, "PolicyDocument", getRolePolicy(t, e, role, "reflex-deny-all"), denyAll)
			wantRolePolicies(t, e, role, "reflex-deny-all")
		}},
		{name: "iam/GetRolePolicy returns the document URL-encoded", doc: docGetRolePolicy, kumo: kumoIAMEncoding, run: func(t *testing.T, e *env) {
			role := unique("encoded")
			e.fix.role(t, role, trustAccount(t, e.account, ""))
			putRolePolicy(t, e, role, "reflex-deny-all", denyAll)
			wantURLEncoded(t, "PolicyDocument", getRolePolicy(t, e, role, "reflex-deny-all"))
		}},
		{name: "iam/PutRolePolicy replaces a policy of the same name", doc: docPutRolePolicy, run: func(t *testing.T, e *env) {
			role := unique("replace")
			e.fix.role(t, role, trustAccount(t, e.account, ""))
			first := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
			putRolePolicy(t, e, role, "p", first)
			putRolePolicy(t, e, role, "p", denyAll)
			wantPolicy(t, "PolicyDocument", getRolePolicy(t, e, role, "p"), denyAll)
			wantRolePolicies(t, e, role, "p")
		}},
		{name: "iam/PutRolePolicy on a missing role fails NoSuchEntity", doc: docPutRolePolicy, run: func(t *testing.T, e *env) {
			_, err := iamClient(e.cfg).PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{RoleName: aws.String(unique("norole")),
				PolicyName: aws.String("p"), PolicyDocument: aws.String(denyAll)})
			wantAs[*iamtypes.NoSuchEntityException](t, err)
		}},
		{name: "iam/PutRolePolicy with a document that is not JSON fails MalformedPolicyDocument", doc: docPutRolePolicy,
			kumo: "kumo stores any PolicyDocument without parsing it", run: func(t *testing.T, e *env) {
				role := unique("malformed")
				e.fix.role(t, role, trustAccount(t, e.account, ""))
				_, err := iamClient(e.cfg).PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{RoleName: aws.String(role),
					PolicyName: aws.String("p"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[`)})
				wantAs[*iamtypes.MalformedPolicyDocumentException](t, err)
			}},
		{name: "iam/AttachRolePolicy attaches an AWS managed policy; detaching one that is not attached fails NoSuchEntity", doc: docDetachRolePolicy,
			kumo: "kumo has no AWS managed policies: attaching arn:aws:iam::aws:policy/AWSDenyAll fails NoSuchEntity " +
				"(AWS managed policies exist in every account: " + docManagedPolicies + ")", run: func(t *testing.T, e *env) {
				role := unique("attach")
				e.fix.role(t, role, trustAccount(t, e.account, ""))
				c := iamClient(e.cfg)
				// The policy iam.attach-policy puts on a compromised principal.
				const denyAll = "arn:aws:iam::aws:policy/AWSDenyAll"
				_, err := c.AttachRolePolicy(t.Context(), &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(denyAll)})
				must(t, "AttachRolePolicy", err)
				out, err := c.ListAttachedRolePolicies(t.Context(), &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
				must(t, "ListAttachedRolePolicies", err)
				if len(out.AttachedPolicies) != 1 || aws.ToString(out.AttachedPolicies[0].PolicyArn) != denyAll ||
					aws.ToString(out.AttachedPolicies[0].PolicyName) != "AWSDenyAll" {
					t.Errorf("attached = %+v, want AWSDenyAll", out.AttachedPolicies)
				}
				_, err = c.DetachRolePolicy(t.Context(), &iam.DetachRolePolicyInput{RoleName: aws.String(role),
					PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")})
				wantAs[*iamtypes.NoSuchEntityException](t, err)
			}},
		{name: "iam/DeleteRolePolicy removes the policy; deleting it again fails NoSuchEntity", doc: docDeleteRolePolicy, run: func(t *testing.T, e *env) {
			role := unique("undeny")
			e.fix.role(t, role, trustAccount(t, e.account, ""))
			putRolePolicy(t, e, role, "reflex-deny-all", denyAll)
			c := iamClient(e.cfg)
			in := &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String("reflex-deny-all")}
			_, err := c.DeleteRolePolicy(t.Context(), in)
			must(t, "DeleteRolePolicy", err)
			_, err = c.GetRolePolicy(t.Context(), &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String("reflex-deny-all")})
			wantAs[*iamtypes.NoSuchEntityException](t, err)
			_, err = c.DeleteRolePolicy(t.Context(), in)
			wantAs[*iamtypes.NoSuchEntityException](t, err)
			wantRolePolicies(t, e, role)
		}},
	}
}

func getRole(t *testing.T, e *env, name string) *iamtypes.Role {
	t.Helper()
	out, err := iamClient(e.cfg).GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(name)})
	must(t, "GetRole", err)
	if out.Role == nil {
		t.Fatal("GetRole returned no role")
	}
	return out.Role
}

func putRolePolicy(t *testing.T, e *env, role, name, doc string) {
	t.Helper()
	_, err := iamClient(e.cfg).PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{RoleName: aws.String(role),
		PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
	must(t, "PutRolePolicy", err)
}

func getRolePolicy(t *testing.T, e *env, role, name string) string {
	t.Helper()
	out, err := iamClient(e.cfg).GetRolePolicy(t.Context(), &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)})
	must(t, "GetRolePolicy", err)
	if aws.ToString(out.RoleName) != role || aws.ToString(out.PolicyName) != name {
		t.Errorf("GetRolePolicy names %s/%s, want %s/%s", aws.ToString(out.RoleName), aws.ToString(out.PolicyName), role, name)
	}
	return aws.ToString(out.PolicyDocument)
}

// kumoIAMEncoding is why the URL-encoding checks are skipped on kumo.
const kumoIAMEncoding = "kumo returns IAM policy documents as plain JSON, not URL-encoded (RFC 3986) as IAM documents; " +
	"a client that decodes them, as AWS's documentation says to, still reads plain JSON unless it holds a % or a +"

// wantURLEncoded checks a policy document is URL-encoded, as IAM returns
// them: none of JSON's structural characters appear as is.
func wantURLEncoded(t *testing.T, field, got string) {
	t.Helper()
	if strings.ContainsAny(got, `{}":`) {
		t.Errorf("%s is not URL-encoded: %s", field, got)
	}
}

// wantPolicy checks that got, URL-decoded (decoding plain JSON without a %
// or a + leaves it as is), is the same JSON document as want.
func wantPolicy(t *testing.T, field, got, want string) {
	t.Helper()
	dec, err := url.QueryUnescape(got)
	if err != nil {
		t.Fatalf("%s: URL-decode: %v", field, err)
	}
	var g, w any
	if err := json.Unmarshal([]byte(dec), &g); err != nil {
		t.Fatalf("%s is not JSON after decoding: %v: %s", field, err, dec)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", field, dec, want)
	}
}

func wantRolePolicies(t *testing.T, e *env, role string, want ...string) {
	t.Helper()
	out, err := iamClient(e.cfg).ListRolePolicies(t.Context(), &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	must(t, "ListRolePolicies", err)
	if !slices.Equal(out.PolicyNames, want) && !(len(out.PolicyNames) == 0 && len(want) == 0) {
		t.Errorf("ListRolePolicies = %v, want %v", out.PolicyNames, want)
	}
}
