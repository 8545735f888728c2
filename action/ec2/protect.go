package ec2

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/action/internal/awsstep"
)

// protection is the state ec2.protect changes.
type protection struct {
	DisableAPITermination bool     `json:"disable_api_termination"`
	ShutdownBehavior      string   `json:"shutdown_behavior"`
	DeleteOnTermination   []string `json:"delete_on_termination,omitempty"` // devices whose volume was deleted on termination
}

func (p protection) encode() string {
	return fmt.Sprintf("t=%t;s=%s;d=%s", p.DisableAPITermination, p.ShutdownBehavior, strings.Join(p.DeleteOnTermination, ","))
}

func decodeProtection(s string) (protection, bool) {
	var p protection
	ok := 0
	for _, part := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			p.DisableAPITermination = v == "true"
			ok++
		case "s":
			p.ShutdownBehavior = v
			ok++
		case "d":
			if v != "" {
				p.DeleteOnTermination = strings.Split(v, ",")
			}
			ok++
		}
	}
	return p, ok == 3
}

func protect() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "ec2.protect", Effect: action.Reversible, Targets: instanceKinds,
			Description: "Protect the evidence: termination protection, shutdown behaviour stop, DeleteOnTermination=false on every volume. " +
				"The previous settings are recorded (and checkpointed in the tag reflex:prior-protect) for release.",
			Example:    "- step: ec2.protect",
			IAMActions: []string{"ec2:DescribeInstances", "ec2:DescribeInstanceAttribute", "ec2:ModifyInstanceAttribute", "ec2:CreateTags", "ec2:DeleteTags"}},
		PlanFn: func(req *action.Request) []action.Call {
			id := instanceID(req)
			return []action.Call{
				call("ec2", "DescribeInstanceAttribute", id, map[string]any{"Attribute": "disableApiTermination"}, "with the two next, in parallel"),
				call("ec2", "DescribeInstanceAttribute", id, map[string]any{"Attribute": "instanceInitiatedShutdownBehavior"}, ""),
				call("ec2", "DescribeInstances", id, nil, ""),
				call("ec2", "CreateTags", id, map[string]any{"Key": TagProtectPrior}, "checkpoint of the previous settings"),
				call("ec2", "ModifyInstanceAttribute", id, map[string]any{"DisableApiTermination": true}, "the three in parallel, each only if needed"),
				call("ec2", "ModifyInstanceAttribute", id, map[string]any{"InstanceInitiatedShutdownBehavior": "stop"}, ""),
				call("ec2", "ModifyInstanceAttribute", id, map[string]any{"BlockDeviceMappings": "DeleteOnTermination=false for every volume"}, ""),
			}
		},
		DoFn:   doProtect,
		UndoFn: undoProtect,
	}
}

func readProtection(ctx context.Context, c *sdk.Client, id string) (protection, *types.Instance, error) {
	var cur protection
	var in *types.Instance
	errs := awsstep.Parallel(3,
		func() error {
			out, err := c.DescribeInstanceAttribute(ctx, &sdk.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: types.InstanceAttributeNameDisableApiTermination})
			if err == nil && out.DisableApiTermination != nil {
				cur.DisableAPITermination = aws.ToBool(out.DisableApiTermination.Value)
			}
			return err
		},
		func() error {
			out, err := c.DescribeInstanceAttribute(ctx, &sdk.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: types.InstanceAttributeNameInstanceInitiatedShutdownBehavior})
			if err == nil && out.InstanceInitiatedShutdownBehavior != nil {
				cur.ShutdownBehavior = aws.ToString(out.InstanceInitiatedShutdownBehavior.Value)
			}
			return err
		},
		func() (err error) { in, err = describe(ctx, c, id); return err },
	)
	if err := awsstep.First(errs); err != nil {
		return cur, nil, err
	}
	for _, b := range in.BlockDeviceMappings {
		if b.Ebs != nil && aws.ToBool(b.Ebs.DeleteOnTermination) {
			cur.DeleteOnTermination = append(cur.DeleteOnTermination, aws.ToString(b.DeviceName))
		}
	}
	return cur, in, nil
}

// apply sets the instance to want, changing only what differs from cur.
func applyProtection(ctx context.Context, c *sdk.Client, id string, cur, want protection) error {
	var fns []func() error
	if cur.DisableAPITermination != want.DisableAPITermination {
		fns = append(fns, func() error {
			_, err := c.ModifyInstanceAttribute(ctx, &sdk.ModifyInstanceAttributeInput{InstanceId: aws.String(id),
				DisableApiTermination: &types.AttributeBooleanValue{Value: aws.Bool(want.DisableAPITermination)}})
			return err
		})
	}
	if want.ShutdownBehavior != "" && cur.ShutdownBehavior != want.ShutdownBehavior {
		fns = append(fns, func() error {
			_, err := c.ModifyInstanceAttribute(ctx, &sdk.ModifyInstanceAttributeInput{InstanceId: aws.String(id),
				InstanceInitiatedShutdownBehavior: &types.AttributeValue{Value: aws.String(want.ShutdownBehavior)}})
			return err
		})
	}
	var bdm []types.InstanceBlockDeviceMappingSpecification
	for _, d := range union(cur.DeleteOnTermination, want.DeleteOnTermination) {
		w := contains(want.DeleteOnTermination, d)
		if contains(cur.DeleteOnTermination, d) != w {
			bdm = append(bdm, types.InstanceBlockDeviceMappingSpecification{DeviceName: aws.String(d),
				Ebs: &types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(w)}})
		}
	}
	if len(bdm) > 0 {
		fns = append(fns, func() error {
			_, err := c.ModifyInstanceAttribute(ctx, &sdk.ModifyInstanceAttributeInput{InstanceId: aws.String(id), BlockDeviceMappings: bdm})
			return err
		})
	}
	return awsstep.First(awsstep.Parallel(3, fns...))
}

func doProtect(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
	id := instanceID(req)
	c, err := ec2Client(ctx, env)
	if err != nil {
		return action.Failed(err, false)
	}
	cur, in, err := readProtection(ctx, c, id)
	if err != nil {
		return awsstep.Fail(err, "read the protection of %s", id)
	}
	want := protection{DisableAPITermination: true, ShutdownBehavior: "stop"}
	prior := cur
	if cp, ok := tagMap(in.Tags)[TagProtectPrior]; ok {
		if p, ok := decodeProtection(cp); ok {
			prior = p // an earlier attempt's checkpoint: the state before it
		}
	} else if cur.DisableAPITermination != want.DisableAPITermination || cur.ShutdownBehavior != want.ShutdownBehavior || len(cur.DeleteOnTermination) > 0 {
		if err := awsstep.Checkpoint(ctx, req, prior); err != nil {
			return action.Failed(err, true)
		}
		if err := setTags(ctx, c, []string{id}, map[string]string{TagProtectPrior: cur.encode()}); err != nil {
			return awsstep.Fail(err, "checkpoint the protection of %s", id)
		}
	} else {
		return action.Skipped(id + " is already protected (termination protection, shutdown stop, volumes kept)")
	}
	if err := applyProtection(ctx, c, id, cur, want); err != nil {
		return awsstep.Fail(err, "protect %s", id)
	}
	return awsstep.Result(prior, want)
}

func undoProtect(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
	var prior protection
	if err := awsstep.Unmarshal(req, &prior); err != nil {
		return action.Failed(err, false)
	}
	id := instanceID(req)
	c, err := ec2Client(ctx, env)
	if err != nil {
		return action.Failed(err, false)
	}
	cur, _, err := readProtection(ctx, c, id)
	if err != nil {
		return awsstep.Fail(err, "read the protection of %s", id)
	}
	if err := applyProtection(ctx, c, id, cur, prior); err != nil {
		return awsstep.Fail(err, "restore the protection of %s", id)
	}
	if err := deleteTags(ctx, c, []string{id}, TagProtectPrior); err != nil {
		return awsstep.Fail(err, "remove the checkpoint tag of %s", id)
	}
	return action.Done(prior)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
