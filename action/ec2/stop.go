package ec2

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/action/internal/awsstep"
)

func stop() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "ec2.stop", Effect: action.Irreversible, Targets: instanceKinds,
			Description: "Stop the instance (its memory is lost). Refused unless ec2.capture-evidence completed for this finding " +
				"(the instance carries reflex:evidence=<finding id>). Cannot be undone: approve mode only.",
			Example:    "- step: ec2.stop",
			IAMActions: []string{"ec2:DescribeInstances", "ec2:StopInstances"}},
		PlanFn: func(req *action.Request) []action.Call {
			id := instanceID(req)
			return []action.Call{
				call("ec2", "DescribeInstances", id, nil, "requires the tag "+TagEvidence+"="+req.Finding.ID),
				call("ec2", "StopInstances", id, nil, "only if running"),
			}
		},
		DoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			id := instanceID(req)
			c, err := ec2Client(ctx, env)
			if err != nil {
				return action.Failed(err, false)
			}
			in, err := describe(ctx, c, id)
			if err != nil {
				return awsstep.Fail(err, "describe %s", id)
			}
			if tagMap(in.Tags)[TagEvidence] != req.Finding.ID {
				return action.Failed(errors.New("refused: the evidence of "+id+" was not captured for this finding (ec2.capture-evidence did not complete); stopping would destroy memory evidence"), false)
			}
			if in.State != nil && (in.State.Name == "stopped" || in.State.Name == "stopping") {
				return action.Skipped(fmt.Sprintf("%s is already %s", id, in.State.Name))
			}
			if _, err := c.StopInstances(ctx, &sdk.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
				return awsstep.Fail(err, "stop %s", id)
			}
			return awsstep.Result(map[string]string{"state": string(in.State.Name)}, map[string]string{"stopped": aws.ToString(in.InstanceId)})
		},
		UndoFn: func(context.Context, awsstep.Env, *action.Request) action.Result {
			return action.Skipped("cannot be undone: the instance's memory is gone (start it with ec2:StartInstances if wanted)")
		},
	}
}
