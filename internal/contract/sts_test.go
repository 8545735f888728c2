package contract

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

const (
	docGetCallerIdentity = "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"
	docAssumeRole        = "https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html"
	docAssumedRoleUser   = "https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumedRoleUser.html"
	docIAMIdentifiers    = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-prefixes"
	docExternalID        = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html"
)

// kumoSTS is why the STS checks that depend on identity are skipped on kumo.
const kumoSTS = "kumo's STS keeps no identities: GetCallerIdentity always answers the root of account 000000000000 " +
	"whatever the credentials, and AssumeRole issues credentials for any role ARN without looking the role up " +
	"or evaluating its trust policy"

func stsChecks() []check {
	return []check{
		{name: "sts/GetCallerIdentity names the account root for root credentials", doc: docGetCallerIdentity, run: func(t *testing.T, e *env) {
			out, err := stsClient(e.cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
			must(t, "GetCallerIdentity", err)
			if aws.ToString(out.Account) != e.account || aws.ToString(out.Arn) != "arn:aws:iam::"+e.account+":root" {
				t.Errorf("identity = %s %s, want %s arn:aws:iam::%s:root", aws.ToString(out.Account), aws.ToString(out.Arn), e.account, e.account)
			}
		}},
		{name: "sts/AssumeRole returns temporary credentials and the role session's ARN", doc: docAssumedRoleUser, run: func(t *testing.T, e *env) {
			role := unique("assumable")
			e.fix.role(t, role, trustAccount(t, e.account, ""))
			out := assumeRole(t, e, role, "reflex-contract")
			wantARN := "arn:aws:sts::" + e.account + ":assumed-role/" + role + "/reflex-contract"
			if got := aws.ToString(out.AssumedRoleUser.Arn); got != wantARN {
				t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, wantARN)
			}
			c := out.Credentials
			if c == nil || aws.ToString(c.SecretAccessKey) == "" || aws.ToString(c.SessionToken) == "" || c.Expiration == nil {
				t.Fatalf("credentials = %+v, want a key id, a secret, a session token and an expiration", c)
			}
			if id := aws.ToString(c.AccessKeyId); !strings.HasPrefix(id, "ASIA") {
				t.Errorf("AccessKeyId = %q, want the ASIA prefix of temporary keys (%s)", id, docIAMIdentifiers)
			}
		}},
		{name: "sts/AssumeRole's AssumedRoleId is the role's id and the session name", doc: docAssumedRoleUser, kumo: kumoSTS, run: func(t *testing.T, e *env) {
			role := unique("roleid")
			e.fix.role(t, role, trustAccount(t, e.account, ""))
			got, err := iamClient(e.cfg).GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(role)})
			must(t, "GetRole", err)
			out := assumeRole(t, e, role, "reflex-contract")
			if got, want := aws.ToString(out.AssumedRoleUser.AssumedRoleId), aws.ToString(got.Role.RoleId)+":reflex-contract"; got != want {
				t.Errorf("AssumedRoleId = %q, want %q", got, want)
			}
		}},
		{name: "sts/AssumeRole with a one-character session name fails ValidationError", doc: docAssumeRole,
			kumo: "kumo does not check RoleSessionName's documented length (2 to 64 characters)", run: func(t *testing.T, e *env) {
				role := unique("shortname")
				e.fix.role(t, role, trustAccount(t, e.account, ""))
				_, err := stsClient(e.cfg).AssumeRole(t.Context(), &sts.AssumeRoleInput{RoleArn: aws.String(roleARN(e, role)), RoleSessionName: aws.String("s")})
				wantCode(t, err, "ValidationError")
			}},
		{name: "sts/GetCallerIdentity with role credentials names the role session", doc: docGetCallerIdentity, kumo: kumoSTS, run: func(t *testing.T, e *env) {
			role := unique("whoami")
			e.fix.role(t, role, trustAccount(t, e.account, ""))
			out := assumeRole(t, e, role, "s1")
			c := out.Credentials
			cfg := e.cfg.Copy()
			cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
			id, err := stsClient(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
			must(t, "GetCallerIdentity", err)
			if aws.ToString(id.Arn) != aws.ToString(out.AssumedRoleUser.Arn) || aws.ToString(id.Account) != e.account ||
				aws.ToString(id.UserId) != aws.ToString(out.AssumedRoleUser.AssumedRoleId) {
				t.Errorf("identity = %s %s %s, want %s %s %s", aws.ToString(id.Account), aws.ToString(id.Arn), aws.ToString(id.UserId),
					e.account, aws.ToString(out.AssumedRoleUser.Arn), aws.ToString(out.AssumedRoleUser.AssumedRoleId))
			}
		}},
		{name: "sts/AssumeRole of a missing role fails AccessDenied", doc: docAssumeRole, kumo: kumoSTS, run: func(t *testing.T, e *env) {
			_, err := stsClient(e.cfg).AssumeRole(t.Context(), &sts.AssumeRoleInput{RoleArn: aws.String(roleARN(e, unique("missing"))),
				RoleSessionName: aws.String("contract")})
			wantCode(t, err, "AccessDenied")
		}},
		{name: "sts/AssumeRole fails AccessDenied when the trust policy does not name the caller", doc: docAssumeRole, kumo: kumoSTS, run: func(t *testing.T, e *env) {
			role := unique("strangers")
			e.fix.role(t, role, trustAccount(t, "999999999999", ""))
			_, err := stsClient(e.cfg).AssumeRole(t.Context(), &sts.AssumeRoleInput{RoleArn: aws.String(roleARN(e, role)), RoleSessionName: aws.String("contract")})
			wantCode(t, err, "AccessDenied")
		}},
		{name: "sts/AssumeRole honours the trust policy's sts:ExternalId condition", doc: docExternalID, kumo: kumoSTS, run: func(t *testing.T, e *env) {
			role := unique("thirdparty")
			e.fix.role(t, role, trustAccount(t, e.account, "reflex-external-id"))
			for _, tc := range []struct {
				externalID string
				wantErr    bool
			}{{"", true}, {"wrong-id", true}, {"reflex-external-id", false}} {
				in := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN(e, role)), RoleSessionName: aws.String("contract")}
				if tc.externalID != "" {
					in.ExternalId = aws.String(tc.externalID)
				}
				_, err := stsClient(e.cfg).AssumeRole(t.Context(), in)
				if tc.wantErr {
					wantCode(t, err, "AccessDenied")
				} else {
					must(t, "AssumeRole with the external id", err)
				}
			}
		}},
	}
}

func assumeRole(t *testing.T, e *env, role, session string) *sts.AssumeRoleOutput {
	t.Helper()
	out, err := stsClient(e.cfg).AssumeRole(t.Context(), &sts.AssumeRoleInput{RoleArn: aws.String(roleARN(e, role)),
		RoleSessionName: aws.String(session)})
	must(t, "AssumeRole", err)
	if out.AssumedRoleUser == nil {
		t.Fatal("AssumeRole returned no AssumedRoleUser")
	}
	return out
}

// roleARN is the ARN AWS gives a role of that name at path / in the env's
// account.
func roleARN(e *env, name string) string { return "arn:aws:iam::" + e.account + ":role/" + name }

// trustAccount is a trust policy letting the account's principals assume
// the role, with an external id condition when externalID is set.
func trustAccount(t *testing.T, account, externalID string) string {
	t.Helper()
	st := map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::" + account + ":root"}, "Action": "sts:AssumeRole"}
	if externalID != "" {
		st["Condition"] = map[string]any{"StringEquals": map[string]any{"sts:ExternalId": externalID}}
	}
	doc, err := jsonString(map[string]any{"Version": "2012-10-17", "Statement": []any{st}})
	must(t, "trust policy", err)
	return doc
}
