package ec2

import (
	"context"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/action/ec2/isogroup"
	"github.com/reflexsec/reflex/action/internal/awsstep"
	"github.com/reflexsec/reflex/finding"
)

// Names of the groups ec2.isolate creates per VPC (and reuses after);
// package isogroup defines them with their rules and tags.
const (
	UntrackGroupName   = isogroup.UntrackName
	IsolationGroupName = isogroup.IsolationName
)

// isolatePrior maps each interface to its original security groups.
type isolatePrior struct {
	Interfaces map[string][]string `json:"interfaces"`
}

func isolate() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "ec2.isolate", Effect: action.Reversible, Targets: instanceKinds,
			Description: "Isolate the instance interface by interface (ModifyNetworkInterfaceAttribute; never ModifyInstanceAttribute, which AWS refuses " +
				"on multi-interface instances): first an allow-all \"untrack\" group, so established connections become untracked and are cut by the next " +
				"change, then an isolation group with no rules. Both groups are created per VPC when missing (reflex setup, or the Terraform modules' isolation_vpc_ids, make them ahead) and reused after. Each interface's original " +
				"groups are checkpointed in its tag reflex:original-groups; release restores them.",
			Params: []action.Param{
				{Name: "isolation_group", Type: action.TypeString, Description: "security group id to use as the isolation group (default: reflex-isolation, created per VPC)"},
				{Name: "untrack_first", Type: action.TypeBool, Default: true, Description: "pass through an allow-all group so established connections are cut"},
			},
			Example: "- step: ec2.isolate",
			IAMActions: []string{"ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:CreateSecurityGroup",
				"ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress",
				"ec2:ModifyNetworkInterfaceAttribute", "ec2:CreateTags", "ec2:DeleteTags"}},
		PlanFn: planIsolate,
		DoFn:   doIsolate,
		UndoFn: undoIsolate,
	}
}

func planIsolate(req *action.Request) []action.Call {
	id := instanceID(req)
	calls := []action.Call{
		call("ec2", "DescribeInstances", id, nil, "with the two next, in parallel"),
		call("ec2", "DescribeNetworkInterfaces", id, map[string]any{"Filters": map[string]any{"attachment.instance-id": id}}, "checkpoint tags of an earlier attempt"),
		call("ec2", "DescribeSecurityGroups", "", map[string]any{"Filters": map[string]any{"tag:" + TagIsolationGroup: isogroup.Kinds()}}, "reflex's groups, reused"),
		call("ec2", "CreateSecurityGroup", "", map[string]any{"GroupName": UntrackGroupName + "|" + IsolationGroupName}, "per VPC, only when missing; then allow-all rules on the first, the default egress revoked on the second"),
	}
	nics := findingNICs(req)
	if len(nics) == 0 {
		nics = []finding.NetworkInterface{{NetworkInterfaceID: "<every interface>"}}
	}
	for _, n := range nics {
		calls = append(calls, call("ec2", "CreateTags", n.NetworkInterfaceID, map[string]any{TagOriginalGroups: sgList(n.SecurityGroups)}, "checkpoint, all interfaces in parallel"))
	}
	if req.Params.Bool("untrack_first") {
		for _, n := range nics {
			calls = append(calls, call("ec2", "ModifyNetworkInterfaceAttribute", n.NetworkInterfaceID, map[string]any{"Groups": []string{UntrackGroupName}}, "all interfaces in parallel"))
		}
	}
	iso := IsolationGroupName
	if g := req.Params.String("isolation_group"); g != "" {
		iso = g
	}
	for _, n := range nics {
		calls = append(calls, call("ec2", "ModifyNetworkInterfaceAttribute", n.NetworkInterfaceID, map[string]any{"Groups": []string{iso}}, "all interfaces in parallel"))
	}
	return calls
}

func sgList(gs []finding.SecurityGroup) string {
	var ids []string
	for _, g := range gs {
		ids = append(ids, g.GroupID)
	}
	return strings.Join(ids, ",")
}

type vpcGroups struct{ untrack, isolate string }

func doIsolate(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
	id := instanceID(req)
	c, err := ec2Client(ctx, env)
	if err != nil {
		return action.Failed(err, false)
	}
	untrackFirst := req.Params.Bool("untrack_first")
	custom := req.Params.String("isolation_group")

	// Round 1: the instance, its interfaces' tags, reflex's groups.
	var in *types.Instance
	nicTags := map[string]map[string]string{}
	var groups []types.SecurityGroup
	errs := awsstep.Parallel(3,
		func() (err error) { in, err = describe(ctx, c, id); return err },
		func() error {
			out, err := c.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{
				Filters: []types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{id}}}})
			if err == nil {
				for _, n := range out.NetworkInterfaces {
					nicTags[aws.ToString(n.NetworkInterfaceId)] = tagMap(n.TagSet)
				}
			}
			return err
		},
		func() (err error) { groups, err = reflexGroups(ctx, c); return err })
	if err := awsstep.First(errs); err != nil {
		return awsstep.Fail(err, "read the interfaces of %s", id)
	}
	nics := sortedENIs(in)
	if len(nics) == 0 {
		return action.Skipped(id + " has no network interface")
	}
	byVPC := map[string]*vpcGroups{}
	for _, n := range nics {
		byVPC[aws.ToString(n.VpcId)] = &vpcGroups{}
	}
	fix := groupFixes(groups, byVPC)

	// Round 2: checkpoints of the interfaces' groups; missing groups created.
	prior := isolatePrior{Interfaces: map[string][]string{}}
	var fns []func() error
	var mu sync.Mutex
	for _, n := range nics {
		eni := aws.ToString(n.NetworkInterfaceId)
		if cp, ok := nicTags[eni][TagOriginalGroups]; ok {
			prior.Interfaces[eni] = splitList(cp)
			continue
		}
		cur := groupIDs(n.Groups)
		prior.Interfaces[eni] = cur
		fns = append(fns, func() error {
			return setTags(ctx, c, []string{eni}, map[string]string{TagOriginalGroups: strings.Join(cur, ",")})
		})
	}
	for vpc, g := range byVPC {
		if g.untrack == "" && untrackFirst {
			fns = append(fns, func() error {
				gid, err := createGroup(ctx, c, vpc, isogroup.Untrack)
				mu.Lock()
				g.untrack = gid
				fix = append(fix, newGroupFix(gid, isogroup.Untrack))
				mu.Unlock()
				return err
			})
		}
		if g.isolate == "" && custom == "" {
			fns = append(fns, func() error {
				gid, err := createGroup(ctx, c, vpc, isogroup.Isolate)
				mu.Lock()
				g.isolate = gid
				fix = append(fix, newGroupFix(gid, isogroup.Isolate))
				mu.Unlock()
				return err
			})
		}
	}
	if err := awsstep.Checkpoint(ctx, req, prior); err != nil {
		return action.Failed(err, true)
	}
	if err := awsstep.First(awsstep.Parallel(awsstep.Concurrency, fns...)); err != nil {
		return awsstep.Fail(err, "prepare the isolation of %s", id)
	}

	// Round 3: the groups' rules (new groups, or ones a crash left half made).
	fns = fns[:0]
	for _, f := range fix {
		if f.kind == isogroup.Untrack && !untrackFirst {
			continue
		}
		fns = append(fns, f.apply(ctx, c)...)
	}
	if err := awsstep.First(awsstep.Parallel(awsstep.Concurrency, fns...)); err != nil {
		return awsstep.Fail(err, "set the rules of reflex's groups")
	}

	// Rounds 4 and 5: every interface at once, untrack then isolate.
	isoOf := func(vpc string) string {
		if custom != "" {
			return custom
		}
		return byVPC[vpc].isolate
	}
	modify := func(eni, gid string) func() error {
		return func() error {
			_, err := c.ModifyNetworkInterfaceAttribute(ctx, &sdk.ModifyNetworkInterfaceAttributeInput{
				NetworkInterfaceId: aws.String(eni), Groups: []string{gid}})
			return err
		}
	}
	if untrackFirst {
		fns = fns[:0]
		for _, n := range nics {
			cur := groupIDs(n.Groups)
			vpc := aws.ToString(n.VpcId)
			if len(cur) == 1 && (cur[0] == isoOf(vpc) || cur[0] == byVPC[vpc].untrack) {
				continue // already past this stage
			}
			fns = append(fns, modify(aws.ToString(n.NetworkInterfaceId), byVPC[vpc].untrack))
		}
		if err := awsstep.First(awsstep.Parallel(awsstep.Concurrency, fns...)); err != nil {
			return awsstep.Fail(err, "attach the untrack group to the interfaces of %s", id)
		}
	}
	fns = fns[:0]
	out := map[string]string{}
	for _, n := range nics {
		cur := groupIDs(n.Groups)
		vpc := aws.ToString(n.VpcId)
		eni := aws.ToString(n.NetworkInterfaceId)
		out[eni] = isoOf(vpc)
		if len(cur) == 1 && cur[0] == isoOf(vpc) {
			continue
		}
		fns = append(fns, modify(eni, isoOf(vpc)))
	}
	if err := awsstep.First(awsstep.Parallel(awsstep.Concurrency, fns...)); err != nil {
		return awsstep.Fail(err, "attach the isolation group to the interfaces of %s", id)
	}
	return awsstep.Result(prior, map[string]any{"isolated": out})
}

func undoIsolate(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
	var p isolatePrior
	if err := awsstep.Unmarshal(req, &p); err != nil {
		return action.Failed(err, false)
	}
	c, err := ec2Client(ctx, env)
	if err != nil {
		return action.Failed(err, false)
	}
	var fns []func() error
	for _, eni := range sortedKeys(p.Interfaces) {
		gs := p.Interfaces[eni]
		fns = append(fns, func() error {
			if _, err := c.ModifyNetworkInterfaceAttribute(ctx, &sdk.ModifyNetworkInterfaceAttributeInput{
				NetworkInterfaceId: aws.String(eni), Groups: gs}); err != nil {
				return err
			}
			return deleteTags(ctx, c, []string{eni}, TagOriginalGroups)
		})
	}
	if err := awsstep.First(awsstep.Parallel(awsstep.Concurrency, fns...)); err != nil {
		return awsstep.Fail(err, "restore the groups of %s", instanceID(req))
	}
	return action.Done(map[string]any{"restored": p.Interfaces, "note": "reflex's untrack and isolation groups are kept for reuse"})
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// reflexGroups lists the groups reflex made, in every VPC of the region.
func reflexGroups(ctx context.Context, c *sdk.Client) ([]types.SecurityGroup, error) {
	return isogroup.List(ctx, c)
}

// groupFix is the work left on one of reflex's groups.
type groupFix struct {
	id, kind string
	fixes    []isogroup.Fix
}

// newGroupFix is the work left on a group just created: it has only the
// default egress rule.
func newGroupFix(id, kind string) groupFix {
	return groupFix{id: id, kind: kind, fixes: isogroup.NewFixes(kind)}
}

// groupFixes fills byVPC with reflex's existing groups (those the VPC
// already has are kept) and returns the fixes they need for their job: an
// untrack group must allow everything both ways (IPv4 and IPv6), an
// isolation group must have no rule. Rules beyond allow-all on an untrack
// group are left: they change nothing, and cost a round trip.
func groupFixes(groups []types.SecurityGroup, byVPC map[string]*vpcGroups) []groupFix {
	var fixes []groupFix
	idx := isogroup.Index(groups)
	for _, vpc := range sortedKeys(byVPC) {
		vg := byVPC[vpc]
		for _, kind := range isogroup.Kinds() {
			g := idx[isogroup.Key{VPC: vpc, Kind: kind}]
			have := &vg.untrack
			if kind == isogroup.Isolate {
				have = &vg.isolate
			}
			if g == nil || *have != "" {
				continue
			}
			*have = aws.ToString(g.GroupId)
			if fs := isogroup.Fixes(kind, g.IpPermissions, g.IpPermissionsEgress, false); len(fs) > 0 {
				fixes = append(fixes, groupFix{id: *have, kind: kind, fixes: fs})
			}
		}
	}
	return fixes
}

// apply returns the calls that bring the group to its kind's rules.
func (f groupFix) apply(ctx context.Context, c *sdk.Client) []func() error {
	var fns []func() error
	for _, fx := range f.fixes {
		fns = append(fns, func() error { return fx.Do(ctx, c, f.id) })
	}
	return fns
}

// createGroup creates one of reflex's groups in vpc; when another attempt
// or process made it meanwhile, that one is returned.
func createGroup(ctx context.Context, c *sdk.Client, vpc, kind string) (string, error) {
	return isogroup.Create(ctx, c, vpc, kind, nil)
}
