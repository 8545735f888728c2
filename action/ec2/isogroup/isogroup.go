// Package isogroup defines, once, reflex's two security groups per VPC:
// the allow-all "untrack" group an interface passes through so that its
// tracked connections become untracked (and are cut by the next change),
// and the "isolation" group, without any rule. It holds their names,
// descriptions, tags and rules, how the steps find them, how one is
// created and which calls bring one back to its rules.
//
// The ec2 steps (ec2.isolate, ec2.contain) create a VPC's groups when it
// has none, which costs round trips while an instance is being contained:
// the untrack group must have its rules before it goes on an interface.
// reflex setup (package setup) and the Terraform modules
// (deploy/terraform/isolation-groups) make them ahead; they use this
// package (setup) or are tested against it (deploy/terraform's tests), so
// the three cannot disagree.
package isogroup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// The kinds of group: the values of Tag.
const (
	Untrack = "untrack"
	Isolate = "isolate"
)

// Names, tag and the addresses of the allow-all rules.
const (
	UntrackName   = "reflex-untrack"
	IsolationName = "reflex-isolation"
	// Tag is on every group reflex makes, with its kind as value: the
	// steps find their groups by it, not by name.
	Tag     = "reflex:isolation"
	AllIPv4 = "0.0.0.0/0"
	AllIPv6 = "::/0"
)

// Kinds returns both kinds, untrack first (the order they go on an
// interface).
func Kinds() []string { return []string{Untrack, Isolate} }

// Name returns the group name of kind.
func Name(kind string) string {
	if kind == Isolate {
		return IsolationName
	}
	return UntrackName
}

// Description returns the group description of kind (fixed at creation:
// EC2 cannot change it, so it must never change here either).
func Description(kind string) string {
	if kind == Isolate {
		return "reflex: isolation, no inbound and no outbound rule"
	}
	return "reflex: allow-all pass-through so tracked connections become untracked before isolation"
}

// Tags returns the tags a group of kind carries: Tag=kind and Name.
func Tags(kind string) map[string]string {
	return map[string]string{Tag: kind, "Name": Name(kind)}
}

// Rules returns the only rules a group of kind has: the untrack group
// allows all traffic of every protocol in and out, IPv4 and IPv6 (only a
// rule for all traffic both ways makes connections untracked); the
// isolation group has none.
func Rules(kind string) (ingress, egress []types.IpPermission) {
	if kind == Isolate {
		return nil, nil
	}
	return []types.IpPermission{allPerm(true, true)}, []types.IpPermission{allPerm(true, true)}
}

// DefaultEgress is the rule EC2 gives every new VPC security group:
// all outbound IPv4 traffic.
func DefaultEgress() []types.IpPermission { return []types.IpPermission{allPerm(true, false)} }

func allPerm(v4, v6 bool) types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String("-1")}
	if v4 {
		p.IpRanges = []types.IpRange{{CidrIp: aws.String(AllIPv4)}}
	}
	if v6 {
		p.Ipv6Ranges = []types.Ipv6Range{{CidrIpv6: aws.String(AllIPv6)}}
	}
	return p
}

// API is the part of the EC2 API the groups need (*ec2.Client has it).
type API interface {
	DescribeSecurityGroups(context.Context, *sdk.DescribeSecurityGroupsInput, ...func(*sdk.Options)) (*sdk.DescribeSecurityGroupsOutput, error)
	CreateSecurityGroup(context.Context, *sdk.CreateSecurityGroupInput, ...func(*sdk.Options)) (*sdk.CreateSecurityGroupOutput, error)
	AuthorizeSecurityGroupIngress(context.Context, *sdk.AuthorizeSecurityGroupIngressInput, ...func(*sdk.Options)) (*sdk.AuthorizeSecurityGroupIngressOutput, error)
	AuthorizeSecurityGroupEgress(context.Context, *sdk.AuthorizeSecurityGroupEgressInput, ...func(*sdk.Options)) (*sdk.AuthorizeSecurityGroupEgressOutput, error)
	RevokeSecurityGroupIngress(context.Context, *sdk.RevokeSecurityGroupIngressInput, ...func(*sdk.Options)) (*sdk.RevokeSecurityGroupIngressOutput, error)
	RevokeSecurityGroupEgress(context.Context, *sdk.RevokeSecurityGroupEgressInput, ...func(*sdk.Options)) (*sdk.RevokeSecurityGroupEgressOutput, error)
}

// CreateInput is the CreateSecurityGroup call of a group of kind in vpc.
// extra tags (reflex setup's --tag) are added; Tags(kind) win over them.
func CreateInput(vpc, kind string, extra map[string]string) *sdk.CreateSecurityGroupInput {
	tags := map[string]string{}
	for k, v := range extra {
		tags[k] = v
	}
	for k, v := range Tags(kind) {
		tags[k] = v
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var ts []types.Tag
	for _, k := range keys {
		ts = append(ts, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return &sdk.CreateSecurityGroupInput{GroupName: aws.String(Name(kind)), Description: aws.String(Description(kind)), VpcId: aws.String(vpc),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: ts}}}
}

// Create creates a group of kind in vpc; when another attempt or process
// made it meanwhile (InvalidGroup.Duplicate), that one's id is returned.
func Create(ctx context.Context, c API, vpc, kind string, extra map[string]string) (string, error) {
	out, err := c.CreateSecurityGroup(ctx, CreateInput(vpc, kind, extra))
	if err == nil {
		return aws.ToString(out.GroupId), nil
	}
	if !isCode(err, "InvalidGroup.Duplicate") {
		return "", err
	}
	name := Name(kind)
	d, derr := c.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{name}}}})
	if derr != nil {
		return "", fmt.Errorf("read %s in %s after its creation found it made: %w", name, vpc, derr)
	}
	if len(d.SecurityGroups) == 0 {
		return "", fmt.Errorf("group %s exists in %s but cannot be read", name, vpc)
	}
	return aws.ToString(d.SecurityGroups[0].GroupId), nil
}

// List returns reflex's groups in the region, found as the steps find
// them: by Tag.
func List(ctx context.Context, c API) ([]types.SecurityGroup, error) {
	return describeAll(ctx, c, &sdk.DescribeSecurityGroupsInput{
		Filters: []types.Filter{{Name: aws.String("tag:" + Tag), Values: Kinds()}}})
}

// ListByName returns the region's groups named as reflex's, tagged or not.
func ListByName(ctx context.Context, c API) ([]types.SecurityGroup, error) {
	return describeAll(ctx, c, &sdk.DescribeSecurityGroupsInput{
		Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{UntrackName, IsolationName}}}})
}

func describeAll(ctx context.Context, c API, in *sdk.DescribeSecurityGroupsInput) ([]types.SecurityGroup, error) {
	var out []types.SecurityGroup
	p := sdk.NewDescribeSecurityGroupsPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.SecurityGroups...)
	}
	return out, nil
}

// Key names one of reflex's groups: its VPC and kind.
type Key struct{ VPC, Kind string }

// Index returns the group the steps use for each VPC and kind: the first
// one listed with that kind in Tag.
func Index(groups []types.SecurityGroup) map[Key]*types.SecurityGroup {
	out := map[Key]*types.SecurityGroup{}
	for i := range groups {
		g := &groups[i]
		kind := ""
		for _, t := range g.Tags {
			if aws.ToString(t.Key) == Tag {
				kind = aws.ToString(t.Value)
			}
		}
		k := Key{VPC: aws.ToString(g.VpcId), Kind: kind}
		if (kind == Untrack || kind == Isolate) && out[k] == nil {
			out[k] = g
		}
	}
	return out
}

// The operations a Fix calls.
const (
	AuthorizeIngress = "AuthorizeSecurityGroupIngress"
	AuthorizeEgress  = "AuthorizeSecurityGroupEgress"
	RevokeIngress    = "RevokeSecurityGroupIngress"
	RevokeEgress     = "RevokeSecurityGroupEgress"
)

// Fix is one call that brings a group closer to its kind's rules.
type Fix struct {
	Op    string // one of AuthorizeIngress … RevokeEgress
	Perms []types.IpPermission
	Why   string
}

// Fixes returns the calls that give a group of kind, with these rules,
// the rules of its kind: an untrack group gets the allow-all rules it
// lacks, an isolation group loses every rule. exact also removes the
// rules an untrack group has beyond allow-all: they change nothing to
// what it lets through, so a step containing an instance does not spend a
// round trip on them, while reflex setup, with time, makes the group
// exactly what it creates.
func Fixes(kind string, ingress, egress []types.IpPermission, exact bool) []Fix {
	var out []Fix
	for _, d := range []struct {
		dir           string
		have          []types.IpPermission
		grant, revoke string
	}{{"inbound", ingress, AuthorizeIngress, RevokeIngress}, {"outbound", egress, AuthorizeEgress, RevokeEgress}} {
		switch kind {
		case Untrack:
			v4, v6 := hasAll(d.have, false), hasAll(d.have, true)
			if !v4 || !v6 {
				p := allPerm(!v4, !v6)
				out = append(out, Fix{Op: d.grant, Perms: []types.IpPermission{p},
					Why: fmt.Sprintf("no %s rule for %s", d.dir, strings.Join(Describe([]types.IpPermission{p}), ", "))})
			}
			if extra := beyondAll(d.have); exact && len(extra) > 0 {
				out = append(out, Fix{Op: d.revoke, Perms: extra,
					Why: fmt.Sprintf("%s rules beyond allow-all: %s", d.dir, strings.Join(Describe(extra), ", "))})
			}
		case Isolate:
			if len(d.have) > 0 {
				out = append(out, Fix{Op: d.revoke, Perms: d.have,
					Why: fmt.Sprintf("%s rules, want none: %s", d.dir, strings.Join(Describe(d.have), ", "))})
			}
		}
	}
	return out
}

// NewFixes returns the fixes of a group of kind just created: it has only
// DefaultEgress.
func NewFixes(kind string) []Fix { return Fixes(kind, nil, DefaultEgress(), true) }

// hasAll reports whether perms allow all traffic from or to everywhere,
// in IPv6 when v6, else IPv4.
func hasAll(perms []types.IpPermission, v6 bool) bool {
	for _, p := range perms {
		if aws.ToString(p.IpProtocol) != "-1" {
			continue
		}
		for _, r := range p.IpRanges {
			if !v6 && aws.ToString(r.CidrIp) == AllIPv4 {
				return true
			}
		}
		for _, r := range p.Ipv6Ranges {
			if v6 && aws.ToString(r.CidrIpv6) == AllIPv6 {
				return true
			}
		}
	}
	return false
}

// beyondAll returns the parts of perms that are not an allow-all rule.
func beyondAll(perms []types.IpPermission) []types.IpPermission {
	var out []types.IpPermission
	for _, p := range perms {
		if aws.ToString(p.IpProtocol) != "-1" {
			out = append(out, p)
			continue
		}
		rest := types.IpPermission{IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort,
			UserIdGroupPairs: p.UserIdGroupPairs, PrefixListIds: p.PrefixListIds}
		for _, r := range p.IpRanges {
			if aws.ToString(r.CidrIp) != AllIPv4 {
				rest.IpRanges = append(rest.IpRanges, r)
			}
		}
		for _, r := range p.Ipv6Ranges {
			if aws.ToString(r.CidrIpv6) != AllIPv6 {
				rest.Ipv6Ranges = append(rest.Ipv6Ranges, r)
			}
		}
		if len(rest.IpRanges)+len(rest.Ipv6Ranges)+len(rest.UserIdGroupPairs)+len(rest.PrefixListIds) > 0 {
			out = append(out, rest)
		}
	}
	return out
}

// Describe writes rules one per source or destination, as "all ::/0" or
// "tcp 22 10.0.0.0/8" (for reports and reasons).
func Describe(perms []types.IpPermission) []string {
	var out []string
	for _, p := range perms {
		what := aws.ToString(p.IpProtocol)
		if what == "-1" {
			what = "all"
		} else if p.FromPort != nil {
			from, to := aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort)
			what += " " + strconv.Itoa(int(from))
			if to != from {
				what += "-" + strconv.Itoa(int(to))
			}
		}
		for _, r := range p.IpRanges {
			out = append(out, what+" "+aws.ToString(r.CidrIp))
		}
		for _, r := range p.Ipv6Ranges {
			out = append(out, what+" "+aws.ToString(r.CidrIpv6))
		}
		for _, g := range p.UserIdGroupPairs {
			out = append(out, what+" "+aws.ToString(g.GroupId))
		}
		for _, l := range p.PrefixListIds {
			out = append(out, what+" "+aws.ToString(l.PrefixListId))
		}
	}
	return out
}

// Do makes the call on group id. A rule already there (or already gone)
// is success: the answer to a retry of a call that had succeeded.
func (f Fix) Do(ctx context.Context, c API, id string) error {
	var err error
	switch f.Op {
	case AuthorizeIngress:
		_, err = c.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: f.Perms})
	case AuthorizeEgress:
		_, err = c.AuthorizeSecurityGroupEgress(ctx, &sdk.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(id), IpPermissions: f.Perms})
	case RevokeIngress:
		_, err = c.RevokeSecurityGroupIngress(ctx, &sdk.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: f.Perms})
	case RevokeEgress:
		_, err = c.RevokeSecurityGroupEgress(ctx, &sdk.RevokeSecurityGroupEgressInput{GroupId: aws.String(id), IpPermissions: f.Perms})
	default:
		return fmt.Errorf("isogroup: unknown operation %q", f.Op)
	}
	if isCode(err, "InvalidPermission.Duplicate", "InvalidPermission.NotFound") {
		return nil
	}
	return err
}

// isCode reports whether err is an AWS error with one of the codes.
func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && slices.Contains(codes, ae.ErrorCode())
}
