package ec2

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/action/internal/awsstep"
)

type asgPrior struct {
	Group string `json:"group"`
}

func detachASG() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "ec2.detach-autoscaling", Effect: action.Reversible, Targets: instanceKinds,
			Description: "Detach the instance from its Auto Scaling group without decrementing the desired capacity (the group launches a replacement). " +
				"Release attaches it again, which raises the desired capacity by one: the replacement is kept.",
			Example: "- step: ec2.detach-autoscaling\n  on_failure: continue",
			IAMActions: []string{"autoscaling:DescribeAutoScalingInstances", "autoscaling:DetachInstances", "autoscaling:AttachInstances",
				"ec2:DescribeInstances", "ec2:CreateTags", "ec2:DeleteTags"}},
		PlanFn: func(req *action.Request) []action.Call {
			id := instanceID(req)
			return []action.Call{
				call("autoscaling", "DescribeAutoScalingInstances", id, nil, "with DescribeInstances, in parallel"),
				call("ec2", "CreateTags", id, map[string]any{"Key": TagASGPrior}, "checkpoint: the group's name"),
				call("autoscaling", "DetachInstances", id, map[string]any{"ShouldDecrementDesiredCapacity": false}, "only if the instance is in a group"),
			}
		},
		DoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			id := instanceID(req)
			c, err := ec2Client(ctx, env)
			if err != nil {
				return action.Failed(err, false)
			}
			as, err := env.AutoScaling(ctx, env.Account, env.Region)
			if err != nil {
				return action.Failed(err, false)
			}
			var group string
			var tags map[string]string
			errs := awsstep.Parallel(2,
				func() error {
					out, err := as.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{id}})
					if err == nil && len(out.AutoScalingInstances) > 0 {
						group = aws.ToString(out.AutoScalingInstances[0].AutoScalingGroupName)
					}
					return err
				},
				func() error {
					in, err := describe(ctx, c, id)
					if err == nil {
						tags = tagMap(in.Tags)
					}
					return err
				})
			if err := awsstep.First(errs); err != nil {
				return awsstep.Fail(err, "read the Auto Scaling group of %s", id)
			}
			cp := tags[TagASGPrior]
			switch {
			case group == "" && cp != "":
				return awsstep.Result(asgPrior{Group: cp}, map[string]string{"detached_from": cp})
			case group == "":
				return action.Skipped(id + " is not in an Auto Scaling group")
			case cp == "":
				if err := awsstep.Checkpoint(ctx, req, asgPrior{Group: group}); err != nil {
					return action.Failed(err, true)
				}
				if err := setTags(ctx, c, []string{id}, map[string]string{TagASGPrior: group}); err != nil {
					return awsstep.Fail(err, "checkpoint the Auto Scaling group of %s", id)
				}
			}
			_, err = as.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String(group),
				InstanceIds: []string{id}, ShouldDecrementDesiredCapacity: aws.Bool(false)})
			if err != nil {
				return awsstep.Fail(err, "detach %s from %s", id, group)
			}
			return awsstep.Result(asgPrior{Group: group}, map[string]string{"detached_from": group})
		},
		UndoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			var p asgPrior
			if err := awsstep.Unmarshal(req, &p); err != nil {
				return action.Failed(err, false)
			}
			id := instanceID(req)
			c, err := ec2Client(ctx, env)
			if err != nil {
				return action.Failed(err, false)
			}
			as, err := env.AutoScaling(ctx, env.Account, env.Region)
			if err != nil {
				return action.Failed(err, false)
			}
			out, err := as.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{id}})
			if err != nil {
				return awsstep.Fail(err, "read the Auto Scaling group of %s", id)
			}
			if len(out.AutoScalingInstances) == 0 {
				if _, err := as.AttachInstances(ctx, &autoscaling.AttachInstancesInput{AutoScalingGroupName: aws.String(p.Group), InstanceIds: []string{id}}); err != nil {
					return awsstep.Fail(err, "attach %s to %s", id, p.Group)
				}
			}
			if err := deleteTags(ctx, c, []string{id}, TagASGPrior); err != nil {
				return awsstep.Fail(err, "remove the checkpoint tag of %s", id)
			}
			return action.Done(map[string]string{"attached_to": p.Group,
				"note": "attaching raised the group's desired capacity by one; the replacement it launched is kept"})
		},
	}
}

type targetsPrior struct {
	Targets []Membership `json:"targets"`
}

const targetsTagMax = 40 // checkpoint tags at most (EC2 allows 50 per resource)

func deregister() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "ec2.deregister-targets", Effect: action.Reversible, Targets: instanceKinds,
			Description: "Deregister the instance from every load balancer target group it is in (release registers it again, same ports).",
			Example:     "- step: ec2.deregister-targets\n  on_failure: continue",
			IAMActions: []string{"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
				"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets", "ec2:DescribeInstances", "ec2:CreateTags", "ec2:DeleteTags"}},
		PlanFn: func(req *action.Request) []action.Call {
			id := instanceID(req)
			return []action.Call{
				call("elasticloadbalancing", "DescribeTargetGroups", "", nil, "with DescribeInstances, in parallel"),
				call("elasticloadbalancing", "DescribeTargetHealth", "", nil, "per target group, in parallel"),
				call("ec2", "CreateTags", id, map[string]any{"Key": TagTargetsPrior + ":N"}, "checkpoint: one tag per membership"),
				call("elasticloadbalancing", "DeregisterTargets", id, nil, "per target group it is in, in parallel"),
			}
		},
		DoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			id := instanceID(req)
			c, err := ec2Client(ctx, env)
			if err != nil {
				return action.Failed(err, false)
			}
			var arns []string
			var tags map[string]string
			errs := awsstep.Parallel(2,
				func() (err error) { arns, err = targetGroupARNs(ctx, env); return err },
				func() error {
					in, err := describe(ctx, c, id)
					if err == nil {
						tags = tagMap(in.Tags)
					}
					return err
				})
			if err := awsstep.First(errs); err != nil {
				return awsstep.Fail(err, "read the target groups of %s", id)
			}
			ms := make([]*Membership, len(arns))
			fns := make([]func() error, len(arns))
			for i, arn := range arns {
				fns[i] = func() (err error) { ms[i], err = membership(ctx, env, arn, id); return err }
			}
			if err := awsstep.First(awsstep.Parallel(awsstep.Concurrency, fns...)); err != nil {
				return awsstep.Fail(err, "read the target health of %s", id)
			}
			var cur []Membership
			for _, m := range ms {
				if m != nil {
					cur = append(cur, *m)
				}
			}
			prior := decodeTargets(tags, env)
			if prior == nil {
				if len(cur) == 0 {
					return action.Skipped(id + " is registered in no target group")
				}
				prior = cur
				if err := awsstep.Checkpoint(ctx, req, targetsPrior{Targets: prior}); err != nil {
					return action.Failed(err, true)
				}
				if err := setTags(ctx, c, []string{id}, encodeTargets(cur)); err != nil {
					return awsstep.Fail(err, "checkpoint the target groups of %s", id)
				}
			}
			lb, err := env.ELBv2(ctx, env.Account, env.Region)
			if err != nil {
				return action.Failed(err, false)
			}
			fns = fns[:0]
			for _, m := range cur {
				fns = append(fns, func() error {
					_, err := lb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(m.TargetGroupARN),
						Targets: []elbtypes.TargetDescription{target(id, m.Port)}})
					if isCode(err, "InvalidTarget") {
						return nil // not registered (any more): a retry, or its Auto Scaling group's detach
					}
					return err
				})
			}
			if err := awsstep.First(awsstep.Parallel(awsstep.Concurrency, fns...)); err != nil {
				return awsstep.Fail(err, "deregister %s", id)
			}
			return awsstep.Result(targetsPrior{Targets: prior}, map[string]any{"deregistered_from": prior})
		},
		UndoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			var p targetsPrior
			if err := awsstep.Unmarshal(req, &p); err != nil {
				return action.Failed(err, false)
			}
			id := instanceID(req)
			c, err := ec2Client(ctx, env)
			if err != nil {
				return action.Failed(err, false)
			}
			lb, err := env.ELBv2(ctx, env.Account, env.Region)
			if err != nil {
				return action.Failed(err, false)
			}
			var fns []func() error
			for _, m := range p.Targets {
				fns = append(fns, func() error {
					// RegisterTargets is idempotent: registering a registered target does nothing.
					_, err := lb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(m.TargetGroupARN),
						Targets: []elbtypes.TargetDescription{target(id, m.Port)}})
					return err
				})
			}
			if err := awsstep.First(awsstep.Parallel(awsstep.Concurrency, fns...)); err != nil {
				return awsstep.Fail(err, "register %s again", id)
			}
			var keys []string
			for i := 1; i <= len(p.Targets) && i <= targetsTagMax; i++ {
				keys = append(keys, fmt.Sprintf("%s:%d", TagTargetsPrior, i))
			}
			if err := deleteTags(ctx, c, []string{id}, keys...); err != nil {
				return awsstep.Fail(err, "remove the checkpoint tags of %s", id)
			}
			return action.Done(map[string]any{"registered_in": p.Targets})
		},
	}
}

func target(id string, port int32) elbtypes.TargetDescription {
	t := elbtypes.TargetDescription{Id: aws.String(id)}
	if port != 0 {
		t.Port = aws.Int32(port)
	}
	return t
}

// encodeTargets writes one tag per membership: the target group ARN's
// resource part and the port ("targetgroup/web/0123:443").
func encodeTargets(ms []Membership) map[string]string {
	out := map[string]string{}
	for i, m := range ms {
		if i >= targetsTagMax {
			break
		}
		res := m.TargetGroupARN
		if j := strings.Index(res, ":targetgroup/"); j >= 0 {
			res = res[j+1:]
		}
		out[fmt.Sprintf("%s:%d", TagTargetsPrior, i+1)] = clip(res+":"+strconv.Itoa(int(m.Port)), 256)
	}
	return out
}

func decodeTargets(tags map[string]string, env awsstep.Env) []Membership {
	var out []Membership
	for i := 1; i <= targetsTagMax; i++ {
		v, ok := tags[fmt.Sprintf("%s:%d", TagTargetsPrior, i)]
		if !ok {
			break
		}
		res, port, _ := strings.Cut(v, ":")
		p, _ := strconv.Atoi(port)
		out = append(out, Membership{TargetGroupARN: "arn:aws:elasticloadbalancing:" + env.Region + ":" + env.Account + ":" + res, Port: int32(p)})
	}
	return out
}
