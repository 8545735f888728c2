package fakeaws

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Auto Scaling (AWS query protocol). DetachInstances follows AWS: the
// instance is deregistered from the group's target groups; with
// ShouldDecrementDesiredCapacity=false the group launches a replacement
// (a new instance cloned from the detached one's network settings), with
// true the desired capacity drops (never below the minimum size).

type asg struct {
	Name, ARN        string
	Min, Max, Desire int
	Instances        []string
	TGs              []string // target group ARNs
	Created          time.Time
}

const asgNS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"

func autoscalingService() *service {
	s := &service{name: "autoscaling", proto: protoQuery, xmlns: asgNS,
		throttleErr: &apiError{status: 400, code: "Throttling", msg: "Rate exceeded"}}
	s.query = map[string]queryHandler{
		"DescribeAutoScalingInstances": asDescribeInstances,
		"DescribeAutoScalingGroups":    asDescribeGroups,
		"DetachInstances":              asDetach,
		"AttachInstances":              asAttach,
	}
	return s
}

func (c *Cloud) loadASG(a *account, reg *region, gs ASGSpec) error {
	g := &asg{Name: gs.Name, Min: gs.Min, Max: gs.Max, Desire: gs.Desired, Created: c.clock(),
		ARN: fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", reg.name, a.id, c.uuid(), gs.Name)}
	for _, id := range gs.Instances {
		if reg.instances[id] == nil {
			return fmt.Errorf("unknown instance %s", id)
		}
		g.Instances = append(g.Instances, id)
	}
	if g.Desire == 0 {
		g.Desire = len(g.Instances)
	}
	if g.Max == 0 {
		g.Max = max(g.Desire, 1)
	}
	for _, n := range gs.TargetGroups {
		tg := tgByName(reg, n)
		if tg == nil {
			return fmt.Errorf("unknown target group %s", n)
		}
		g.TGs = append(g.TGs, tg.ARN)
	}
	reg.asgs[g.Name] = g
	return nil
}

func (r *request) asgOf(instanceID string) *asg {
	for _, g := range r.reg().asgs {
		if slices.Contains(g.Instances, instanceID) {
			return g
		}
	}
	return nil
}

func (r *request) writeASGInstance(x *xw, name string, g *asg, id string, withGroup bool) {
	in := r.reg().instances[id]
	x.open(name).el("InstanceId", id)
	if withGroup {
		x.el("AutoScalingGroupName", g.Name)
	}
	az, typ := "", ""
	if in != nil {
		az, typ = in.AZ, in.Type
	}
	x.el("InstanceType", typ).el("AvailabilityZone", az).el("LifecycleState", "InService").
		el("HealthStatus", "HEALTHY").bool("ProtectedFromScaleIn", false).close(name)
}

func asDescribeInstances(r *request) (string, error) {
	reg := r.reg()
	ids := r.form.list("InstanceIds.member")
	if len(ids) == 0 {
		for _, n := range sortedKeys(reg.asgs) {
			ids = append(ids, reg.asgs[n].Instances...)
		}
	}
	type pair struct {
		g  *asg
		id string
	}
	var sel []pair
	for _, id := range ids {
		if g := r.asgOf(id); g != nil {
			sel = append(sel, pair{g, id})
		}
	}
	pg, next, ok := page(sel, r.form.s("NextToken"), r.form.i("MaxRecords", 0), 50)
	if !ok {
		return "", badRequest("InvalidNextToken", "The token is invalid.")
	}
	var x xw
	x.open("AutoScalingInstances")
	for _, p := range pg {
		r.writeASGInstance(&x, "member", p.g, p.id, true)
	}
	x.close("AutoScalingInstances").opt("NextToken", next)
	return x.String(), nil
}

func asDescribeGroups(r *request) (string, error) {
	reg := r.reg()
	names := r.form.list("AutoScalingGroupNames.member")
	if len(names) == 0 {
		names = sortedKeys(reg.asgs)
	}
	var x xw
	x.open("AutoScalingGroups")
	for _, n := range names {
		g := reg.asgs[n]
		if g == nil {
			continue
		}
		x.open("member").el("AutoScalingGroupName", g.Name).el("AutoScalingGroupARN", g.ARN).
			int("MinSize", g.Min).int("MaxSize", g.Max).int("DesiredCapacity", g.Desire).int("DefaultCooldown", 300).
			members("AvailabilityZones", []string{reg.name + "a"}).el("HealthCheckType", "EC2").
			time("CreatedTime", g.Created).members("TargetGroupARNs", g.TGs).open("Instances")
		for _, id := range g.Instances {
			r.writeASGInstance(&x, "member", g, id, false)
		}
		x.close("Instances").close("member")
	}
	x.close("AutoScalingGroups")
	return x.String(), nil
}

func (r *request) asgByName() (*asg, error) {
	n := r.form.s("AutoScalingGroupName")
	g := r.reg().asgs[n]
	if g == nil {
		return nil, badRequest("ValidationError", "AutoScalingGroup name not found - AutoScalingGroup %s not found", n)
	}
	return g, nil
}

func asDetach(r *request) (string, error) {
	reg := r.reg()
	g, err := r.asgByName()
	if err != nil {
		return "", err
	}
	if !r.form.has("ShouldDecrementDesiredCapacity") {
		return "", badRequest("ValidationError", "1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null")
	}
	dec := r.form.b("ShouldDecrementDesiredCapacity")
	ids := r.form.list("InstanceIds.member")
	for _, id := range ids {
		if !slices.Contains(g.Instances, id) {
			return "", badRequest("ValidationError", "The instance %s is not part of Auto Scaling group %s.", id, g.Name)
		}
	}
	if dec && g.Desire-len(ids) < g.Min {
		return "", badRequest("ValidationError", "Currently, desiredCapacity is %d and minSize is %d. Detaching %d instance(s) would make desiredCapacity less than minSize.", g.Desire, g.Min, len(ids))
	}
	now := r.c.clock()
	var x xw
	x.open("Activities")
	for _, id := range ids {
		i := slices.Index(g.Instances, id)
		g.Instances = slices.Delete(g.Instances, i, i+1)
		for _, arn := range g.TGs {
			if tg := reg.tgs[arn]; tg != nil {
				tg.Targets = slices.DeleteFunc(tg.Targets, func(t *target) bool { return t.ID == id })
			}
		}
		cause := fmt.Sprintf("At %s an instance was detached in response to a user request", now.UTC().Format(time.RFC3339))
		if dec {
			g.Desire--
			cause += ", shrinking the capacity from " + strconv.Itoa(g.Desire+1) + " to " + strconv.Itoa(g.Desire) + "."
		} else {
			cause += ", keeping the capacity at " + strconv.Itoa(g.Desire) + "."
			if nid := r.replacement(id); nid != "" {
				g.Instances = append(g.Instances, nid)
				for _, arn := range g.TGs {
					if tg := reg.tgs[arn]; tg != nil {
						tg.Targets = append(tg.Targets, &target{ID: nid, Port: tg.Port})
					}
				}
			}
		}
		x.open("member").el("ActivityId", r.c.uuid()).el("AutoScalingGroupName", g.Name).
			el("Description", "Detaching EC2 instance: "+id).el("Cause", cause).time("StartTime", now).
			el("StatusCode", "InProgress").int("Progress", 50).close("member")
	}
	x.close("Activities")
	return x.String(), nil
}

// replacement launches an instance like id (same subnets and groups).
func (r *request) replacement(id string) string {
	reg := r.reg()
	old := reg.instances[id]
	if old == nil {
		return ""
	}
	in := &instance{ID: r.c.id("i-", 17), Type: old.Type, Image: old.Image, State: "running", AZ: old.AZ,
		ShutdownBehavior: "stop", LaunchTime: r.c.clock()}
	for i, eid := range old.ENIs {
		oe := reg.enis[eid]
		e := &eni{ID: r.c.id("eni-", 17), Subnet: oe.Subnet, VPC: oe.VPC, AZ: oe.AZ, Instance: in.ID, DeviceIndex: i,
			PrivateIP: fmt.Sprintf("10.0.%d.%d", r.c.rng.IntN(250)+1, r.c.rng.IntN(250)+4), MAC: oe.MAC,
			AttachmentID: r.c.id("eni-attach-", 17), DeleteOnTermination: true, SourceDestCheck: true}
		e.Groups = slices.Clone(oe.Groups)
		reg.enis[e.ID] = e
		reg.seen(e.ID)
		in.ENIs = append(in.ENIs, e.ID)
	}
	for _, b := range old.Blocks {
		ov := reg.volumes[b.Volume]
		v := &volume{ID: r.c.id("vol-", 17), AZ: in.AZ, Type: "gp3", Size: 8, Created: in.LaunchTime}
		if ov != nil {
			v.Type, v.Size = ov.Type, ov.Size
		}
		reg.volumes[v.ID] = v
		reg.seen(v.ID)
		in.Blocks = append(in.Blocks, &blockDev{Device: b.Device, Volume: v.ID, DeleteOnTermination: true})
	}
	reg.instances[in.ID] = in
	reg.seen(in.ID)
	return in.ID
}

func asAttach(r *request) (string, error) {
	reg := r.reg()
	g, err := r.asgByName()
	if err != nil {
		return "", err
	}
	ids := r.form.list("InstanceIds.member")
	for _, id := range ids {
		in := reg.instances[id]
		if in == nil {
			return "", badRequest("ValidationError", "Instance %s is not in correct state", id)
		}
		if in.State != "running" {
			return "", badRequest("ValidationError", "Instance %s is not in correct state", id)
		}
		if o := r.asgOf(id); o != nil {
			return "", badRequest("ValidationError", "The instance %s is already part of the Auto Scaling group %s.", id, o.Name)
		}
	}
	if g.Desire+len(ids) > g.Max {
		return "", badRequest("ValidationError", "Attaching %d instance(s) to %s would exceed the maximum size of %d.", len(ids), g.Name, g.Max)
	}
	for _, id := range ids {
		g.Instances = append(g.Instances, id)
		g.Desire++
		for _, arn := range g.TGs {
			if tg := reg.tgs[arn]; tg != nil && !slices.ContainsFunc(tg.Targets, func(t *target) bool { return t.ID == id }) {
				tg.Targets = append(tg.Targets, &target{ID: id, Port: tg.Port})
			}
		}
	}
	return "", nil
}
