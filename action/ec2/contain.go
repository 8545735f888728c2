package ec2

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/action/internal/awsstep"
	"github.com/reflexsec/reflex/cloud"
)

// containPrior is everything ec2.contain changed, per part, in the form
// the single steps record (so their Undo restores each part).
type containPrior struct {
	Capture    *capturePrior `json:"capture,omitempty"`
	Protect    *protection   `json:"protect,omitempty"`
	Tags       tagPrior      `json:"tags,omitempty"`
	ASG        *asgPrior     `json:"autoscaling,omitempty"`
	Targets    *targetsPrior `json:"targets,omitempty"`
	Interfaces *isolatePrior `json:"isolate,omitempty"`
	EIPs       *eipPrior     `json:"eips,omitempty"`
	Profile    *profilePrior `json:"profile,omitempty"`
	Snapshots  *SnapshotsOut `json:"snapshots,omitempty"`
}

func contain() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "ec2.contain", Effect: action.Reversible, Targets: instanceKinds,
			Description: "The whole EC2 containment in one step, in at most four sequential round trips whatever the number of interfaces and volumes: " +
				"(1) every read — the evidence — at once; (2) checkpoint tags, snapshots started, reflex's groups made ready; (3) the untrack group on every " +
				"interface, protection, Auto Scaling detach, Elastic IPs and instance profile removed; (4) the isolation group on every interface, target " +
				"groups deregistered. Same effects, checkpoints and release as the single steps (ec2.capture-evidence … ec2.revoke-instance-credentials).",
			Params: []action.Param{
				{Name: "isolation_group", Type: action.TypeString, Description: "security group id to use as the isolation group (default: reflex-isolation, created per VPC)"},
				{Name: "untrack_first", Type: action.TypeBool, Default: true, Description: "pass through an allow-all group so established connections are cut"},
				{Name: "remove_profile", Type: action.TypeBool, Default: true, Description: "remove the instance profile (no new instance credentials)"},
			},
			Example:    "- step: ec2.contain",
			IAMActions: containActions(),
		},
		PlanFn: planContain,
		DoFn:   doContain,
		UndoFn: undoContain,
	}
}

func containActions() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range []action.Step{capture(), protect(), tagStep(), detachASG(), deregister(), snapshot(), isolate(), eips(), credentials()} {
		for _, a := range s.Spec().IAMActions {
			if !seen[a] && !strings.HasPrefix(a, "iam:") {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

func planContain(req *action.Request) []action.Call {
	id := instanceID(req)
	var calls []action.Call
	add := func(round int, svc, op, target, note string) {
		calls = append(calls, call(svc, op, target, nil, fmt.Sprintf("round %d%s", round, note)))
	}
	for _, op := range []string{"DescribeInstances", "DescribeNetworkInterfaces", "DescribeVolumes", "DescribeIamInstanceProfileAssociations",
		"DescribeAddresses", "GetConsoleOutput", "DescribeInstanceAttribute", "DescribeSnapshots", "DescribeSecurityGroups"} {
		add(1, "ec2", op, id, "")
	}
	add(1, "autoscaling", "DescribeAutoScalingInstances", id, "")
	add(1, "elasticloadbalancing", "DescribeTargetGroups", "", "")
	add(1, "ec2", "CreateSecurityGroup", UntrackGroupName+"|"+IsolationGroupName, ", per VPC of the finding, unless they exist")
	add(2, "elasticloadbalancing", "DescribeTargetHealth", "", ", per target group")
	add(2, "ec2", "CreateTags", id, ": checkpoints and the finding's tags")
	add(2, "ec2", "CreateSnapshots", id, ": every volume, not awaited")
	add(2, "ec2", "AuthorizeSecurityGroupIngress|RevokeSecurityGroupEgress", "", ": reflex's groups' rules")
	nics := findingNICs(req)
	for _, n := range nics {
		add(2, "ec2", "CreateTags", n.NetworkInterfaceID, ": original groups checkpoint")
	}
	for _, n := range nics {
		add(3, "ec2", "ModifyNetworkInterfaceAttribute", n.NetworkInterfaceID, ": the untrack group")
	}
	add(3, "ec2", "ModifyInstanceAttribute", id, ": termination protection, shutdown stop, DeleteOnTermination=false")
	add(3, "autoscaling", "DetachInstances", id, ": ShouldDecrementDesiredCapacity=false")
	add(3, "ec2", "DisassociateAddress", "", ", per Elastic IP")
	if req.Params.Bool("remove_profile") {
		add(3, "ec2", "DisassociateIamInstanceProfile", id, "")
	}
	for _, n := range nics {
		add(4, "ec2", "ModifyNetworkInterfaceAttribute", n.NetworkInterfaceID, ": the isolation group")
	}
	add(4, "elasticloadbalancing", "DeregisterTargets", id, ", per target group")
	return calls
}

// run collects the errors of one round.
type round struct {
	fns  []func() error
	what []string
}

func (r *round) add(what string, fn func() error) {
	r.fns = append(r.fns, fn)
	r.what = append(r.what, what)
}

func (r *round) run() error {
	errs := awsstep.Parallel(16, r.fns...)
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", r.what[i], err)
		}
	}
	return nil
}

func doContain(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
	id := instanceID(req)
	c, err := ec2Client(ctx, env)
	if err != nil {
		return action.Failed(err, false)
	}
	as, err := env.AutoScaling(ctx, env.Account, env.Region)
	if err != nil {
		return action.Failed(err, false)
	}
	lb, err := env.ELBv2(ctx, env.Account, env.Region)
	if err != nil {
		return action.Failed(err, false)
	}
	untrackFirst, custom := req.Params.Bool("untrack_first"), req.Params.String("isolation_group")
	token := awsstep.Token(req)
	ev := &Evidence{}
	var mu sync.Mutex

	// Round 1: every read, and reflex's groups created where the finding
	// says which VPC the instance is in (an existing group answers
	// InvalidGroup.Duplicate: then the one read here is used).
	var (
		cur      protection
		group    string
		tgs      []string
		cps      []types.Address
		snaps    = map[string]string{}
		groups   []types.SecurityGroup
		created  = map[string]map[string]string{} // vpc → kind → new group id
		findVPCs = map[string]bool{}
	)
	for _, n := range findingNICs(req) {
		if n.VPCID != "" {
			findVPCs[n.VPCID] = true
		}
	}
	var r1 round
	r1.add("describe the instance", func() (err error) { ev.Instance, err = describe(ctx, c, id); return err })
	byInstance := []types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{id}}}
	r1.add("describe its interfaces", func() error {
		out, err := c.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: byInstance})
		if err == nil {
			ev.NetworkInterfaces = out.NetworkInterfaces
		}
		return err
	})
	r1.add("describe its volumes", func() error {
		out, err := c.DescribeVolumes(ctx, &sdk.DescribeVolumesInput{Filters: byInstance})
		if err == nil {
			ev.Volumes = out.Volumes
		}
		return err
	})
	r1.add("describe its instance profile", func() error {
		out, err := c.DescribeIamInstanceProfileAssociations(ctx, &sdk.DescribeIamInstanceProfileAssociationsInput{
			Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{id}}}})
		if err == nil {
			ev.ProfileAssocs = out.IamInstanceProfileAssociations
		}
		return err
	})
	r1.add("describe its Elastic IPs", func() error {
		out, err := c.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{id}}}})
		if err == nil {
			ev.Addresses = out.Addresses
		}
		return err
	})
	r1.add("describe checkpointed Elastic IPs", func() error {
		out, err := c.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{Filters: []types.Filter{{Name: aws.String("tag:" + TagEIPPrior), Values: []string{id + "|*"}}}})
		if err == nil {
			cps = out.Addresses
		}
		return err
	})
	r1.add("read the console output", func() error {
		out, err := c.GetConsoleOutput(ctx, &sdk.GetConsoleOutputInput{InstanceId: aws.String(id)})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			ev.Problems = append(ev.Problems, "console output: "+err.Error())
			return nil
		}
		ev.ConsoleOutput = decodeConsole(aws.ToString(out.Output))
		return nil
	})
	r1.add("read its Auto Scaling group", func() error {
		out, err := as.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{id}})
		if err == nil && len(out.AutoScalingInstances) > 0 {
			group = aws.ToString(out.AutoScalingInstances[0].AutoScalingGroupName)
			ev.AutoScalingGroup = group
		}
		return err
	})
	r1.add("list the target groups", func() (err error) { tgs, err = targetGroupARNs(ctx, env); return err })
	r1.add("read termination protection", func() error {
		out, err := c.DescribeInstanceAttribute(ctx, &sdk.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: types.InstanceAttributeNameDisableApiTermination})
		if err == nil && out.DisableApiTermination != nil {
			cur.DisableAPITermination = aws.ToBool(out.DisableApiTermination.Value)
		}
		return err
	})
	r1.add("read the shutdown behaviour", func() error {
		out, err := c.DescribeInstanceAttribute(ctx, &sdk.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: types.InstanceAttributeNameInstanceInitiatedShutdownBehavior})
		if err == nil && out.InstanceInitiatedShutdownBehavior != nil {
			cur.ShutdownBehavior = aws.ToString(out.InstanceInitiatedShutdownBehavior.Value)
		}
		return err
	})
	r1.add("find snapshots of an earlier attempt", func() error {
		out, err := c.DescribeSnapshots(ctx, &sdk.DescribeSnapshotsInput{OwnerIds: []string{"self"},
			Filters: []types.Filter{{Name: aws.String("tag:" + TagStep), Values: []string{token}}}})
		if err == nil {
			for _, s := range out.Snapshots {
				snaps[aws.ToString(s.VolumeId)] = aws.ToString(s.SnapshotId)
			}
		}
		return err
	})
	r1.add("find reflex's groups", func() (err error) { groups, err = reflexGroups(ctx, c); return err })
	for vpc := range findVPCs {
		created[vpc] = map[string]string{}
		kinds := []string{}
		if untrackFirst {
			kinds = append(kinds, "untrack")
		}
		if custom == "" {
			kinds = append(kinds, "isolate")
		}
		for _, kind := range kinds {
			name := UntrackGroupName
			if kind == "isolate" {
				name = IsolationGroupName
			}
			r1.add("create "+name+" in "+vpc, func() error {
				gid, err := createOnly(ctx, c, vpc, name, kind)
				if err == nil && gid != "" {
					mu.Lock()
					created[vpc][kind] = gid
					mu.Unlock()
				}
				return err
			})
		}
	}
	if err := r1.run(); err != nil {
		return awsstep.Fail(err, "contain %s: round 1", id)
	}
	in := ev.Instance
	tags := tagMap(in.Tags)
	nics := sortedENIs(in)
	for _, b := range in.BlockDeviceMappings {
		if b.Ebs != nil && aws.ToBool(b.Ebs.DeleteOnTermination) {
			cur.DeleteOnTermination = append(cur.DeleteOnTermination, aws.ToString(b.DeviceName))
		}
	}
	nicTags := map[string]map[string]string{}
	for _, n := range ev.NetworkInterfaces {
		nicTags[aws.ToString(n.NetworkInterfaceId)] = tagMap(n.TagSet)
	}
	byVPC := map[string]*vpcGroups{}
	for _, n := range nics {
		byVPC[aws.ToString(n.VpcId)] = &vpcGroups{}
	}
	var fixes []groupFix
	for vpc, kinds := range created {
		if vg := byVPC[vpc]; vg != nil {
			vg.untrack, vg.isolate = kinds["untrack"], kinds["isolate"]
			for kind, gid := range kinds {
				fixes = append(fixes, groupFix{id: gid, kind: kind, new: true})
			}
		}
	}
	fixes = append(fixes, groupFixes(groups, byVPC)...)

	prior := containPrior{}
	out := map[string]any{}

	// Round 2: checkpoints, snapshots, groups ready, target health, evidence's groups.
	var r2 round
	instTags := map[string]string{}
	// protection checkpoint
	pp := cur
	if cp, ok := tags[TagProtectPrior]; ok {
		if p, ok := decodeProtection(cp); ok {
			pp = p
		}
	} else {
		instTags[TagProtectPrior] = cur.encode()
	}
	prior.Protect = &pp
	// Auto Scaling checkpoint
	if cp := tags[TagASGPrior]; cp != "" {
		prior.ASG = &asgPrior{Group: cp}
	} else if group != "" {
		instTags[TagASGPrior] = group
		prior.ASG = &asgPrior{Group: group}
	}
	// instance profile checkpoint
	var assoc *types.IamInstanceProfileAssociation
	for i := range ev.ProfileAssocs {
		a := &ev.ProfileAssocs[i]
		if a.State == types.IamInstanceProfileAssociationStateAssociated || a.State == types.IamInstanceProfileAssociationStateAssociating {
			assoc = a
		}
	}
	if req.Params.Bool("remove_profile") {
		if cp := tags[TagProfilePrior]; cp != "" {
			prior.Profile = &profilePrior{ProfileARN: cp}
		} else if assoc != nil {
			arn := aws.ToString(assoc.IamInstanceProfile.Arn)
			instTags[TagProfilePrior] = arn
			prior.Profile = &profilePrior{ProfileARN: arn}
		}
	}
	// the finding's tags (ec2.tag)
	kf, kg, kt := tagKeys("reflex:")
	if tags[kf] == req.Finding.ID {
		prior.Tags = tagPrior{kf: nil, kg: nil, kt: nil}
	} else {
		groupsByENI := map[string][]string{}
		for _, n := range nics {
			groupsByENI[aws.ToString(n.NetworkInterfaceId)] = groupIDs(n.Groups)
		}
		want := map[string]string{kf: req.Finding.ID, kg: clip(encodeGroups(groupsByENI), 256), kt: time.Now().UTC().Format(time.RFC3339)}
		prior.Tags = tagPrior{}
		for k, v := range want {
			if old, ok := tags[k]; ok {
				prior.Tags[k] = aws.String(old)
			} else {
				prior.Tags[k] = nil
			}
			instTags[k] = v
		}
	}
	if len(instTags) > 0 {
		r2.add("tag "+id, func() error { return setTags(ctx, c, []string{id}, instTags) })
	}
	// interfaces' checkpoints
	prior.Interfaces = &isolatePrior{Interfaces: map[string][]string{}}
	for _, n := range nics {
		eni := aws.ToString(n.NetworkInterfaceId)
		if cp, ok := nicTags[eni][TagOriginalGroups]; ok {
			prior.Interfaces.Interfaces[eni] = splitList(cp)
			continue
		}
		gs := groupIDs(n.Groups)
		prior.Interfaces.Interfaces[eni] = gs
		r2.add("checkpoint "+eni, func() error {
			return setTags(ctx, c, []string{eni}, map[string]string{TagOriginalGroups: strings.Join(gs, ",")})
		})
	}
	// Elastic IPs' checkpoints
	prior.EIPs = &eipPrior{}
	seen := map[string]bool{}
	for _, a := range cps {
		parts := strings.Split(tagMap(a.Tags)[TagEIPPrior], "|")
		if len(parts) == 3 {
			seen[aws.ToString(a.AllocationId)] = true
			prior.EIPs.Associations = append(prior.EIPs.Associations, Association{AllocationID: aws.ToString(a.AllocationId),
				PublicIP: aws.ToString(a.PublicIp), NetworkInterface: parts[1], PrivateIP: parts[2]})
		}
	}
	for _, a := range ev.Addresses {
		alloc := aws.ToString(a.AllocationId)
		if seen[alloc] {
			continue
		}
		as := Association{AllocationID: alloc, PublicIP: aws.ToString(a.PublicIp), NetworkInterface: aws.ToString(a.NetworkInterfaceId), PrivateIP: aws.ToString(a.PrivateIpAddress)}
		prior.EIPs.Associations = append(prior.EIPs.Associations, as)
		r2.add("checkpoint "+alloc, func() error {
			return setTags(ctx, c, []string{alloc}, map[string]string{TagEIPPrior: id + "|" + as.NetworkInterface + "|" + as.PrivateIP})
		})
	}
	// reflex's groups: created now when the finding did not name the VPC
	for vpc, g := range byVPC {
		if g.untrack == "" && untrackFirst {
			return awsstep.Fail(fmt.Errorf("no %s group in %s", UntrackGroupName, vpc), "contain %s", id)
		}
		if g.isolate == "" && custom == "" {
			return awsstep.Fail(fmt.Errorf("no %s group in %s", IsolationGroupName, vpc), "contain %s", id)
		}
	}
	for _, f := range fixes {
		if f.kind == "untrack" && !untrackFirst {
			continue
		}
		for _, fn := range f.apply(ctx, c) {
			r2.add("set the rules of "+f.id, fn)
		}
	}
	// snapshots, started
	snapOut := &SnapshotsOut{Snapshots: map[string]string{}, Note: "started, not awaited"}
	var vols, exclude []string
	excludeBoot := false
	for _, b := range in.BlockDeviceMappings {
		if b.Ebs == nil {
			continue
		}
		v := aws.ToString(b.Ebs.VolumeId)
		vols = append(vols, v)
		if s, ok := snaps[v]; ok {
			snapOut.Snapshots[v] = s
			if aws.ToString(b.DeviceName) == aws.ToString(in.RootDeviceName) {
				excludeBoot = true
			} else {
				exclude = append(exclude, v)
			}
		}
	}
	if len(vols) > len(exclude)+boolInt(excludeBoot) {
		r2.add("snapshot the volumes", func() error {
			input := &sdk.CreateSnapshotsInput{
				InstanceSpecification: &types.InstanceSpecification{InstanceId: aws.String(id), ExcludeBootVolume: aws.Bool(excludeBoot)},
				Description:           aws.String(fmt.Sprintf("reflex evidence: finding %s, instance %s", req.Finding.ID, id)),
				CopyTagsFromSource:    types.CopyTagsFromSourceVolume,
				TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot, Tags: []types.Tag{
					{Key: aws.String(TagFinding), Value: aws.String(req.Finding.ID)},
					{Key: aws.String("reflex:instance"), Value: aws.String(id)},
					{Key: aws.String(TagStep), Value: aws.String(token)}}}},
			}
			if len(exclude) > 0 {
				input.InstanceSpecification.ExcludeDataVolumeIds = exclude
			}
			got, err := createSnapshotsAtMostOnce(ctx, c, input, token)
			if err == nil {
				mu.Lock()
				for v, snap := range got {
					snapOut.Snapshots[v] = snap
				}
				mu.Unlock()
			}
			return err
		})
	}
	// target membership and the evidence's security groups
	mships := make([]*Membership, len(tgs))
	for i, arn := range tgs {
		r2.add("read target health in "+arn, func() (err error) { mships[i], err = membership(ctx, env, arn, id); return err })
	}
	var sgIDs []string
	sgSeen := map[string]bool{}
	for _, n := range ev.NetworkInterfaces {
		for _, g := range n.Groups {
			if gid := aws.ToString(g.GroupId); !sgSeen[gid] {
				sgSeen[gid] = true
				sgIDs = append(sgIDs, gid)
			}
		}
	}
	if len(sgIDs) > 0 {
		r2.add("describe the security groups", func() error {
			out, err := c.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{GroupIds: sgIDs})
			if err == nil {
				ev.SecurityGroups = out.SecurityGroups
			}
			return err
		})
	}
	if err := r2.run(); err != nil {
		return awsstep.Fail(err, "contain %s: round 2", id)
	}
	prior.Snapshots = snapOut
	for _, m := range mships {
		if m != nil {
			ev.TargetGroups = append(ev.TargetGroups, *m)
		}
	}
	tp := decodeTargets(tags, env)
	if tp == nil {
		tp = ev.TargetGroups
	}
	if len(tp) > 0 {
		prior.Targets = &targetsPrior{Targets: tp}
	}
	// the evidence is complete: mark it (ec2.stop requires the mark)
	prior.Capture = &capturePrior{}
	prior.Capture.Marker, prior.Capture.Had = tags[TagEvidence]
	if prior.Capture.Marker == req.Finding.ID {
		prior.Capture = &capturePrior{}
	}

	// Round 3: untrack, protect, detach, Elastic IPs, profile; target checkpoints and the evidence mark.
	var r3 round
	isoOf := func(vpc string) string {
		if custom != "" {
			return custom
		}
		return byVPC[vpc].isolate
	}
	modify := func(eni, gid string) func() error {
		return func() error {
			_, err := c.ModifyNetworkInterfaceAttribute(ctx, &sdk.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(eni), Groups: []string{gid}})
			return err
		}
	}
	for _, n := range nics {
		g := groupIDs(n.Groups)
		vpc := aws.ToString(n.VpcId)
		if untrackFirst && !(len(g) == 1 && (g[0] == isoOf(vpc) || g[0] == byVPC[vpc].untrack)) {
			r3.add("untrack "+aws.ToString(n.NetworkInterfaceId), modify(aws.ToString(n.NetworkInterfaceId), byVPC[vpc].untrack))
		}
	}
	r3.add("protect "+id, func() error {
		return applyProtection(ctx, c, id, cur, protection{DisableAPITermination: true, ShutdownBehavior: "stop"})
	})
	if group != "" {
		r3.add("detach "+id+" from "+group, func() error {
			_, err := as.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String(group),
				InstanceIds: []string{id}, ShouldDecrementDesiredCapacity: aws.Bool(false)})
			return err
		})
	}
	for _, a := range ev.Addresses {
		assocID := aws.ToString(a.AssociationId)
		r3.add("disassociate "+aws.ToString(a.PublicIp), func() error {
			_, err := c.DisassociateAddress(ctx, &sdk.DisassociateAddressInput{AssociationId: aws.String(assocID)})
			if isCode(err, "InvalidAssociationID.NotFound") {
				return nil
			}
			return err
		})
	}
	if req.Params.Bool("remove_profile") && assoc != nil {
		r3.add("remove the instance profile", func() error {
			_, err := c.DisassociateIamInstanceProfile(ctx, &sdk.DisassociateIamInstanceProfileInput{AssociationId: assoc.AssociationId})
			if isCode(err, "InvalidAssociationID.NotFound") {
				return nil
			}
			return err
		})
	}
	mark := map[string]string{TagEvidence: req.Finding.ID}
	if decodeTargets(tags, env) == nil {
		for k, v := range encodeTargets(ev.TargetGroups) {
			mark[k] = v
		}
	}
	r3.add("mark the evidence and checkpoint the targets", func() error { return setTags(ctx, c, []string{id}, mark) })
	if err := r3.run(); err != nil {
		return awsstep.Fail(err, "contain %s: round 3", id)
	}

	// Round 4: isolate every interface; deregister from the target groups.
	var r4 round
	isolated := map[string]string{}
	for _, n := range nics {
		eni, vpc := aws.ToString(n.NetworkInterfaceId), aws.ToString(n.VpcId)
		isolated[eni] = isoOf(vpc)
		if g := groupIDs(n.Groups); len(g) == 1 && g[0] == isoOf(vpc) {
			continue
		}
		r4.add("isolate "+eni, modify(eni, isoOf(vpc)))
	}
	for _, m := range ev.TargetGroups {
		r4.add("deregister from "+m.TargetGroupARN, func() error {
			_, err := lb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(m.TargetGroupARN),
				Targets: []elbtypes.TargetDescription{target(id, m.Port)}})
			if isCode(err, "InvalidTarget") {
				return nil // its Auto Scaling group's detach deregistered it already
			}
			return err
		})
	}
	if err := r4.run(); err != nil {
		return awsstep.Fail(err, "contain %s: round 4", id)
	}
	out["evidence"] = ev
	out["snapshots"] = snapOut.Snapshots
	out["isolated"] = isolated
	return awsstep.Result(prior, out)
}

func undoContain(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
	var p containPrior
	if err := awsstep.Unmarshal(req, &p); err != nil {
		return action.Failed(err, false)
	}
	sub := func(v any) *action.Request {
		r := *req
		r.Prior, _ = json.Marshal(v)
		return &r
	}
	var parts []func() action.Result
	if p.Interfaces != nil && len(p.Interfaces.Interfaces) > 0 {
		parts = append(parts, func() action.Result { return undoIsolate(ctx, env, sub(p.Interfaces)) })
	}
	if p.Protect != nil {
		parts = append(parts, func() action.Result { return undoProtect(ctx, env, sub(p.Protect)) })
	}
	if p.ASG != nil {
		parts = append(parts, func() action.Result { return detachASG().(*awsstep.Step).UndoFn(ctx, env, sub(p.ASG)) })
	}
	if p.Targets != nil {
		parts = append(parts, func() action.Result { return deregister().(*awsstep.Step).UndoFn(ctx, env, sub(p.Targets)) })
	}
	if p.EIPs != nil && len(p.EIPs.Associations) > 0 {
		parts = append(parts, func() action.Result { return eips().(*awsstep.Step).UndoFn(ctx, env, sub(p.EIPs)) })
	}
	if p.Profile != nil {
		parts = append(parts, func() action.Result { return undoCredentials(ctx, env, sub(p.Profile)) })
	}
	// tags last-but-together: each part removes only its own keys
	tags := p.Tags
	if tags == nil {
		tags = tagPrior{}
	}
	if p.Capture != nil {
		if p.Capture.Had {
			tags[TagEvidence] = aws.String(p.Capture.Marker)
		} else {
			tags[TagEvidence] = nil
		}
	}
	parts = append(parts, func() action.Result { return restoreTags(ctx, env, instanceID(req), tags) })
	results := make([]action.Result, len(parts))
	fns := make([]func() error, len(parts))
	for i, part := range parts {
		fns[i] = func() error { results[i] = part(); return nil }
	}
	awsstep.Parallel(8, fns...)
	var msgs []string
	retry := false
	for _, r := range results {
		if r.Status == action.StatusFailed {
			msgs = append(msgs, r.Reason)
			retry = retry || r.Retry
		}
	}
	if len(msgs) > 0 {
		return action.Failed(fmt.Errorf("release of %s: %s", instanceID(req), strings.Join(msgs, "; ")), retry)
	}
	return action.Done(map[string]string{"note": "the snapshots are kept (evidence); reflex's groups are kept for reuse; re-attaching to the Auto Scaling group raised its desired capacity by one"})
}

// createOnly creates one of reflex's groups; "" when it existed before.
// Throttling and 5xx are retried here, by re-creating: a Duplicate answer
// to a retry means the earlier try made the group, which is then read.
func createOnly(ctx context.Context, c *sdk.Client, vpc, name, kind string) (string, error) {
	desc := "reflex: allow-all pass-through so tracked connections become untracked before isolation"
	if kind == "isolate" {
		desc = "reflex: isolation, no inbound and no outbound rule"
	}
	for attempt := 0; ; attempt++ {
		out, err := c.CreateSecurityGroup(ctx, &sdk.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(desc), VpcId: aws.String(vpc),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{
				{Key: aws.String(TagIsolationGroup), Value: aws.String(kind)}, {Key: aws.String("Name"), Value: aws.String(name)}}}}},
			func(o *sdk.Options) { o.RetryMaxAttempts = 1 })
		switch {
		case err == nil:
			return aws.ToString(out.GroupId), nil
		case isCode(err, "InvalidGroup.Duplicate") && attempt == 0:
			return "", nil
		case isCode(err, "InvalidGroup.Duplicate"):
			return createGroup(ctx, c, vpc, name, kind) // made by an earlier try: read it
		case !cloud.Retryable(err) || attempt >= 8:
			return "", err
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return "", err
		}
	}
}
