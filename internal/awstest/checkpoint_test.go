package awstest_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/reflexsec/reflex/cloud"
	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/internal/awstest"
	"github.com/reflexsec/reflex/internal/sandbox"
	"github.com/reflexsec/reflex/store"
)

// TestKillBetweenCallAndLedger kills each IAM, S3 and finding step (and
// ec2.contain in each of its rounds) at the worst point: its mutating call has succeeded, the ledger has not recorded
// the step's result (the run's context is cancelled as the answer arrives,
// so the step's end is never written, as after a SIGKILL). Then either
// release at once, or run again and release: the step's checkpoint, written
// before the call, lets release restore the state before, field by field;
// the re-run does not repeat the call; and a run after the release does
// not contain again.
func TestKillBetweenCallAndLedger(t *testing.T) {
	for _, tc := range []struct {
		step, params, finding, op string
		hub                       bool // a Security Hub copy of the finding, with an analyst's note
	}{
		{step: "iam.deactivate-key", finding: "iam-user", op: "UpdateAccessKey"},
		{step: "iam.deny-all", finding: "iam-user", op: "AttachUserPolicy"},
		{step: "iam.deny-all", params: "{inline: true}", finding: "assumed-role", op: "PutRolePolicy"},
		{step: "iam.revoke-sessions", finding: "assumed-role", op: "PutRolePolicy"},
		{step: "s3.block-public-access", finding: "s3", op: "PutPublicAccessBlock"},
		{step: "guardduty.archive", finding: "ec2", op: "ArchiveFindings"},
		{step: "securityhub.update", params: "{workflow: RESOLVED}", finding: "ec2", op: "BatchUpdateFindings", hub: true},
		{step: "findings.update", params: "{archive: true, workflow: SUPPRESSED}", finding: "ec2", op: "BatchUpdateFindings", hub: true},
		{step: "ec2.revoke-instance-credentials", params: "{revoke_role_sessions: true}", finding: "ec2", op: "PutRolePolicy"},
		// ec2.contain, once in each of its rounds
		{step: "ec2.contain", finding: "ec2", op: "CreateSnapshots"},
		{step: "ec2.contain", finding: "ec2", op: "DetachInstances"},
		{step: "ec2.contain", finding: "ec2", op: "DeregisterTargets"},
	} {
		for _, then := range []string{"release", "run again, then release"} {
			t.Run(tc.step+" "+tc.params+" killed after "+tc.op+", "+then, func(t *testing.T) {
				killBetweenCallAndLedger(t, tc.step, tc.params, tc.finding, tc.op, tc.hub, then != "release")
			})
		}
	}
}

func killBetweenCallAndLedger(t *testing.T, step, params, name, op string, hub, rerun bool) {
	var armed atomic.Bool
	ctx1, kill := context.WithCancel(context.Background())
	defer kill()
	env, err := awstest.Start(t.TempDir(), func(c cloud.Call) {
		if armed.Load() && c.Operation == op && c.Err == nil {
			armed.Store(false)
			kill() // the answer arrived; the process dies before its ledger write
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	ctx := env.Context(context.Background())
	f := findings(t, name)[0]
	if hub {
		importHubFinding(t, ctx, env, f)
	}
	before, err := env.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if params == "" {
		params = "{}"
	}
	cfg := []byte(fmt.Sprintf(`
rules:
  - name: one-step
    pattern: {source: [aws.guardduty], detail: {id: [%q]}}
    mode: enforce
    steps:
      - step: %s
        params: %s
guards:
  budget: {per_account: 100, total: 100}
execution: {backoff: 1ms}
ledger: {path: %q}
`, f.ID, step, params, filepath.Join(env.Dir, "ledger.db")))
	successes := func() int { return env.SideEffects()[op] + okCalls(env, op) }
	env.Cloud.ResetCalls()

	eng, db, err := env.Engine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	_, _, err = eng.Run(env.Context(ctx1), []*finding.Finding{f}, engine.Options{})
	if !errors.Is(err, context.Canceled) {
		s := theStep(t, db, step)
		t.Fatalf("the killed run: %v (%s %s)", err, s.State, s.Reason)
	}
	db.Close()
	if n := successes(); n != 1 {
		t.Fatalf("%s succeeded %d times before the kill, want 1", op, n)
	}
	led, db2, err := env.Engine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	s := theStep(t, db2, step)
	if s.State != store.StepStarted || len(s.Prior) == 0 {
		t.Fatalf("after the kill the ledger has %s %s with prior %q: want started with its checkpoint", s.Name, s.State, s.Prior)
	}
	if rerun {
		if _, _, err := led.Run(ctx, nil, engine.Options{}); err != nil {
			t.Fatal(err)
		}
		if s := theStep(t, db2, step); s.State != store.StepDone {
			t.Fatalf("after the re-run: %s %s", s.State, s.Reason)
		}
		if n := successes(); n != 1 {
			t.Errorf("the re-run repeated %s (%d successful calls)", op, n)
		}
	}
	if _, err := led.Release(ctx, engine.ReleaseSelector{Finding: f.ID}); err != nil {
		t.Fatal(err)
	}
	after, err := env.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := awstest.Diff(before, after); len(d) > 0 {
		t.Errorf("after release:\n%s", strings.Join(d, "\n"))
	}
	// a later run finds the released step ended: it does not act again
	env.Cloud.ResetCalls()
	if _, _, err := led.Run(ctx, nil, engine.Options{}); err != nil {
		t.Fatal(err)
	}
	if n := successes(); n != 0 {
		t.Errorf("a run after the release called %s again", op)
	}
}

// okCalls counts the successful calls of op that SideEffects does not
// count (it counts the IAM, S3 and EC2 mutations).
func okCalls(env *awstest.Env, op string) int {
	if awstest.Mutating[op] {
		return 0
	}
	n := 0
	for _, c := range env.Cloud.Calls() {
		if c.Operation == op && c.ErrorCode == "" && c.Status < 300 {
			n++
		}
	}
	return n
}

func theStep(t *testing.T, l store.Ledger, name string) *store.Step {
	t.Helper()
	ss, err := l.Steps(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %s in the ledger", name)
	return nil
}

// importHubFinding puts f in Security Hub as GuardDuty's integration
// would, then has an analyst mark it NOTIFIED with a note: the state
// release must put back.
func importHubFinding(t *testing.T, ctx context.Context, env *awstest.Env, f *finding.Finding) {
	t.Helper()
	cfg, err := env.Clients.Config(ctx, sandbox.Prod, sandbox.Region)
	if err != nil {
		t.Fatal(err)
	}
	c := securityhub.NewFromConfig(cfg)
	product := "arn:aws:securityhub:" + sandbox.Region + "::product/aws/guardduty"
	now := "2026-01-01T00:00:00Z"
	if _, err := c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{{
		SchemaVersion: aws.String("2018-10-08"), Id: aws.String(f.ARN), ProductArn: aws.String(product), GeneratorId: aws.String("guardduty"),
		AwsAccountId: aws.String(sandbox.Prod), CreatedAt: aws.String(now), UpdatedAt: aws.String(now), Title: aws.String(f.Title),
		Description: aws.String("x"), Severity: &shtypes.Severity{Label: "HIGH"}, Types: []string{"TTPs"},
		Resources: []shtypes.Resource{{Type: aws.String("AwsEc2Instance"), Id: aws.String(sandbox.Instance)}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{{Id: aws.String(f.ARN), ProductArn: aws.String(product)}},
		Workflow:           &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusNotified},
		Note:               &shtypes.NoteUpdate{Text: aws.String("triaged: looks real"), UpdatedBy: aws.String("analyst")}}); err != nil {
		t.Fatal(err)
	}
}
