package ec2

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/action/internal/awsstep"
)

// tagPrior maps each tag key ec2.tag wrote to its previous value; a key
// that was absent maps to nil.
type tagPrior map[string]*string

func tagKeys(prefix string) (finding, groups, at string) {
	if prefix == "" {
		prefix = "reflex:"
	}
	return prefix + "finding", prefix + "original-groups", prefix + "contained-at"
}

func tagStep() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "ec2.tag", Effect: action.Reversible, Targets: instanceKinds,
			Description: "Tag the instance with the finding id, the original security groups of every interface and the time of containment.",
			Params:      []action.Param{{Name: "prefix", Type: action.TypeString, Default: "reflex:", Description: "prefix of the tag keys"}},
			Example:     "- step: ec2.tag\n  params: {prefix: \"reflex:\"}",
			IAMActions:  []string{"ec2:DescribeInstances", "ec2:CreateTags", "ec2:DeleteTags"}},
		PlanFn: func(req *action.Request) []action.Call {
			id := instanceID(req)
			kf, kg, kt := tagKeys(req.Params.String("prefix"))
			groups := map[string][]string{}
			for _, n := range findingNICs(req) {
				for _, g := range n.SecurityGroups {
					groups[n.NetworkInterfaceID] = append(groups[n.NetworkInterfaceID], g.GroupID)
				}
			}
			return []action.Call{
				call("ec2", "DescribeInstances", id, nil, "the current tags and interfaces"),
				call("ec2", "CreateTags", id, map[string]any{kf: req.Finding.ID, kg: encodeGroups(groups), kt: "<now>"}, ""),
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
			kf, kg, kt := tagKeys(req.Params.String("prefix"))
			cur := tagMap(in.Tags)
			if cur[kf] == req.Finding.ID {
				// tagged by an earlier attempt: keep the original groups it saw
				prior := tagPrior{kf: nil, kg: nil, kt: nil}
				if len(req.Prior) > 0 {
					_ = awsstep.Unmarshal(req, &prior)
				}
				return awsstep.Result(prior, map[string]string{kf: cur[kf], kg: cur[kg], kt: cur[kt]})
			}
			groups := map[string][]string{}
			for _, n := range in.NetworkInterfaces {
				groups[aws.ToString(n.NetworkInterfaceId)] = groupIDs(n.Groups)
			}
			want := map[string]string{kf: req.Finding.ID, kg: clip(encodeGroups(groups), 256), kt: time.Now().UTC().Format(time.RFC3339)}
			prior := tagPrior{}
			for k := range want {
				if v, ok := cur[k]; ok {
					prior[k] = aws.String(v)
				} else {
					prior[k] = nil
				}
			}
			if err := awsstep.Checkpoint(ctx, req, prior); err != nil {
				return action.Failed(err, true)
			}
			if err := setTags(ctx, c, []string{id}, want); err != nil {
				return awsstep.Fail(err, "tag %s", id)
			}
			return awsstep.Result(prior, want)
		},
		UndoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			var prior tagPrior
			if err := awsstep.Unmarshal(req, &prior); err != nil {
				return action.Failed(err, false)
			}
			return restoreTags(ctx, env, instanceID(req), prior)
		},
	}
}

func restoreTags(ctx context.Context, env awsstep.Env, id string, prior tagPrior) action.Result {
	c, err := ec2Client(ctx, env)
	if err != nil {
		return action.Failed(err, false)
	}
	set := map[string]string{}
	var del []string
	for _, k := range sortedKeys(prior) {
		if prior[k] == nil {
			del = append(del, k)
		} else {
			set[k] = *prior[k]
		}
	}
	errs := awsstep.Parallel(2,
		func() error { return setTags(ctx, c, []string{id}, set) },
		func() error { return deleteTags(ctx, c, []string{id}, del...) })
	if err := awsstep.First(errs); err != nil {
		return awsstep.Fail(err, "restore the tags of %s", id)
	}
	return action.Done(map[string]any{"restored": set, "removed": del})
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
