package setup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/reflexsec/reflex/action/ec2/isogroup"
	"github.com/reflexsec/reflex/cloud"
)

// reflex's isolation groups (package isogroup): ec2.isolate and ec2.contain
// put an interface first in the allow-all untrack group, then in the
// isolation group, and create both in a VPC that lacks them — while the
// instance is being contained, where the untrack group must be created and
// then get its rules before it goes on an interface: ec2.contain, which
// creates them alongside its first reads, isolates every interface one
// round trip later. Setup makes them ahead, in every VPC where reflex acts,
// with exactly the rules the steps give them, so that the steps find them
// ready (isogroup.List) and spend no round trip on them.

// EC2 is the part of the EC2 API setup uses for reflex's isolation groups.
type EC2 interface {
	isogroup.API
	DescribeVpcs(context.Context, *ec2.DescribeVpcsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error)
	CreateTags(context.Context, *ec2.CreateTagsInput, ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
}

// IsolationGroups says which of reflex's groups to make ready, and where.
type IsolationGroups struct {
	// Kinds are the groups the configuration's steps put on interfaces:
	// isogroup.Untrack and/or isogroup.Isolate (ec2.GroupKinds).
	Kinds []string
	// Accounts are the configuration's accounts (accounts:). None: reflex
	// acts with its own credentials, in the account setup runs in.
	Accounts []Account
}

// Account is an entry of the configuration's accounts: how reflex reaches
// the account (the role it assumes there, cloud.Account) and the regions
// it acts in.
type Account struct {
	cloud.Account
	// Regions reflex acts in; empty: the finding's, which for the findings
	// setup wires is setup's region.
	Regions []string
}

// EC2For returns the EC2 client of a region: with the credentials running
// setup when roleARN is "", else as roleARN, assumed with externalID.
type EC2For func(ctx context.Context, region, roleARN, externalID string) (EC2, error)

// EC2Clients returns the EC2For of the credentials in base. A role is
// assumed once (its credentials serve every region of its account), when
// first needed, so that a refused AssumeRole is told here, with the role
// named, rather than in the first EC2 call.
func EC2Clients(base aws.Config) EC2For {
	var mu sync.Mutex
	creds := map[string]aws.CredentialsProvider{}
	return func(ctx context.Context, region, roleARN, externalID string) (EC2, error) {
		cfg := base.Copy()
		cfg.Region = region
		if roleARN == "" {
			return ec2.NewFromConfig(cfg), nil
		}
		mu.Lock()
		defer mu.Unlock()
		p := creds[roleARN]
		if p == nil {
			p = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), roleARN, func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = "reflex-setup"
				if externalID != "" {
					o.ExternalID = aws.String(externalID)
				}
			}))
			if _, err := p.Retrieve(ctx); err != nil {
				return nil, fmt.Errorf("sts:AssumeRole %s: %w", roleARN, err)
			}
			creds[roleARN] = p
		}
		cfg.Credentials = p
		return ec2.NewFromConfig(cfg), nil
	}
}

// groupTarget is an account where reflex's groups are made, and how.
type groupTarget struct {
	account, role, externalID string
	regions                   []string
}

// groupTargets returns the accounts and regions where reflex acts, as the
// runtime reaches them (package cloud): this account (home) with setup's
// own credentials when reflex acts in it (no accounts configured, an entry
// for it, or "*"); every other account listed by id through its role. The
// accounts "*" stands for cannot be listed: a note says so.
func groupTargets(home, partition, region string, accounts []Account) ([]groupTarget, []string) {
	regionsOf := func(a Account) []string {
		if len(a.Regions) == 0 {
			return []string{region}
		}
		rs := slices.Clone(a.Regions)
		slices.Sort(rs)
		return slices.Compact(rs)
	}
	if len(accounts) == 0 {
		return []groupTarget{{account: home, regions: []string{region}}}, nil
	}
	var out []groupTarget
	var star *Account
	homeListed := false
	for i := range accounts {
		a := accounts[i]
		if a.ID == "*" {
			star = &accounts[i]
			continue
		}
		t := groupTarget{account: a.ID, regions: regionsOf(a)}
		if a.ID == home {
			homeListed = true // setup's own credentials reach it
		} else {
			t.role, t.externalID = a.RoleARN(a.ID, partition), a.ExternalID
		}
		out = append(out, t)
	}
	if star == nil {
		return out, nil
	}
	if !homeListed {
		out = append([]groupTarget{{account: home, regions: regionsOf(*star)}}, out...)
	}
	return out, []string{fmt.Sprintf(`accounts: "*" (role %s) stands for accounts setup cannot list: reflex's isolation groups are made in this account (%s) and in the accounts listed by id only; `+
		`list the others by id, or make the groups there with the Terraform module deploy/terraform/member-role (isolation_vpc_ids); elsewhere ec2.isolate and ec2.contain create them while containing, ec2.contain isolating one round trip later`,
		star.Role, home)}
}

// isolationGroups makes reflex's groups exist, with exactly their rules,
// in every VPC of every account and region where reflex acts.
func (u *run) isolationGroups(ctx context.Context) error {
	g := u.w.IsolationGroups
	if g == nil || len(g.Kinds) == 0 {
		return nil
	}
	if u.EC2 == nil {
		return errors.New("setup: no EC2 clients for reflex's isolation groups")
	}
	targets, notes := groupTargets(u.account, u.partition, u.Region, g.Accounts)
	u.r.Notes = append(u.r.Notes, notes...)
	for _, t := range targets {
		for _, region := range t.regions {
			c, err := u.EC2(ctx, region, t.role, t.externalID)
			if err != nil {
				switch errCode(err) {
				case "AccessDenied", "AccessDeniedException":
					// Member roles usually trust reflex's role only, not
					// the credentials running setup: not a reason to fail
					// the rest.
					u.r.Notes = append(u.r.Notes, fmt.Sprintf("account %s: reflex's isolation groups not made: these credentials may not assume %s (%v); "+
						"make them there with the Terraform module deploy/terraform/member-role (isolation_vpc_ids), or run setup with credentials its trust policy allows",
						t.account, t.role, err))
				default:
					return fmt.Errorf("account %s, %s: %w", t.account, region, err)
				}
				break // the account's other regions need the same role
			}
			if err := u.vpcGroups(ctx, c, t.account, region, g.Kinds); err != nil {
				return err
			}
		}
	}
	return nil
}

// vpcGroups makes reflex's groups of kinds exist in every VPC of one
// account and region, as the steps find them (by tag) and with exactly
// their kind's rules.
func (u *run) vpcGroups(ctx context.Context, c EC2, account, region string, kinds []string) error {
	where := account + " " + region
	var vpcs []string
	p := ec2.NewDescribeVpcsPaginator(c, &ec2.DescribeVpcsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return apiErr("ec2", "DescribeVpcs", where, err)
		}
		for _, v := range page.Vpcs {
			vpcs = append(vpcs, aws.ToString(v.VpcId))
		}
	}
	slices.Sort(vpcs)
	if len(vpcs) == 0 {
		return nil
	}
	tagged, err := isogroup.List(ctx, c)
	if err != nil {
		return apiErr("ec2", "DescribeSecurityGroups", where, err)
	}
	// Groups named as reflex's but without its tag (made by hand, or by an
	// older tool) would make a creation fail as a duplicate: they are
	// tagged instead.
	named, err := isogroup.ListByName(ctx, c)
	if err != nil {
		return apiErr("ec2", "DescribeSecurityGroups", where, err)
	}
	idx := isogroup.Index(tagged)
	inUse := map[string]string{} // group id -> the kind the steps use it as
	for k, g := range idx {
		inUse[aws.ToString(g.GroupId)] = k.Kind
	}
	for _, vpc := range vpcs {
		for _, kind := range kinds {
			name := isogroup.Name(kind)
			target := fmt.Sprintf("%s in %s (%s)", name, vpc, where)
			var id string
			var in, out []ec2types.IpPermission
			changed := false
			if g := idx[isogroup.Key{VPC: vpc, Kind: kind}]; g != nil {
				id, in, out = aws.ToString(g.GroupId), g.IpPermissions, g.IpPermissionsEgress
			} else if g := namedIn(named, vpc, name); g != nil {
				id, in, out = aws.ToString(g.GroupId), g.IpPermissions, g.IpPermissionsEgress
				if other := inUse[id]; other != "" {
					return fmt.Errorf("ec2 security group %s %s is tagged %s=%s: the steps use it as their %s group; tag it %s=%s or rename it",
						target, id, isogroup.Tag, other, noun(other), isogroup.Tag, kind)
				}
				tags := isogroup.Tags(kind)
				if err := u.change(u.r, Change{Service: "ec2", Action: "CreateTags", Target: target,
					Why:   fmt.Sprintf("%s has no tag %s=%s, by which ec2.isolate and ec2.contain find it", id, isogroup.Tag, kind),
					Input: map[string]any{"Resources": []string{id}, "Tags": tags}},
					func() error {
						_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{
							{Key: aws.String(isogroup.Tag), Value: aws.String(tags[isogroup.Tag])}, {Key: aws.String("Name"), Value: aws.String(tags["Name"])}}})
						return err
					}); err != nil {
					return err
				}
				changed = true
			} else {
				in, out = nil, isogroup.DefaultEgress()
				ci := isogroup.CreateInput(vpc, kind, u.w.Tags)
				tags := map[string]string{}
				for _, t := range ci.TagSpecifications[0].Tags {
					tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
				if err := u.change(u.r, Change{Service: "ec2", Action: "CreateSecurityGroup", Target: target,
					Why:   fmt.Sprintf("reflex's %s group is not in this VPC: ec2.isolate and ec2.contain would create it while containing, and give it its rules, before the first interface changes", noun(kind)),
					Input: map[string]any{"GroupName": name, "Description": isogroup.Description(kind), "VpcId": vpc, "Tags": tags}},
					func() error {
						o, err := c.CreateSecurityGroup(ctx, ci)
						if err == nil {
							id = aws.ToString(o.GroupId)
						}
						return err
					}); err != nil {
					return err
				}
				changed = true
			}
			fixes := isogroup.Fixes(kind, in, out, true)
			if len(fixes) == 0 && !changed {
				u.r.Unchanged = append(u.r.Unchanged, "ec2 security group "+target+" "+id)
				continue
			}
			for _, f := range fixes {
				gid := id
				if gid == "" {
					gid = "(the group created above)" // a dry run
				}
				if err := u.change(u.r, Change{Service: "ec2", Action: f.Op, Target: target, Why: f.Why,
					Input: map[string]any{"GroupId": gid, "IpPermissions": isogroup.Describe(f.Perms)}},
					func() error { return f.Do(ctx, c, id) }); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// noun names a kind of group in reports.
func noun(kind string) string {
	if kind == isogroup.Isolate {
		return "isolation"
	}
	return kind
}

// namedIn returns the group named name in vpc, or nil.
func namedIn(groups []ec2types.SecurityGroup, vpc, name string) *ec2types.SecurityGroup {
	for i := range groups {
		if aws.ToString(groups[i].VpcId) == vpc && aws.ToString(groups[i].GroupName) == name {
			return &groups[i]
		}
	}
	return nil
}
