// Package ec2 holds reflex's EC2 containment steps, in the order AWS
// recommends (DESIGN.md, reference/response-playbooks.md §4.2): capture
// evidence, protect it, tag, detach from Auto Scaling, deregister from
// load balancers, start snapshots, isolate interface by interface, drop
// Elastic IPs, revoke the instance's credentials, and — approve mode only,
// never after a failed capture — stop.
//
// Every step is idempotent: it reads the current state first and acts only
// where needed. State that a change would erase (the original security
// groups of an interface, the protection attributes, the Auto Scaling
// group, the target groups, an Elastic IP's association) is written as a
// checkpoint tag on the resource before the change, so a run killed half
// way and resumed still records — and release still restores — the state
// from before the first attempt. Release removes the checkpoint tags.
package ec2

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/action/ec2/isogroup"
	"github.com/reflexsec/reflex/action/internal/awsstep"
	"github.com/reflexsec/reflex/cloud"
	"github.com/reflexsec/reflex/finding"
)

// Tag keys reflex writes.
const (
	TagFinding        = "reflex:finding"         // the finding id (ec2.tag)
	TagOriginalGroups = "reflex:original-groups" // per interface (ec2.tag on the instance, ec2.isolate on the interface)
	TagContainedAt    = "reflex:contained-at"    // ec2.tag
	TagEvidence       = "reflex:evidence"        // the finding whose evidence was captured (ec2.capture-evidence)
	TagStep           = "reflex:step"            // snapshots and groups: the token of the step that made them
	TagProtectPrior   = "reflex:prior-protect"   // checkpoint of ec2.protect
	TagASGPrior       = "reflex:prior-asg"       // checkpoint of ec2.detach-autoscaling
	TagTargetsPrior   = "reflex:prior-targets"   // checkpoint of ec2.deregister-targets
	TagEIPPrior       = "reflex:prior-eip"       // checkpoint of ec2.disassociate-eips (on the address)
	TagProfilePrior   = "reflex:prior-profile"   // checkpoint of ec2.revoke-instance-credentials
	TagIsolationGroup = isogroup.Tag             // on groups reflex creates: "untrack" or "isolate"
)

// Steps returns the EC2 steps.
func Steps() []action.Step {
	return []action.Step{capture(), protect(), tagStep(), detachASG(), deregister(), snapshot(), isolate(), eips(), credentials(), stop(), contain()}
}

var instanceKinds = []string{finding.KindInstance}

func instanceID(req *action.Request) string {
	if req.Target != nil {
		return req.Target.ID
	}
	return ""
}

// findingNICs are the finding's interfaces (the plan's view; Do reads the
// current state).
func findingNICs(req *action.Request) []finding.NetworkInterface {
	if req.Finding == nil || req.Finding.Resource.InstanceDetails == nil {
		return nil
	}
	return req.Finding.Resource.InstanceDetails.NetworkInterfaces
}

func ec2Client(ctx context.Context, env awsstep.Env) (*sdk.Client, error) {
	return env.EC2(ctx, env.Account, env.Region)
}

// describe returns the instance.
func describe(ctx context.Context, c *sdk.Client, id string) (*types.Instance, error) {
	out, err := c.DescribeInstances(ctx, &sdk.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return nil, err
	}
	for _, r := range out.Reservations {
		for i := range r.Instances {
			if aws.ToString(r.Instances[i].InstanceId) == id {
				return &r.Instances[i], nil
			}
		}
	}
	return nil, fmt.Errorf("instance %s not found", id)
}

func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func setTags(ctx context.Context, c *sdk.Client, ids []string, kv map[string]string) error {
	if len(kv) == 0 || len(ids) == 0 {
		return nil
	}
	keys := sortedKeys(kv)
	tags := make([]types.Tag, 0, len(kv))
	for _, k := range keys {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(kv[k])})
	}
	_, err := c.CreateTags(ctx, &sdk.CreateTagsInput{Resources: ids, Tags: tags})
	return err
}

func deleteTags(ctx context.Context, c *sdk.Client, ids []string, keys ...string) error {
	if len(keys) == 0 || len(ids) == 0 {
		return nil
	}
	tags := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		tags = append(tags, types.Tag{Key: aws.String(k)})
	}
	_, err := c.DeleteTags(ctx, &sdk.DeleteTagsInput{Resources: ids, Tags: tags})
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func groupIDs(gs []types.GroupIdentifier) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		out = append(out, aws.ToString(g.GroupId))
	}
	return out
}

// sortedENIs returns the instance's interfaces by device index.
func sortedENIs(in *types.Instance) []types.InstanceNetworkInterface {
	nics := append([]types.InstanceNetworkInterface(nil), in.NetworkInterfaces...)
	sort.Slice(nics, func(i, j int) bool {
		return aws.ToInt32(nics[i].Attachment.DeviceIndex) < aws.ToInt32(nics[j].Attachment.DeviceIndex)
	})
	return nics
}

// encodeGroups writes "eni-a=sg-1,sg-2;eni-b=sg-3".
func encodeGroups(m map[string][]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+strings.Join(m[k], ","))
	}
	return strings.Join(parts, ";")
}

func call(service, op, target string, input map[string]any, note string) action.Call {
	return action.Call{Service: service, Action: op, Target: target, Input: input, Note: note}
}

func isCode(err error, codes ...string) bool {
	return err != nil && slices.Contains(codes, cloud.Code(err))
}
