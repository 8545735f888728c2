package ec2

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
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
	"github.com/reflexsec/reflex/action/ec2/isogroup"
	"github.com/reflexsec/reflex/action/internal/awsstep"
	"github.com/reflexsec/reflex/cloud"
)

// containPrior is everything ec2.contain changed, per part, in the form
// the single steps record (so their Undo restores each part).
type containPrior struct {
	// Recorded says the instance's state before any change is recorded
	// (the checkpoint after round 1), with the evidence read then.
	Recorded   bool          `json:"recorded,omitempty"`
	Evidence   *Evidence     `json:"evidence,omitempty"`
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
			Description: "The whole EC2 containment in one step, whatever the number of interfaces and volumes: (1) every read — the evidence — " +
				"and the snapshots started; the prior state is then journaled in the ledger; (2) protection, the finding's tags, Auto Scaling detach, " +
				"Elastic IPs and instance profile removed, the allow-all untrack group on every interface; (3) the isolation group on every interface, " +
				"target groups deregistered. Three round trips when reflex's groups exist in the VPC (reflex setup, or the Terraform modules' " +
				"isolation_vpc_ids, make them ahead); when they are created now, the untrack group gets its rules before it goes on an interface, " +
				"one round later. Same effects and release as the single steps " +
				"(ec2.capture-evidence … ec2.revoke-instance-credentials).",
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
		"DescribeAddresses", "GetConsoleOutput", "DescribeInstanceAttribute", "DescribeSecurityGroups"} {
		add(1, "ec2", op, id, "")
	}
	add(1, "autoscaling", "DescribeAutoScalingInstances", id, "")
	add(1, "elasticloadbalancing", "DescribeTargetGroups", "", "")
	add(1, "ec2", "CreateSnapshots", id, ": every volume, not awaited (an attempt after a crash finds them first with DescribeSnapshots)")
	add(1, "ec2", "CreateSecurityGroup", UntrackGroupName+"|"+IsolationGroupName, ", per VPC of the finding, unless they exist")
	calls = append(calls, call("local", "Checkpoint", id, nil, "the prior state, journaled in the ledger before any change"))
	add(2, "ec2", "AuthorizeSecurityGroupIngress|RevokeSecurityGroupEgress", "", ": reflex's new groups' rules")
	add(2, "ec2", "CreateTags", id, ": the finding's tags and each interface's original groups")
	add(2, "ec2", "ModifyInstanceAttribute", id, ": termination protection, shutdown stop, DeleteOnTermination=false")
	add(2, "autoscaling", "DetachInstances", id, ": ShouldDecrementDesiredCapacity=false")
	add(2, "ec2", "DisassociateAddress", "", ", per Elastic IP")
	if req.Params.Bool("remove_profile") {
		add(2, "ec2", "DisassociateIamInstanceProfile", id, "")
	}
	add(2, "elasticloadbalancing", "DescribeTargetHealth", "", ", per target group (and DescribeAutoScalingGroups: its group's)")
	nics := findingNICs(req)
	if req.Params.Bool("untrack_first") {
		for _, n := range nics {
			add(2, "ec2", "ModifyNetworkInterfaceAttribute", n.NetworkInterfaceID, ": the untrack group (round 3 when reflex's groups are new in the VPC)")
		}
	}
	for _, n := range nics {
		add(3, "ec2", "ModifyNetworkInterfaceAttribute", n.NetworkInterfaceID, ": the isolation group (round 4 when reflex's groups are new in the VPC)")
	}
	add(3, "elasticloadbalancing", "DeregisterTargets", id, ", per target group")
	add(3, "ec2", "CreateTags", id, ": "+TagEvidence)
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
	var earlier containPrior
	if _, err := awsstep.Earlier(req, &earlier); err != nil {
		return action.Failed(err, false)
	}
	// With no earlier attempt on record, the snapshots start in round 1,
	// with the reads: the checkpoint says so first, so that an attempt after
	// a crash finds them by their tag instead of starting a second set.
	startSnaps := earlier.Snapshots == nil
	if startSnaps {
		if err := awsstep.Checkpoint(ctx, req, containPrior{Snapshots: &SnapshotsOut{Note: "being started: found by their step tag"}}); err != nil {
			return action.Failed(err, true)
		}
	}
	ev := &Evidence{}
	var mu sync.Mutex

	// Round 1: every read, the snapshots started (a snapshot changes
	// nothing on the instance: evidence is preserved before anything else),
	// and reflex's groups created where the finding says which VPC the
	// instance is in (an existing group answers InvalidGroup.Duplicate:
	// then the one read here is used).
	var (
		cur      protection
		group    string
		tgs      []elbtypes.TargetGroup
		cps      []types.Address
		snaps    = map[string]string{}
		snapErr  error
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
	r1.add("list the target groups", func() (err error) { tgs, err = targetGroups(ctx, lb); return err })
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
	if startSnaps {
		r1.add("start the snapshots", func() error {
			got, err := createSnapshotsAtMostOnce(ctx, c, snapshotsInput(req, id, token, false, nil), token)
			mu.Lock()
			defer mu.Unlock()
			maps.Copy(snaps, got)
			snapErr = err // judged once the volumes are known
			return nil
		})
	} else {
		r1.add("find snapshots of an earlier attempt", func() error {
			out, err := c.DescribeSnapshots(ctx, &sdk.DescribeSnapshotsInput{OwnerIds: []string{"self"},
				Filters: []types.Filter{{Name: aws.String("tag:" + TagStep), Values: []string{token}}}})
			if err == nil {
				mu.Lock()
				for _, s := range out.Snapshots {
					snaps[aws.ToString(s.VolumeId)] = aws.ToString(s.SnapshotId)
				}
				mu.Unlock()
			}
			return err
		})
	}
	r1.add("find reflex's groups", func() (err error) { groups, err = reflexGroups(ctx, c); return err })
	for vpc := range findVPCs {
		created[vpc] = map[string]string{}
		for _, kind := range groupKinds(untrackFirst, custom) {
			name := isogroup.Name(kind)
			r1.add("create "+name+" in "+vpc, func() error {
				gid, err := createOnly(ctx, c, vpc, kind)
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
	var vols []string
	for _, b := range in.BlockDeviceMappings {
		if b.Ebs == nil {
			continue
		}
		vols = append(vols, aws.ToString(b.Ebs.VolumeId))
		if aws.ToBool(b.Ebs.DeleteOnTermination) {
			cur.DeleteOnTermination = append(cur.DeleteOnTermination, aws.ToString(b.DeviceName))
		}
	}
	if snapErr != nil && len(vols) > 0 {
		return awsstep.Fail(snapErr, "contain %s: start the snapshots", id)
	}
	snapsStarted := len(pick(snaps, vols)) == len(vols) // all before any interface changes
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
			vg.untrack, vg.isolate = kinds[isogroup.Untrack], kinds[isogroup.Isolate]
			for kind, gid := range kinds {
				fixes = append(fixes, newGroupFix(gid, kind))
			}
		}
	}
	fixes = append(fixes, groupFixes(groups, byVPC)...)
	var assoc *types.IamInstanceProfileAssociation
	for i := range ev.ProfileAssocs {
		a := &ev.ProfileAssocs[i]
		if a.State == types.IamInstanceProfileAssociationStateAssociated || a.State == types.IamInstanceProfileAssociationStateAssociating {
			assoc = a
		}
	}

	// The prior state: an earlier attempt's, once it recorded one (the
	// instance may be half contained by it now), else the state just read.
	// It is journaled before any change.
	prior := earlier
	evidence := earlier.Evidence
	if !earlier.Recorded || evidence == nil {
		prior = priorOf(req, env, ev, cur, group, assoc, tags, nicTags, cps)
		evidence = ev
	}
	prior.Recorded, prior.Evidence = true, evidence
	snapOut := &SnapshotsOut{Snapshots: pick(snaps, vols), Note: "started, not awaited"}
	prior.Snapshots = snapOut
	if err := awsstep.Checkpoint(ctx, req, prior); err != nil {
		return action.Failed(err, true)
	}

	// The rounds after the first. Nothing on the instance changes before
	// the snapshots started: in round 2 when round 1 started them (else
	// round 2 starts them, and the changes wait for round 3). An interface
	// gets the untrack group once its VPC's groups are ready (round 1 when
	// they exist as they should; round 2 when created in round 1 or to be
	// fixed; round 3 when created in round 2), and the isolation group a
	// round later, after the protection and the Auto Scaling detach.
	base := 2
	if !snapsStarted {
		base = 3
	}
	rounds := map[int]*round{}
	at := func(k int) *round {
		if rounds[k] == nil {
			rounds[k] = &round{}
		}
		return rounds[k]
	}
	ready := map[string]map[string]int{}
	fixed := map[string]bool{}
	for _, f := range fixes {
		fixed[f.id] = true
	}
	var late []string // VPCs whose groups are created in round 2
	for vpc, g := range byVPC {
		ready[vpc] = map[string]int{isogroup.Isolate: 1}
		for _, kind := range groupKinds(untrackFirst, custom) {
			gid := g.untrack
			if kind == isogroup.Isolate {
				gid = g.isolate
			}
			switch {
			case gid == "":
				ready[vpc][kind] = 3
			case fixed[gid]:
				ready[vpc][kind] = 2
			default:
				ready[vpc][kind] = 1
			}
		}
		for _, k := range ready[vpc] {
			if k == 3 {
				late = append(late, vpc)
				break
			}
		}
	}
	isoOf := func(vpc string) string {
		if custom != "" {
			return custom
		}
		return byVPC[vpc].isolate
	}
	modify := func(eni, vpc, kind string) func() error {
		return func() error {
			gid := isoOf(vpc)
			if kind == isogroup.Untrack {
				gid = byVPC[vpc].untrack
			}
			_, err := c.ModifyNetworkInterfaceAttribute(ctx, &sdk.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(eni), Groups: []string{gid}})
			return err
		}
	}
	last := base + 1
	for _, n := range nics {
		eni, vpc, g := aws.ToString(n.NetworkInterfaceId), aws.ToString(n.VpcId), groupIDs(n.Groups)
		if len(g) == 1 && g[0] == isoOf(vpc) && isoOf(vpc) != "" {
			continue // isolated by an earlier attempt
		}
		untrackAt := 0
		if untrackFirst && !(len(g) == 1 && g[0] == byVPC[vpc].untrack && byVPC[vpc].untrack != "") {
			untrackAt = max(ready[vpc][isogroup.Untrack]+1, base)
			at(untrackAt).add("untrack "+eni, modify(eni, vpc, isogroup.Untrack))
		}
		isolateAt := max(untrackAt, ready[vpc][isogroup.Isolate], base) + 1
		at(isolateAt).add("isolate "+eni, modify(eni, vpc, isogroup.Isolate))
		last = max(last, isolateAt)
	}

	// reflex's groups: rules of those created in round 1 or to be fixed;
	// those still missing created, then given their rules
	for _, f := range fixes {
		if f.kind == isogroup.Untrack && !untrackFirst {
			continue
		}
		for _, fn := range f.apply(ctx, c) {
			at(2).add("set the rules of "+f.id, fn)
		}
	}
	for _, vpc := range late {
		g := byVPC[vpc]
		for _, kind := range groupKinds(untrackFirst, custom) {
			if (kind == isogroup.Untrack && g.untrack != "") || (kind == isogroup.Isolate && g.isolate != "") {
				continue
			}
			at(2).add("create "+isogroup.Name(kind)+" in "+vpc, func() error {
				gid, err := createGroup(ctx, c, vpc, kind)
				mu.Lock()
				defer mu.Unlock()
				if kind == isogroup.Untrack {
					g.untrack = gid
				} else {
					g.isolate = gid
				}
				return err
			})
			at(3).add("set the rules of reflex's "+kind+" group in "+vpc, func() error {
				gid := g.untrack
				if kind == isogroup.Isolate {
					gid = g.isolate
				}
				return awsstep.First(awsstep.Parallel(2, newGroupFix(gid, kind).apply(ctx, c)...))
			})
		}
	}
	// the snapshots an earlier attempt did not start
	if !snapsStarted {
		var exclude []string
		excludeBoot := false
		for _, b := range in.BlockDeviceMappings {
			if b.Ebs == nil {
				continue
			}
			if _, ok := snaps[aws.ToString(b.Ebs.VolumeId)]; ok {
				if aws.ToString(b.DeviceName) == aws.ToString(in.RootDeviceName) {
					excludeBoot = true
				} else {
					exclude = append(exclude, aws.ToString(b.Ebs.VolumeId))
				}
			}
		}
		at(2).add("snapshot the volumes", func() error {
			got, err := createSnapshotsAtMostOnce(ctx, c, snapshotsInput(req, id, token, excludeBoot, exclude), token)
			mu.Lock()
			maps.Copy(snaps, got)
			mu.Unlock()
			return err
		})
	}

	// The changes to the instance: the finding's tags, protection, Auto
	// Scaling detach, Elastic IPs and instance profile removed; with them,
	// the rest of the evidence (target membership, the groups' rules).
	rb := at(base)
	kf, kg, kt := tagKeys("reflex:")
	if tags[kf] != req.Finding.ID {
		instTags := map[string]string{kf: req.Finding.ID, kg: clip(encodeGroups(prior.Interfaces.Interfaces), 256), kt: time.Now().UTC().Format(time.RFC3339)}
		rb.add("tag "+id, func() error { return setTags(ctx, c, []string{id}, instTags) })
	}
	for _, eni := range sortedKeys(prior.Interfaces.Interfaces) {
		if _, ok := nicTags[eni][TagOriginalGroups]; ok {
			continue
		}
		gs := prior.Interfaces.Interfaces[eni]
		rb.add("record the original groups of "+eni, func() error {
			return setTags(ctx, c, []string{eni}, map[string]string{TagOriginalGroups: strings.Join(gs, ",")})
		})
	}
	rb.add("protect "+id, func() error {
		return applyProtection(ctx, c, id, cur, protection{DisableAPITermination: true, ShutdownBehavior: "stop"})
	})
	if group != "" {
		rb.add("detach "+id+" from "+group, func() error {
			_, err := as.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String(group),
				InstanceIds: []string{id}, ShouldDecrementDesiredCapacity: aws.Bool(false)})
			return err
		})
	}
	// The detach deregisters the instance from its group's target groups
	// while their health is read in the same round: the group's target
	// groups are read from the group itself, so the membership it gave is
	// known whichever lands first.
	var asgTGs []string
	if prior.ASG != nil && prior.Targets == nil {
		rb.add("read the target groups of "+prior.ASG.Group, func() error {
			out, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{prior.ASG.Group}})
			if err == nil && len(out.AutoScalingGroups) > 0 {
				asgTGs = out.AutoScalingGroups[0].TargetGroupARNs
			}
			return err
		})
	}
	for _, a := range ev.Addresses {
		assocID := aws.ToString(a.AssociationId)
		rb.add("disassociate "+aws.ToString(a.PublicIp), func() error {
			_, err := c.DisassociateAddress(ctx, &sdk.DisassociateAddressInput{AssociationId: aws.String(assocID)})
			if isCode(err, "InvalidAssociationID.NotFound") {
				return nil
			}
			return err
		})
	}
	if req.Params.Bool("remove_profile") && assoc != nil {
		rb.add("remove the instance profile", func() error {
			_, err := c.DisassociateIamInstanceProfile(ctx, &sdk.DisassociateIamInstanceProfileInput{AssociationId: assoc.AssociationId})
			if isCode(err, "InvalidAssociationID.NotFound") {
				return nil
			}
			return err
		})
	}
	mships := make([]*Membership, len(tgs))
	if prior.Targets == nil {
		for i, tg := range tgs {
			arn := aws.ToString(tg.TargetGroupArn)
			rb.add("read target health in "+arn, func() (err error) { mships[i], err = membership(ctx, env, arn, id); return err })
		}
	}
	if len(evidence.SecurityGroups) == 0 {
		var sgIDs []string
		sgSeen := map[string]bool{}
		for _, n := range evidence.NetworkInterfaces {
			for _, g := range n.Groups {
				if gid := aws.ToString(g.GroupId); !sgSeen[gid] {
					sgSeen[gid] = true
					sgIDs = append(sgIDs, gid)
				}
			}
		}
		if len(sgIDs) > 0 {
			rb.add("describe the security groups", func() error {
				out, err := c.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{GroupIds: sgIDs})
				if err == nil {
					evidence.SecurityGroups = out.SecurityGroups
				}
				return err
			})
		}
	}

	for k := 2; k <= last; k++ {
		if k == base+1 {
			// the evidence is complete and the membership known: both are
			// journaled before the targets are deregistered
			snapOut.Snapshots = pick(snaps, vols)
			if prior.Targets == nil {
				prior.Targets = &targetsPrior{Targets: memberships(tgs, mships, asgTGs, prior.ASG, decodeTargets(tags, env))}
				evidence.TargetGroups = prior.Targets.Targets
			}
			if err := awsstep.Checkpoint(ctx, req, prior); err != nil {
				return action.Failed(err, true)
			}
			for _, m := range prior.Targets.Targets {
				at(k).add("deregister from "+m.TargetGroupARN, func() error {
					_, err := lb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(m.TargetGroupARN),
						Targets: []elbtypes.TargetDescription{target(id, m.Port)}})
					if isCode(err, "InvalidTarget") {
						return nil // its Auto Scaling group's detach deregistered it already
					}
					return err
				})
			}
			if tags[TagEvidence] != req.Finding.ID { // ec2.stop requires the mark
				at(k).add("mark the evidence", func() error { return setTags(ctx, c, []string{id}, map[string]string{TagEvidence: req.Finding.ID}) })
			}
		}
		if rounds[k] == nil {
			continue
		}
		if err := rounds[k].run(); err != nil {
			return awsstep.Fail(err, "contain %s: round %d", id, k)
		}
	}
	isolated := map[string]string{}
	for _, n := range nics {
		isolated[aws.ToString(n.NetworkInterfaceId)] = isoOf(aws.ToString(n.VpcId))
	}
	prior.Evidence, prior.Recorded = nil, false // the evidence is the output; the prior state is what release restores
	if len(prior.Targets.Targets) == 0 {
		prior.Targets = nil
	}
	return awsstep.Result(prior, map[string]any{"evidence": evidence, "snapshots": snapOut.Snapshots, "isolated": isolated})
}

// priorOf is the prior state of an instance no attempt has changed yet, as
// round 1 read it; checkpoint tags of an earlier reflex version, if any,
// take precedence.
func priorOf(req *action.Request, env awsstep.Env, ev *Evidence, cur protection, group string, assoc *types.IamInstanceProfileAssociation,
	tags map[string]string, nicTags map[string]map[string]string, cps []types.Address) containPrior {
	var prior containPrior
	pp := cur
	if cp, ok := tags[TagProtectPrior]; ok {
		if p, ok := decodeProtection(cp); ok {
			pp = p
		}
	}
	prior.Protect = &pp
	if cp := tags[TagASGPrior]; cp != "" {
		prior.ASG = &asgPrior{Group: cp}
	} else if group != "" {
		prior.ASG = &asgPrior{Group: group}
	}
	if req.Params.Bool("remove_profile") {
		if cp := tags[TagProfilePrior]; cp != "" {
			prior.Profile = &profilePrior{ProfileARN: cp}
		} else if assoc != nil {
			prior.Profile = &profilePrior{ProfileARN: aws.ToString(assoc.IamInstanceProfile.Arn)}
		}
	}
	kf, kg, kt := tagKeys("reflex:")
	prior.Tags = tagPrior{}
	for _, k := range []string{kf, kg, kt} {
		if old, ok := tags[k]; ok && tags[kf] != req.Finding.ID {
			prior.Tags[k] = aws.String(old)
		} else {
			prior.Tags[k] = nil
		}
	}
	prior.Interfaces = &isolatePrior{Interfaces: map[string][]string{}}
	for _, n := range sortedENIs(ev.Instance) {
		eni := aws.ToString(n.NetworkInterfaceId)
		if cp, ok := nicTags[eni][TagOriginalGroups]; ok {
			prior.Interfaces.Interfaces[eni] = splitList(cp)
		} else {
			prior.Interfaces.Interfaces[eni] = groupIDs(n.Groups)
		}
	}
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
		if alloc := aws.ToString(a.AllocationId); !seen[alloc] {
			prior.EIPs.Associations = append(prior.EIPs.Associations, Association{AllocationID: alloc, PublicIP: aws.ToString(a.PublicIp),
				NetworkInterface: aws.ToString(a.NetworkInterfaceId), PrivateIP: aws.ToString(a.PrivateIpAddress)})
		}
	}
	prior.Capture = &capturePrior{}
	prior.Capture.Marker, prior.Capture.Had = tags[TagEvidence]
	if prior.Capture.Marker == req.Finding.ID {
		prior.Capture = &capturePrior{}
	}
	if tp := decodeTargets(tags, env); tp != nil {
		prior.Targets = &targetsPrior{Targets: tp}
	}
	return prior
}

// memberships is the instance's target group membership before the
// containment: legacy checkpoint tags when there are some; else what the
// health reads found, with the target groups of its Auto Scaling group
// (which registered it there, and whose detach may have deregistered it
// before its health was read).
func memberships(tgs []elbtypes.TargetGroup, read []*Membership, asgTGs []string, asg *asgPrior, legacy []Membership) []Membership {
	if legacy != nil {
		return legacy
	}
	var out []Membership
	seen := map[string]bool{}
	for _, m := range read {
		if m != nil {
			out = append(out, *m)
			seen[m.TargetGroupARN] = true
		}
	}
	for _, arn := range asgTGs {
		if seen[arn] {
			continue
		}
		for _, tg := range tgs {
			if aws.ToString(tg.TargetGroupArn) == arn {
				out = append(out, Membership{TargetGroupARN: arn, Port: aws.ToInt32(tg.Port), State: "registered by its Auto Scaling group " + asg.Group})
			}
		}
	}
	return out
}

// groupKinds are the kinds of reflex's groups a step with these
// parameters puts on interfaces (isogroup.Untrack, isogroup.Isolate).
func groupKinds(untrackFirst bool, custom string) []string {
	var kinds []string
	if untrackFirst {
		kinds = append(kinds, isogroup.Untrack)
	}
	if custom == "" {
		kinds = append(kinds, isogroup.Isolate)
	}
	return kinds
}

// GroupKinds returns the kinds of reflex's groups (package isogroup) the
// step named step puts on interfaces with these parameters: what reflex
// setup makes ahead in every VPC. None for a step that uses no such group.
func GroupKinds(step string, p action.Params) []string {
	switch step {
	case "ec2.isolate", "ec2.contain":
		return groupKinds(p.Bool("untrack_first"), p.String("isolation_group"))
	}
	return nil
}

// snapshotsInput is the CreateSnapshots call of ec2.contain: every volume
// of the instance but those excluded, tagged with the finding, the
// instance and the step's token.
func snapshotsInput(req *action.Request, id, token string, excludeBoot bool, exclude []string) *sdk.CreateSnapshotsInput {
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
	return input
}

// targetGroups lists the region's target groups.
func targetGroups(ctx context.Context, lb *elb.Client) ([]elbtypes.TargetGroup, error) {
	var out []elbtypes.TargetGroup
	p := elb.NewDescribeTargetGroupsPaginator(lb, &elb.DescribeTargetGroupsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.TargetGroups...)
	}
	return out, nil
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
func createOnly(ctx context.Context, c *sdk.Client, vpc, kind string) (string, error) {
	for attempt := 0; ; attempt++ {
		out, err := c.CreateSecurityGroup(ctx, isogroup.CreateInput(vpc, kind, nil), func(o *sdk.Options) { o.RetryMaxAttempts = 1 })
		switch {
		case err == nil:
			return aws.ToString(out.GroupId), nil
		case isCode(err, "InvalidGroup.Duplicate") && attempt == 0:
			return "", nil
		case isCode(err, "InvalidGroup.Duplicate"):
			return createGroup(ctx, c, vpc, kind) // made by an earlier try: read it
		case !cloud.Retryable(err) || attempt >= 8:
			return "", err
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return "", err
		}
	}
}
