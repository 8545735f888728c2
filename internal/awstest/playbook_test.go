package awstest_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/internal/awstest"
	"github.com/reflexsec/reflex/internal/fakeaws"
	"github.com/reflexsec/reflex/internal/sandbox"
	"github.com/reflexsec/reflex/store"
)

func start(t *testing.T, opts ...fakeaws.Option) *awstest.Env {
	t.Helper()
	env, err := awstest.Start(t.TempDir(), nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return env
}

func findings(t *testing.T, names ...string) []*finding.Finding {
	t.Helper()
	var out []*finding.Finding
	for _, n := range names {
		f, err := sandbox.Finding(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

func example(t *testing.T, env *awstest.Env) []byte {
	t.Helper()
	b, err := os.ReadFile("../../examples/reflex.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := awstest.EnforceConfig(b, filepath.Join(env.Dir, "ledger.db"))
	return []byte(strings.Replace(string(cfg), "backoff: 500ms", "backoff: 10ms", 1)) // engine retries, fast in tests
}

var all = []string{"ec2", "iam-user", "assumed-role", "s3"}

// TestPlaybooksContainAndRelease runs examples/reflex.yaml in enforce mode
// on the sandbox's findings: the state after run is what the steps
// promise; after release it equals the state before, field by field.
func TestPlaybooksContainAndRelease(t *testing.T) {
	t.Run("contain-ec2", func(t *testing.T) { testPlaybooks(t, false) })
	t.Run("contain-ec2-stepwise", func(t *testing.T) { testPlaybooks(t, true) })
}

func stepwise(cfg []byte) []byte {
	single := `      - step: ec2.capture-evidence
      - step: ec2.protect
      - step: ec2.tag
      - step: ec2.detach-autoscaling
        on_failure: continue
      - step: ec2.deregister-targets
        on_failure: continue
      - step: ec2.snapshot
      - step: ec2.isolate
      - step: ec2.disassociate-eips
        on_failure: continue
      - step: ec2.revoke-instance-credentials
        on_failure: continue
`
	s := string(cfg)
	i := strings.Index(s, "      - step: ec2.contain\n")
	return []byte(s[:i] + single + s[i+len("      - step: ec2.contain\n"):])
}

func testPlaybooks(t *testing.T, single bool) {
	env := start(t)
	ctx := env.Context(context.Background())
	before, err := env.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := example(t, env)
	if single {
		cfg = stepwise(cfg)
	}
	eng, db, err := env.Engine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	results, _, err := eng.Run(ctx, findings(t, all...), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Outcome == nil {
			t.Fatalf("%s: not executed: %s %s", r.Plan.Finding.Key, r.Plan.Status, r.Plan.Summary)
		}
		for _, s := range r.Outcome.Steps {
			t.Logf("%-28s %-60s %s %s", s.Name, s.Target, s.State, s.Reason)
			if s.State == store.StepFailed {
				t.Errorf("%s %s failed: %s", s.Name, s.Target, s.Reason)
			}
		}
	}
	after, err := env.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkContained(t, env, after)

	// release every finding: back to before, field by field
	for _, f := range findings(t, all...) {
		rel, err := eng.Release(ctx, engine.ReleaseSelector{Finding: f.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rel {
			if r.Status == engine.ReleaseFailed {
				t.Errorf("release %s %s: %s", r.Step, r.Target, r.Reason)
			}
		}
	}
	released, err := env.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := awstest.Diff(before, released); len(d) > 0 {
		t.Errorf("after release, %d field(s) differ from before:\n%s", len(d), strings.Join(d, "\n"))
	}
	// a second release does nothing
	rel, err := eng.Release(ctx, engine.ReleaseSelector{Finding: "sandbox-ec2-tor-client"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rel {
		if r.Status == engine.ReleaseUndone || r.Status == engine.ReleaseFailed {
			t.Errorf("second release: %s %s %s", r.Step, r.Status, r.Reason)
		}
	}
	again, _ := env.Snapshot(ctx)
	if d := awstest.Diff(released, again); len(d) > 0 {
		t.Errorf("second release changed:\n%s", strings.Join(d, "\n"))
	}
}

func checkContained(t *testing.T, env *awstest.Env, st awstest.State) {
	t.Helper()
	c := env.Cloud
	in, _ := c.Instance(sandbox.Prod, sandbox.Region, sandbox.Instance)
	if !in.DisableAPITermination || in.ShutdownBehavior != "stop" {
		t.Errorf("not protected: %+v", in)
	}
	for dev, dot := range in.DeleteOnTermination {
		if dot {
			t.Errorf("volume %s still deleted on termination", dev)
		}
	}
	var iso string
	for _, n := range in.Interfaces {
		if len(n.SecurityGroups) != 1 {
			t.Fatalf("%s groups %v", n.ID, n.SecurityGroups)
		}
		if iso == "" {
			iso = n.SecurityGroups[0]
		}
		if n.SecurityGroups[0] != iso {
			t.Errorf("%s in %v, want %s", n.ID, n.SecurityGroups, iso)
		}
		if n.PublicIP != "" {
			t.Errorf("%s keeps public ip %s", n.ID, n.PublicIP)
		}
	}
	g, ok := c.SecurityGroup(sandbox.Prod, sandbox.Region, iso)
	if !ok || len(g.Ingress) != 0 || len(g.Egress) != 0 || g.Name != "reflex-isolation" {
		t.Errorf("isolation group: %+v", g)
	}
	if in.Tags["reflex:finding"] != "sandbox-ec2-tor-client" || !strings.Contains(in.Tags["reflex:original-groups"], sandbox.ENI1+"="+sandbox.SGWeb+","+sandbox.SGAdmin) {
		t.Errorf("tags: %v", in.Tags)
	}
	if in.InstanceProfileARN != "" {
		t.Errorf("profile still %s", in.InstanceProfileARN)
	}
	insts, desired, _ := c.AutoScalingGroup(sandbox.Prod, sandbox.Region, sandbox.ASG)
	if slices.Contains(insts, sandbox.Instance) || desired != 2 {
		t.Errorf("asg: %v desired %d", insts, desired)
	}
	for _, tg := range []string{"web-tg", "admin-tg"} {
		if ts, _ := c.Targets(sandbox.Prod, sandbox.Region, tg); slices.Contains(ts, sandbox.Instance) {
			t.Errorf("still in %s", tg)
		}
	}
	n := 0
	for _, s := range c.Snapshots(sandbox.Prod, sandbox.Region) {
		if s.Tags["reflex:finding"] == "sandbox-ec2-tor-client" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d snapshots, want 3", n)
	}
	if st["iam/user/alice/key/"+sandbox.Key] != "Inactive" || st["iam/user/alice/key/"+sandbox.OtherKey] != "Active" {
		t.Errorf("keys: %s %s", st["iam/user/alice/key/"+sandbox.Key], st["iam/user/alice/key/"+sandbox.OtherKey])
	}
	if !strings.Contains(st["iam/user/alice/attached"], "AWSDenyAll") || !strings.Contains(st["iam/role/ci-deployer/attached"], "AWSDenyAll") {
		t.Errorf("deny-all: %q %q", st["iam/user/alice/attached"], st["iam/role/ci-deployer/attached"])
	}
	if !strings.Contains(st["iam/role/ci-deployer/inline"], "reflex-revoke-older-sessions") {
		t.Errorf("role sessions not revoked: %q", st["iam/role/ci-deployer/inline"])
	}
	if pab := st["s3/"+sandbox.Bucket+"/public-access-block"]; !strings.Contains(pab, "true true true true") && !strings.Contains(pab, "BlockPublicAcls:true IgnorePublicAcls:true BlockPublicPolicy:true RestrictPublicBuckets:true") {
		t.Errorf("bucket: %s", pab)
	}
}
