package awstest_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/internal/awstest"
	"github.com/reflexsec/reflex/internal/sandbox"
)

// do runs one step directly on the first target of its kinds in f.
func do(t *testing.T, ctx context.Context, name string, f *finding.Finding, params map[string]any) (*action.Request, action.Result) {
	t.Helper()
	st, ok := action.NewRegistry().Lookup(name)
	if !ok {
		t.Fatalf("%s not registered", name)
	}
	p, errs := action.ParseParams(st.Spec(), params)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	targets := action.TargetsOf(st.Spec(), f)
	if len(targets) == 0 {
		t.Fatalf("%s: no target in the finding", name)
	}
	req := &action.Request{Key: f.Key().String() + "|" + name + "|" + action.TargetID(targets[0]), Finding: f, Target: targets[0], Params: p}
	return req, st.Do(ctx, req)
}

func undo(t *testing.T, ctx context.Context, name string, req *action.Request, res action.Result) action.Result {
	t.Helper()
	st, _ := action.NewRegistry().Lookup(name)
	r := *req
	r.Prior = res.Prior
	return st.Undo(ctx, &r)
}

func want(t *testing.T, res action.Result, status action.Status, reason string) {
	t.Helper()
	if res.Status != status || !strings.Contains(res.Reason, reason) {
		t.Fatalf("result %s %q, want %s containing %q", res.Status, res.Reason, status, reason)
	}
}

func TestFindingSteps(t *testing.T) {
	env := start(t)
	ctx := env.Context(context.Background())
	f := findings(t, "ec2")[0]
	// GuardDuty: archive, then release unarchives
	req, res := do(t, ctx, "guardduty.archive", f, nil)
	want(t, res, action.StatusDone, "")
	if g, _ := env.Cloud.Finding(sandbox.Prod, sandbox.Region, f.ID); g["service"].(map[string]any)["archived"] != true {
		t.Fatalf("not archived: %v", g["service"])
	}
	_, again := do(t, ctx, "guardduty.archive", f, nil)
	want(t, again, action.StatusSkipped, "already archived")
	want(t, undo(t, ctx, "guardduty.archive", req, res), action.StatusDone, "")
	if g, _ := env.Cloud.Finding(sandbox.Prod, sandbox.Region, f.ID); g["service"].(map[string]any)["archived"] == true {
		t.Fatal("still archived after release")
	}
	_, res = do(t, ctx, "guardduty.feedback", f, map[string]any{"feedback": "USEFUL"})
	want(t, res, action.StatusDone, "")

	// Security Hub: not imported yet → skipped, honestly; imported → workflow and note
	_, res = do(t, ctx, "securityhub.update", f, nil)
	want(t, res, action.StatusSkipped, "not in Security Hub")
	cfg, _ := env.Clients.Config(ctx, sandbox.Prod, sandbox.Region)
	product := "arn:aws:securityhub:us-east-1::product/aws/guardduty"
	now := "2026-01-01T00:00:00Z"
	_, err := securityhub.NewFromConfig(cfg).BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{{
		SchemaVersion: aws.String("2018-10-08"), Id: aws.String(f.ARN), ProductArn: aws.String(product), GeneratorId: aws.String("guardduty"),
		AwsAccountId: aws.String(sandbox.Prod), CreatedAt: aws.String(now), UpdatedAt: aws.String(now), Title: aws.String(f.Title),
		Description: aws.String("x"), Severity: &shtypes.Severity{Label: "HIGH"}, Types: []string{"TTPs"},
		Resources: []shtypes.Resource{{Type: aws.String("AwsEc2Instance"), Id: aws.String(sandbox.Instance)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	req, res = do(t, ctx, "findings.update", f, map[string]any{"workflow": "RESOLVED", "note": "contained by reflex"})
	want(t, res, action.StatusDone, "")
	h, _ := env.Cloud.HubFinding(sandbox.Prod, sandbox.Region, product, f.ARN)
	if h["Workflow"].(map[string]any)["Status"] != "RESOLVED" || !strings.Contains(h["Note"].(map[string]any)["Text"].(string), "contained by reflex") {
		t.Fatalf("hub finding: %v %v", h["Workflow"], h["Note"])
	}
	want(t, undo(t, ctx, "findings.update", req, res), action.StatusDone, "")
	h, _ = env.Cloud.HubFinding(sandbox.Prod, sandbox.Region, product, f.ARN)
	// the status it had; it had no note, which Security Hub cannot remove: reflex's release note says so
	if h["Workflow"].(map[string]any)["Status"] != "NEW" || !strings.Contains(h["Note"].(map[string]any)["Text"].(string), "released") {
		t.Fatalf("after release: %v %v", h["Workflow"], h["Note"])
	}
}

func TestInstanceCredentialsAndStop(t *testing.T) {
	env := start(t)
	ctx := env.Context(context.Background())
	f := findings(t, "ec2")[0]
	// stop is refused while the evidence is not captured for this finding
	_, res := do(t, ctx, "ec2.stop", f, nil)
	want(t, res, action.StatusFailed, "refused")
	if res.Retry {
		t.Error("a refusal is not retryable")
	}
	if in, _ := env.Cloud.Instance(sandbox.Prod, sandbox.Region, sandbox.Instance); in.State != "running" {
		t.Fatalf("state %s", in.State)
	}
	// the profile replaced by the quarantine one, the role's older sessions revoked
	req, res := do(t, ctx, "ec2.revoke-instance-credentials", f, map[string]any{"replace_with": "quarantine-profile", "revoke_role_sessions": true})
	want(t, res, action.StatusDone, "")
	in, _ := env.Cloud.Instance(sandbox.Prod, sandbox.Region, sandbox.Instance)
	inline, _, _ := env.Cloud.PrincipalPolicies(sandbox.Prod, "role", "web-role")
	if !strings.HasSuffix(in.InstanceProfileARN, "/quarantine-profile") || !strings.Contains(inline["reflex-revoke-older-sessions"], "aws:TokenIssueTime") {
		t.Fatalf("profile %s, web-role inline %v", in.InstanceProfileARN, inline)
	}
	want(t, undo(t, ctx, "ec2.revoke-instance-credentials", req, res), action.StatusDone, "")
	in, _ = env.Cloud.Instance(sandbox.Prod, sandbox.Region, sandbox.Instance)
	inline, _, _ = env.Cloud.PrincipalPolicies(sandbox.Prod, "role", "web-role")
	if !strings.HasSuffix(in.InstanceProfileARN, "/web-profile") || len(inline) != 0 || in.Tags["reflex:prior-profile"] != "" {
		t.Fatalf("after release: profile %s, inline %v, tags %v", in.InstanceProfileARN, inline, in.Tags)
	}
	// capture, then stop; stop cannot be undone
	_, res = do(t, ctx, "ec2.capture-evidence", f, nil)
	want(t, res, action.StatusDone, "")
	var ev struct {
		NetworkInterfaces []any  `json:"network_interfaces"`
		Volumes           []any  `json:"volumes"`
		ASG               string `json:"autoscaling_group"`
		TGs               []any  `json:"target_groups"`
		Console           string `json:"console_output"`
	}
	json.Unmarshal(res.Output, &ev)
	if len(ev.NetworkInterfaces) != 2 || len(ev.Volumes) != 3 || ev.ASG != sandbox.ASG || len(ev.TGs) != 2 || !strings.Contains(ev.Console, "web-1 login") {
		t.Fatalf("evidence: %d interfaces, %d volumes, asg %q, %d target groups, console %q", len(ev.NetworkInterfaces), len(ev.Volumes), ev.ASG, len(ev.TGs), ev.Console)
	}
	req, res = do(t, ctx, "ec2.stop", f, nil)
	want(t, res, action.StatusDone, "")
	if in, _ := env.Cloud.Instance(sandbox.Prod, sandbox.Region, sandbox.Instance); in.State != "stopped" && in.State != "stopping" {
		t.Fatalf("state %s", in.State)
	}
	want(t, undo(t, ctx, "ec2.stop", req, res), action.StatusSkipped, "cannot be undone")
}

func TestIAMSteps(t *testing.T) {
	env := start(t)
	ctx := env.Context(context.Background())
	f := findings(t, "iam-user")[0]
	before, _ := env.Snapshot(ctx)
	req, res := do(t, ctx, "iam.deactivate-key", f, nil)
	want(t, res, action.StatusDone, "")
	if s, _ := env.Cloud.AccessKeyStatus(sandbox.Prod, sandbox.User, sandbox.OtherKey); s != "Active" {
		t.Fatal("the user's other key was touched")
	}
	_, again := do(t, ctx, "iam.deactivate-key", f, nil)
	want(t, again, action.StatusSkipped, "already inactive")
	want(t, undo(t, ctx, "iam.deactivate-key", req, res), action.StatusDone, "")
	dreq, dres := do(t, ctx, "iam.deny-all", f, map[string]any{"inline": true})
	want(t, dres, action.StatusDone, "")
	if inline, _, _ := env.Cloud.PrincipalPolicies(sandbox.Prod, "user", sandbox.User); !strings.Contains(inline["reflex-deny-all"], `"Deny"`) {
		t.Fatalf("inline deny: %v", inline)
	}
	want(t, undo(t, ctx, "iam.deny-all", dreq, dres), action.StatusDone, "")
	_, lres := do(t, ctx, "iam.delete-login-profile", f, nil)
	want(t, lres, action.StatusDone, "")
	if env.Cloud.HasLoginProfile(sandbox.Prod, sandbox.User) {
		t.Fatal("login profile still there")
	}
	_, lres2 := do(t, ctx, "iam.delete-login-profile", f, nil)
	want(t, lres2, action.StatusSkipped, "no console password")
	want(t, undo(t, ctx, "iam.delete-login-profile", req, lres), action.StatusSkipped, "cannot be undone")
	after, _ := env.Snapshot(ctx)
	d := awstest.Diff(before, after)
	if len(d) != 1 || !strings.Contains(d[0], "login-profile: true → false") {
		t.Fatalf("after undo: %v", d)
	}
}

// TestSampleFindingsAreNotActedOn: a GuardDuty sample's placeholders are
// skipped by every step that would act on them, and planning makes no call.
func TestSampleFindingsAreNotActedOn(t *testing.T) {
	env := start(t)
	ctx := env.Context(context.Background())
	fs, errs := finding.ParseBytes("sample", []byte(`{"schemaVersion":"2.0","accountId":"111111111111","region":"us-east-1","id":"s1","type":"UnauthorizedAccess:EC2/TorClient","severity":8,
"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","title":"t","description":"d",
"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-99999999"},"accessKeyDetails":{"accessKeyId":"GeneratedFindingAccessKeyId","userName":"GeneratedFindingUserName","userType":"IAMUser"}},
"service":{"serviceName":"guardduty","count":1,"additionalInfo":{"sample":true}}}`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	f := fs[0]
	env.Cloud.ResetCalls()
	for _, name := range []string{"ec2.contain", "ec2.isolate", "ec2.snapshot", "ec2.stop"} {
		_, res := do(t, ctx, name, f, nil)
		want(t, res, action.StatusSkipped, "placeholder")
	}
	_, res := do(t, ctx, "iam.deactivate-key", f, nil)
	want(t, res, action.StatusSkipped, "placeholder")
	reg := action.NewRegistry()
	for _, spec := range reg.Specs() {
		st, _ := reg.Lookup(spec.Name)
		p, _ := action.ParseParams(spec, map[string]any{"dir": "/tmp"})
		for _, tg := range action.TargetsOf(spec, findings(t, "ec2")[0]) {
			calls, err := st.Plan(ctx, &action.Request{Key: "k", Finding: findings(t, "ec2")[0], Target: tg, Params: p})
			if err != nil || (len(calls) == 0 && spec.Name != "findings.update") { // findings.update with no parameter does nothing
				t.Errorf("%s: plan %v %v", spec.Name, calls, err)
			}
		}
	}
	if n := len(env.Cloud.Calls()); n != 0 {
		t.Errorf("%d AWS calls for samples and plans, want none", n)
	}
}
