package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/cloud"
	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/examples"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/internal/awstest"
	"github.com/reflexsec/reflex/internal/sandbox"
)

func newDemoCmd(g *globals, s streams) *cobra.Command {
	var calls bool
	var latency time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run reflex's main job on a sandbox in the test cloud: findings in, containment, before/after, release",
		Long: `Start a sandbox account in reflex's test cloud (in this process; nothing real
is touched): an instance with two network interfaces in different security
groups and three volumes, in an Auto Scaling group behind two target groups,
with an Elastic IP and an instance profile; a user with two access keys; a
role; a public bucket. Replay real GuardDuty findings retargeted at it (and
marked non-sample) through examples/reflex.yaml switched to enforce, showing
each decision and every AWS call as it happens, then the state before and
after, then release everything and compare with the state before.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), s.out, calls, latency)
		},
	}
	cmd.Flags().BoolVar(&calls, "calls", true, "show every AWS call as it happens")
	cmd.Flags().DurationVar(&latency, "latency", 0, "latency the test cloud adds to every call (e.g. 50ms)")
	return cmd
}

func runDemo(ctx context.Context, w io.Writer, showCalls bool, latency time.Duration) error {
	dir, err := os.MkdirTemp("", "reflex-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var mu sync.Mutex
	quiet := true // the demo's own reads of the state are not shown
	observe := func(c cloud.Call) {
		mu.Lock()
		defer mu.Unlock()
		if !showCalls || quiet {
			return
		}
		res := "ok"
		if c.Err != nil {
			res = "error " + cloud.Code(c.Err)
			if cloud.Code(c.Err) == "" {
				res = "error: " + firstLine(c.Err.Error())
			}
		}
		fmt.Fprintf(w, "      aws %-12s %-40s %s\n", serviceName(c.Service), c.Operation, res)
	}
	setQuiet := func(q bool) { mu.Lock(); quiet = q; mu.Unlock() }
	env, err := awstest.Start(dir, observe)
	if err != nil {
		return err
	}
	defer env.Close()
	if latency > 0 {
		env.Cloud.SetLatency(latency)
	}
	ctx = env.Context(ctx)

	fmt.Fprintln(w, "reflex demo — the main job on a sandbox in the test cloud (nothing real is touched)")
	fmt.Fprintf(w, "\nsandbox: account %s (prod), %s, served at %s\n", sandbox.Prod, sandbox.Region, env.Server.URL)
	fmt.Fprintf(w, "  reflex runs as account %s and assumes %s in prod (external id %q)\n", sandbox.Security, sandbox.ResponderRole, sandbox.ExternalID)
	fmt.Fprintf(w, "  instance %s: 2 interfaces (%s: web, admin; %s: app), 3 volumes, in %s behind web-tg and admin-tg, Elastic IP, profile %s\n",
		sandbox.Instance, sandbox.ENI1, sandbox.ENI2, sandbox.ASG, sandbox.Profile)
	fmt.Fprintf(w, "  user %s with two keys (%s, %s); role %s; bucket %s without public access block\n",
		sandbox.User, sandbox.Key, sandbox.OtherKey, sandbox.Role, sandbox.Bucket)
	before, err := env.Snapshot(ctx)
	if err != nil {
		return err
	}
	setQuiet(false)
	cfg := awstest.EnforceConfig(examples.ReflexYAML, filepath.Join(dir, "ledger.db"))
	eng, db, err := env.Engine(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(w, "\nconfiguration: examples/reflex.yaml with every rule switched to enforce")

	_, names, err := sandbox.Raw()
	if err != nil {
		return err
	}
	failed := 0
	var ids []string
	for _, n := range names {
		f, err := sandbox.Finding(n)
		if err != nil {
			return err
		}
		ids = append(ids, f.ID)
		fmt.Fprintf(w, "\nfinding %s  %s  severity %.1f\n", f.ID, f.Type, f.Severity)
		for _, r := range f.Resources() {
			fmt.Fprintf(w, "  resource: %s\n", r.Label())
		}
		start := time.Now()
		results, _, err := eng.Run(ctx, oneFinding(f), engine.Options{})
		if err != nil {
			return err
		}
		for _, r := range results {
			fmt.Fprintf(w, "  decision %s: %s — %s\n", r.Plan.DecisionID, r.Plan.Status, r.Plan.Summary)
			if r.Outcome != nil {
				fmt.Fprintf(w, "  steps (%s):\n", time.Since(start).Round(time.Millisecond))
				printSteps(w, r.Outcome.Steps)
				failed += r.Outcome.Failed()
			}
		}
	}
	setQuiet(true)
	after, err := env.Snapshot(ctx)
	if err != nil {
		return err
	}
	setQuiet(false)
	d := awstest.Diff(before, after)
	fmt.Fprintf(w, "\nbefore → after: %d of %d fields changed\n", len(d), len(before))
	for _, l := range d {
		fmt.Fprintln(w, "  "+l)
	}

	fmt.Fprintln(w, "\nrelease (reflex release --finding ID), last step first, from the recorded prior state:")
	relFailed := 0
	for _, id := range ids {
		fmt.Fprintf(w, "\n  finding %s\n", id)
		rel, err := eng.Release(ctx, engine.ReleaseSelector{Finding: id})
		if err != nil {
			return err
		}
		printReleased(w, rel)
		for _, r := range rel {
			if r.Status == engine.ReleaseFailed {
				relFailed++
			}
		}
	}
	setQuiet(true)
	released, err := env.Snapshot(ctx)
	if err != nil {
		return err
	}
	if d := awstest.Diff(before, released); len(d) == 0 {
		fmt.Fprintf(w, "\nafter release: identical to the state before (%d fields compared, field by field)\n", len(before))
	} else {
		fmt.Fprintf(w, "\nafter release: %d field(s) differ from before:\n", len(d))
		for _, l := range d {
			fmt.Fprintln(w, "  "+l)
		}
	}
	if _, desired, ok := env.Cloud.AutoScalingGroup(sandbox.Prod, sandbox.Region, sandbox.ASG); ok {
		fmt.Fprintf(w, "note: %s kept the replacement it launched when the instance was detached; its desired capacity is now %d (was 2)\n", sandbox.ASG, desired)
	}
	fmt.Fprintln(w, "\nnext: reflex plan -c examples/reflex.yaml FINDING --explain lists the exact AWS calls; reflex iam-policy -c examples/reflex.yaml the permissions")
	if failed+relFailed > 0 {
		return negative(fmt.Errorf("%d step(s) and %d undo(s) failed", failed, relFailed))
	}
	return nil
}

// serviceName shortens the SDK's service ids: "Elastic Load Balancing v2" → elbv2.
func serviceName(id string) string {
	switch id {
	case "Elastic Load Balancing v2":
		return "elbv2"
	case "Auto Scaling":
		return "autoscaling"
	}
	return strings.ToLower(strings.ReplaceAll(id, " ", ""))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	if len(s) > 120 {
		return s[:120]
	}
	return s
}

func oneFinding(f *finding.Finding) []*finding.Finding { return []*finding.Finding{f} }
