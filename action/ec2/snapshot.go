package ec2

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/action/internal/awsstep"
	"github.com/reflexsec/reflex/cloud"
)

// SnapshotsOut is what ec2.snapshot records: volume → snapshot.
type SnapshotsOut struct {
	Snapshots map[string]string `json:"snapshots"`
	Note      string            `json:"note"`
}

func snapshot() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "ec2.snapshot", Effect: action.Reversible, Targets: instanceKinds,
			Description: "Start snapshots of every EBS volume of the instance in one CreateSnapshots call, tagged with the finding, the instance and the step; " +
				"does not wait for completion. A snapshot already started by an earlier attempt is found by its tag, never made twice. Release keeps the snapshots (evidence).",
			Params:     []action.Param{{Name: "copy_tags", Type: action.TypeBool, Default: true, Description: "copy the volumes' tags to the snapshots"}},
			Example:    "- step: ec2.snapshot\n  timeout: 2m",
			IAMActions: []string{"ec2:DescribeInstances", "ec2:DescribeSnapshots", "ec2:CreateSnapshots", "ec2:CreateSnapshot", "ec2:CreateTags"}},
		PlanFn: func(req *action.Request) []action.Call {
			id := instanceID(req)
			return []action.Call{
				call("ec2", "DescribeInstances", id, nil, "with DescribeSnapshots, in parallel"),
				call("ec2", "DescribeSnapshots", id, map[string]any{"Filters": map[string]any{"tag:" + TagStep: awsstep.Token(req)}}, "snapshots of an earlier attempt"),
				call("ec2", "CreateSnapshots", id, map[string]any{"InstanceSpecification": map[string]any{"InstanceId": id},
					"CopyTagsFromSource": copyTags(req), "TagSpecifications": map[string]any{TagFinding: req.Finding.ID, "reflex:instance": id, TagStep: awsstep.Token(req)}},
					"every volume not yet snapshotted; not awaited"),
			}
		},
		DoFn: doSnapshot,
		UndoFn: func(context.Context, awsstep.Env, *action.Request) action.Result {
			return action.Done(map[string]string{"note": "the snapshots are evidence: kept"})
		},
	}
}

func copyTags(req *action.Request) string {
	if req.Params.Bool("copy_tags") {
		return "volume"
	}
	return ""
}

func doSnapshot(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
	id := instanceID(req)
	c, err := ec2Client(ctx, env)
	if err != nil {
		return action.Failed(err, false)
	}
	token := awsstep.Token(req)
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		var in *types.Instance
		done := map[string]string{} // volume → snapshot
		errs := awsstep.Parallel(2,
			func() (err error) { in, err = describe(ctx, c, id); return err },
			func() error {
				out, err := c.DescribeSnapshots(ctx, &sdk.DescribeSnapshotsInput{OwnerIds: []string{"self"},
					Filters: []types.Filter{{Name: aws.String("tag:" + TagStep), Values: []string{token}}}})
				if err == nil {
					for _, s := range out.Snapshots {
						done[aws.ToString(s.VolumeId)] = aws.ToString(s.SnapshotId)
					}
				}
				return err
			})
		if err := awsstep.First(errs); err != nil {
			return awsstep.Fail(err, "read the volumes and snapshots of %s", id)
		}
		var vols []string
		root := aws.ToString(in.RootDeviceName)
		excludeBoot := false
		var exclude []string
		for _, b := range in.BlockDeviceMappings {
			if b.Ebs == nil {
				continue
			}
			v := aws.ToString(b.Ebs.VolumeId)
			vols = append(vols, v)
			if _, ok := done[v]; ok {
				if aws.ToString(b.DeviceName) == root {
					excludeBoot = true
				} else {
					exclude = append(exclude, v)
				}
			}
		}
		if len(vols) == 0 {
			return action.Skipped(id + " has no EBS volume")
		}
		if len(exclude)+boolInt(excludeBoot) == len(vols) {
			return action.Done(SnapshotsOut{Snapshots: pick(done, vols), Note: "started, not awaited (snapshots complete in the background)"})
		}
		input := &sdk.CreateSnapshotsInput{
			InstanceSpecification: &types.InstanceSpecification{InstanceId: aws.String(id), ExcludeBootVolume: aws.Bool(excludeBoot)},
			Description:           aws.String(fmt.Sprintf("reflex evidence: finding %s, instance %s", req.Finding.ID, id)),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot, Tags: []types.Tag{
				{Key: aws.String(TagFinding), Value: aws.String(req.Finding.ID)},
				{Key: aws.String("reflex:instance"), Value: aws.String(id)},
				{Key: aws.String(TagStep), Value: aws.String(token)},
			}}},
		}
		if len(exclude) > 0 {
			input.InstanceSpecification.ExcludeDataVolumeIds = exclude
		}
		if req.Params.Bool("copy_tags") {
			input.CopyTagsFromSource = types.CopyTagsFromSourceVolume
		}
		if err := awsstep.Checkpoint(ctx, req, SnapshotsOut{Snapshots: pick(done, vols), Note: "the snapshots this step starts are evidence: kept"}); err != nil {
			return action.Failed(err, true)
		}
		// No SDK retry here: a retried CreateSnapshots whose first try
		// succeeded unseen would start a second set. Retry by re-reading.
		out, err := c.CreateSnapshots(ctx, input, func(o *sdk.Options) { o.RetryMaxAttempts = 1 })
		if err == nil {
			for _, s := range out.Snapshots {
				done[aws.ToString(s.VolumeId)] = aws.ToString(s.SnapshotId)
			}
			return action.Done(SnapshotsOut{Snapshots: pick(done, vols), Note: "started, not awaited (snapshots complete in the background)"})
		}
		lastErr = err
		if !cloud.Retryable(err) {
			break
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return action.Failed(err, true)
		}
	}
	return awsstep.Fail(lastErr, "snapshot the volumes of %s", id)
}

func pick(done map[string]string, vols []string) map[string]string {
	out := map[string]string{}
	sort.Strings(vols)
	for _, v := range vols {
		if s, ok := done[v]; ok {
			out[v] = s
		}
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// createSnapshotsAtMostOnce starts the snapshots of input. CreateSnapshots
// has no client token, so the SDK must not retry it (a retry of a call
// that succeeded unseen would start a second set); instead a throttled or
// failed call is retried here, each time only after looking, by the step's
// tag, for snapshots an earlier try started. It returns volume → snapshot.
func createSnapshotsAtMostOnce(ctx context.Context, c *sdk.Client, input *sdk.CreateSnapshotsInput, token string) (map[string]string, error) {
	const attempts = 8
	var err error
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			if serr := sleep(ctx, backoff(attempt)); serr != nil {
				return nil, serr
			}
			out, derr := c.DescribeSnapshots(ctx, &sdk.DescribeSnapshotsInput{OwnerIds: []string{"self"},
				Filters: []types.Filter{{Name: aws.String("tag:" + TagStep), Values: []string{token}}}})
			if derr != nil {
				err = derr
				if !cloud.Retryable(derr) {
					return nil, derr
				}
				continue
			}
			if len(out.Snapshots) > 0 {
				got := map[string]string{}
				for _, s := range out.Snapshots {
					got[aws.ToString(s.VolumeId)] = aws.ToString(s.SnapshotId)
				}
				return got, nil
			}
		}
		var out *sdk.CreateSnapshotsOutput
		out, err = c.CreateSnapshots(ctx, input, func(o *sdk.Options) { o.RetryMaxAttempts = 1 })
		if err == nil {
			got := map[string]string{}
			for _, s := range out.Snapshots {
				got[aws.ToString(s.VolumeId)] = aws.ToString(s.SnapshotId)
			}
			return got, nil
		}
		if !cloud.Retryable(err) {
			return nil, err
		}
	}
	return nil, err
}
