package ec2

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/action/internal/awsstep"
)

// Association is an Elastic IP's association ec2.disassociate-eips removed.
type Association struct {
	AllocationID     string `json:"allocation_id"`
	PublicIP         string `json:"public_ip"`
	NetworkInterface string `json:"network_interface"`
	PrivateIP        string `json:"private_ip"`
}

type eipPrior struct {
	Associations []Association `json:"associations"`
}

func eips() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "ec2.disassociate-eips", Effect: action.Reversible, Targets: instanceKinds,
			Description: "Disassociate the Elastic IPs of the instance's interfaces (each address keeps a checkpoint tag of its association; release associates them again).",
			Example:     "- step: ec2.disassociate-eips\n  on_failure: continue",
			IAMActions:  []string{"ec2:DescribeAddresses", "ec2:DisassociateAddress", "ec2:AssociateAddress", "ec2:CreateTags", "ec2:DeleteTags"}},
		PlanFn: func(req *action.Request) []action.Call {
			id := instanceID(req)
			return []action.Call{
				call("ec2", "DescribeAddresses", id, map[string]any{"Filters": map[string]any{"instance-id": id}}, "with the checkpointed ones, in parallel"),
				call("ec2", "CreateTags", "<each address>", map[string]any{"Key": TagEIPPrior}, "checkpoint, in parallel"),
				call("ec2", "DisassociateAddress", "<each address>", nil, "in parallel"),
			}
		},
		DoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			id := instanceID(req)
			c, err := ec2Client(ctx, env)
			if err != nil {
				return action.Failed(err, false)
			}
			var cur, cps []types.Address
			errs := awsstep.Parallel(2,
				func() error {
					out, err := c.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{id}}}})
					if err == nil {
						cur = out.Addresses
					}
					return err
				},
				func() error {
					out, err := c.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{Filters: []types.Filter{{Name: aws.String("tag:" + TagEIPPrior), Values: []string{id + "|*"}}}})
					if err == nil {
						cps = out.Addresses
					}
					return err
				})
			if err := awsstep.First(errs); err != nil {
				return awsstep.Fail(err, "read the Elastic IPs of %s", id)
			}
			prior := eipPrior{}
			seen := map[string]bool{}
			for _, a := range cps {
				parts := strings.Split(tagMap(a.Tags)[TagEIPPrior], "|")
				if len(parts) != 3 {
					continue
				}
				seen[aws.ToString(a.AllocationId)] = true
				prior.Associations = append(prior.Associations, Association{AllocationID: aws.ToString(a.AllocationId), PublicIP: aws.ToString(a.PublicIp),
					NetworkInterface: parts[1], PrivateIP: parts[2]})
			}
			var fns []func() error
			for _, a := range cur {
				alloc := aws.ToString(a.AllocationId)
				if !seen[alloc] {
					as := Association{AllocationID: alloc, PublicIP: aws.ToString(a.PublicIp), NetworkInterface: aws.ToString(a.NetworkInterfaceId), PrivateIP: aws.ToString(a.PrivateIpAddress)}
					prior.Associations = append(prior.Associations, as)
					fns = append(fns, func() error {
						return setTags(ctx, c, []string{alloc}, map[string]string{TagEIPPrior: id + "|" + as.NetworkInterface + "|" + as.PrivateIP})
					})
				}
			}
			if len(prior.Associations) == 0 {
				return action.Skipped(id + " has no Elastic IP")
			}
			if err := awsstep.Checkpoint(ctx, req, prior); err != nil {
				return action.Failed(err, true)
			}
			if err := awsstep.First(awsstep.Parallel(awsstep.Concurrency, fns...)); err != nil {
				return awsstep.Fail(err, "checkpoint the Elastic IPs of %s", id)
			}
			fns = fns[:0]
			for _, a := range cur {
				assoc := aws.ToString(a.AssociationId)
				fns = append(fns, func() error {
					_, err := c.DisassociateAddress(ctx, &sdk.DisassociateAddressInput{AssociationId: aws.String(assoc)})
					if isCode(err, "InvalidAssociationID.NotFound") {
						return nil // a retry of a call that had succeeded
					}
					return err
				})
			}
			if err := awsstep.First(awsstep.Parallel(awsstep.Concurrency, fns...)); err != nil {
				return awsstep.Fail(err, "disassociate the Elastic IPs of %s", id)
			}
			return awsstep.Result(prior, map[string]any{"disassociated": prior.Associations})
		},
		UndoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			var p eipPrior
			if err := awsstep.Unmarshal(req, &p); err != nil {
				return action.Failed(err, false)
			}
			c, err := ec2Client(ctx, env)
			if err != nil {
				return action.Failed(err, false)
			}
			var fns []func() error
			for _, a := range p.Associations {
				fns = append(fns, func() error {
					in := &sdk.AssociateAddressInput{AllocationId: aws.String(a.AllocationID), NetworkInterfaceId: aws.String(a.NetworkInterface),
						AllowReassociation: aws.Bool(false)}
					if a.PrivateIP != "" {
						in.PrivateIpAddress = aws.String(a.PrivateIP)
					}
					if _, err := c.AssociateAddress(ctx, in); err != nil && !isCode(err, "Resource.AlreadyAssociated") {
						return err
					}
					return deleteTags(ctx, c, []string{a.AllocationID}, TagEIPPrior)
				})
			}
			if err := awsstep.First(awsstep.Parallel(awsstep.Concurrency, fns...)); err != nil {
				return awsstep.Fail(err, "associate the Elastic IPs of %s again", instanceID(req))
			}
			return action.Done(map[string]any{"associated": p.Associations})
		},
	}
}
