package ec2

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/action/internal/awsstep"
)

// Evidence is what ec2.capture-evidence records in the ledger.
type Evidence struct {
	Instance          *types.Instance                       `json:"instance"`
	NetworkInterfaces []types.NetworkInterface              `json:"network_interfaces"`
	SecurityGroups    []types.SecurityGroup                 `json:"security_groups"`
	Volumes           []types.Volume                        `json:"volumes"`
	ProfileAssocs     []types.IamInstanceProfileAssociation `json:"instance_profile_associations"`
	Addresses         []types.Address                       `json:"addresses"`
	AutoScalingGroup  string                                `json:"autoscaling_group,omitempty"`
	TargetGroups      []Membership                          `json:"target_groups,omitempty"`
	ConsoleOutput     string                                `json:"console_output,omitempty"`
	Problems          []string                              `json:"problems,omitempty"`
}

// Membership is the instance's registration in one target group.
type Membership struct {
	TargetGroupARN string `json:"target_group_arn"`
	Port           int32  `json:"port,omitempty"`
	State          string `json:"state,omitempty"`
}

func capture() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "ec2.capture-evidence", Effect: action.ReadOnly, Targets: instanceKinds,
			Description: "Capture the instance's metadata before any change: instance, interfaces, security groups, volumes, tags, " +
				"instance profile, Elastic IPs, Auto Scaling and target group membership, console output — recorded in the ledger. " +
				"Marks the instance with the tag reflex:evidence=<finding id> once the evidence is complete (ec2.stop requires it).",
			Example: "- step: ec2.capture-evidence",
			IAMActions: []string{"ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeVolumes",
				"ec2:DescribeIamInstanceProfileAssociations", "ec2:DescribeAddresses", "ec2:GetConsoleOutput", "ec2:CreateTags", "ec2:DeleteTags",
				"autoscaling:DescribeAutoScalingInstances", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"}},
		PlanFn: func(req *action.Request) []action.Call {
			id := instanceID(req)
			f := map[string]any{"attachment.instance-id": id}
			return []action.Call{
				call("ec2", "DescribeInstances", id, nil, "in parallel with the next six"),
				call("ec2", "DescribeNetworkInterfaces", id, map[string]any{"Filters": f}, ""),
				call("ec2", "DescribeVolumes", id, map[string]any{"Filters": f}, ""),
				call("ec2", "DescribeIamInstanceProfileAssociations", id, nil, ""),
				call("ec2", "DescribeAddresses", id, nil, ""),
				call("ec2", "GetConsoleOutput", id, nil, ""),
				call("autoscaling", "DescribeAutoScalingInstances", id, nil, ""),
				call("elasticloadbalancing", "DescribeTargetGroups", "", nil, "then DescribeTargetHealth per group, in parallel"),
				call("ec2", "DescribeSecurityGroups", id, nil, "the groups of every interface"),
				call("ec2", "CreateTags", id, map[string]any{TagEvidence: req.Finding.ID}, "once the evidence is complete"),
			}
		},
		DoFn:   doCapture,
		UndoFn: undoCapture,
	}
}

type capturePrior struct {
	Marker string `json:"marker_before,omitempty"` // the reflex:evidence tag before ("" none)
	Had    bool   `json:"had_marker"`
}

func doCapture(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
	id := instanceID(req)
	c, err := ec2Client(ctx, env)
	if err != nil {
		return action.Failed(err, false)
	}
	ev, err := gather(ctx, env, c, id)
	if err != nil {
		return awsstep.Fail(err, "capture evidence of %s", id)
	}
	tags := tagMap(ev.Instance.Tags)
	prior := capturePrior{}
	prior.Marker, prior.Had = tags[TagEvidence]
	if prior.Marker == req.Finding.ID {
		// an earlier attempt marked it: keep what it recorded before
		prior = capturePrior{}
		if len(req.Prior) > 0 {
			_ = awsstep.Unmarshal(req, &prior)
		}
	} else if err := awsstep.Checkpoint(ctx, req, prior); err != nil {
		return action.Failed(err, true)
	} else if err := setTags(ctx, c, []string{id}, map[string]string{TagEvidence: req.Finding.ID}); err != nil {
		return awsstep.Fail(err, "mark %s as captured", id)
	}
	return awsstep.Result(prior, ev)
}

func undoCapture(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
	var p capturePrior
	if err := awsstep.Unmarshal(req, &p); err != nil {
		return action.Failed(err, false)
	}
	c, err := ec2Client(ctx, env)
	if err != nil {
		return action.Failed(err, false)
	}
	id := instanceID(req)
	if p.Had {
		err = setTags(ctx, c, []string{id}, map[string]string{TagEvidence: p.Marker})
	} else {
		err = deleteTags(ctx, c, []string{id}, TagEvidence)
	}
	if err != nil {
		return awsstep.Fail(err, "restore the tags of %s", id)
	}
	return action.Done(map[string]any{"evidence": "kept in the ledger"})
}

// gather reads everything about the instance: one round of parallel calls
// keyed by the instance id, then the security groups and target health.
func gather(ctx context.Context, env awsstep.Env, c *sdk.Client, id string) (*Evidence, error) {
	ev := &Evidence{}
	var mu sync.Mutex
	var tgs []string
	problem := func(format string, a ...any) {
		mu.Lock()
		ev.Problems = append(ev.Problems, fmt.Sprintf(format, a...))
		mu.Unlock()
	}
	byInstance := []types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{id}}}
	errs := awsstep.Parallel(awsstep.Concurrency,
		func() (err error) { ev.Instance, err = describe(ctx, c, id); return err },
		func() error {
			out, err := c.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: byInstance})
			if err == nil {
				ev.NetworkInterfaces = out.NetworkInterfaces
			}
			return err
		},
		func() error {
			out, err := c.DescribeVolumes(ctx, &sdk.DescribeVolumesInput{Filters: byInstance})
			if err == nil {
				ev.Volumes = out.Volumes
			}
			return err
		},
		func() error {
			out, err := c.DescribeIamInstanceProfileAssociations(ctx, &sdk.DescribeIamInstanceProfileAssociationsInput{
				Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{id}}}})
			if err == nil {
				ev.ProfileAssocs = out.IamInstanceProfileAssociations
			}
			return err
		},
		func() error {
			out, err := c.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{
				Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{id}}}})
			if err == nil {
				ev.Addresses = out.Addresses
			}
			return err
		},
		func() error {
			out, err := c.GetConsoleOutput(ctx, &sdk.GetConsoleOutputInput{InstanceId: aws.String(id)})
			if err != nil {
				problem("console output: %v", err)
				return nil // evidence still complete enough; the problem is recorded
			}
			if b, derr := base64.StdEncoding.DecodeString(aws.ToString(out.Output)); derr == nil {
				ev.ConsoleOutput = string(b)
			} else {
				ev.ConsoleOutput = aws.ToString(out.Output)
			}
			return nil
		},
		func() error {
			as, err := env.AutoScaling(ctx, env.Account, env.Region)
			if err != nil {
				return err
			}
			out, err := as.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{id}})
			if err == nil && len(out.AutoScalingInstances) > 0 {
				ev.AutoScalingGroup = aws.ToString(out.AutoScalingInstances[0].AutoScalingGroupName)
			}
			return err
		},
		func() error {
			arns, err := targetGroupARNs(ctx, env)
			tgs = arns
			return err
		},
	)
	if err := awsstep.First(errs); err != nil {
		return nil, err
	}
	var groups []string
	seen := map[string]bool{}
	for _, n := range ev.NetworkInterfaces {
		for _, g := range n.Groups {
			if gid := aws.ToString(g.GroupId); !seen[gid] {
				seen[gid] = true
				groups = append(groups, gid)
			}
		}
	}
	fns := []func() error{func() error {
		if len(groups) == 0 {
			return nil
		}
		out, err := c.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{GroupIds: groups})
		if err == nil {
			ev.SecurityGroups = out.SecurityGroups
		}
		return err
	}}
	for _, arn := range tgs {
		fns = append(fns, func() error {
			m, err := membership(ctx, env, arn, id)
			if err == nil && m != nil {
				mu.Lock()
				ev.TargetGroups = append(ev.TargetGroups, *m)
				mu.Unlock()
			}
			return err
		})
	}
	if err := awsstep.First(awsstep.Parallel(awsstep.Concurrency, fns...)); err != nil {
		return nil, err
	}
	return ev, nil
}

func targetGroupARNs(ctx context.Context, env awsstep.Env) ([]string, error) {
	lb, err := env.ELBv2(ctx, env.Account, env.Region)
	if err != nil {
		return nil, err
	}
	var out []string
	p := elb.NewDescribeTargetGroupsPaginator(lb, &elb.DescribeTargetGroupsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, tg := range page.TargetGroups {
			out = append(out, aws.ToString(tg.TargetGroupArn))
		}
	}
	return out, nil
}

// membership returns the instance's registration in a target group (nil
// when it is not registered).
func membership(ctx context.Context, env awsstep.Env, arn, id string) (*Membership, error) {
	lb, err := env.ELBv2(ctx, env.Account, env.Region)
	if err != nil {
		return nil, err
	}
	out, err := lb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	for _, d := range out.TargetHealthDescriptions {
		if d.Target == nil || aws.ToString(d.Target.Id) != id {
			continue
		}
		m := &Membership{TargetGroupARN: arn, Port: aws.ToInt32(d.Target.Port)}
		if d.TargetHealth != nil {
			m.State = string(d.TargetHealth.State)
		}
		return m, nil
	}
	return nil, nil
}

func decodeConsole(s string) string {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return string(b)
	}
	return s
}
