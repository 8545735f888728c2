package isogroup_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/reflexsec/reflex/action/ec2/isogroup"
	"github.com/reflexsec/reflex/internal/fakeaws"
)

func perm(proto string, from, to int32, cidrs ...string) types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String(proto)}
	if proto != "-1" {
		p.FromPort, p.ToPort = aws.Int32(from), aws.Int32(to)
	}
	for _, c := range cidrs {
		if strings.Contains(c, ":") {
			p.Ipv6Ranges = append(p.Ipv6Ranges, types.Ipv6Range{CidrIpv6: aws.String(c)})
		} else {
			p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(c)})
		}
	}
	return p
}

func ps(p ...types.IpPermission) []types.IpPermission { return p }

// fixes writes fixes as "Op: rule, rule".
func fixes(fs []isogroup.Fix) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Op+": "+strings.Join(isogroup.Describe(f.Perms), ", "))
	}
	return out
}

func TestFixes(t *testing.T) {
	all := perm("-1", 0, 0, isogroup.AllIPv4, isogroup.AllIPv6)
	ssh := perm("tcp", 22, 22, "10.0.0.0/8")
	tests := []struct {
		name            string
		kind            string
		ingress, egress []types.IpPermission
		exact           bool
		want            []string
	}{
		{"new untrack group", isogroup.Untrack, nil, isogroup.DefaultEgress(), false, []string{
			"AuthorizeSecurityGroupIngress: all 0.0.0.0/0, all ::/0", "AuthorizeSecurityGroupEgress: all ::/0"}},
		{"new isolation group", isogroup.Isolate, nil, isogroup.DefaultEgress(), false, []string{
			"RevokeSecurityGroupEgress: all 0.0.0.0/0"}},
		{"untrack as made", isogroup.Untrack, ps(all), ps(all), true, nil},
		{"untrack, rules in two permissions", isogroup.Untrack, ps(perm("-1", 0, 0, isogroup.AllIPv6), perm("-1", 0, 0, isogroup.AllIPv4)), ps(all), true, nil},
		{"untrack lost its IPv6 egress", isogroup.Untrack, ps(all), ps(perm("-1", 0, 0, isogroup.AllIPv4)), false, []string{
			"AuthorizeSecurityGroupEgress: all ::/0"}},
		{"untrack lost everything", isogroup.Untrack, nil, nil, false, []string{
			"AuthorizeSecurityGroupIngress: all 0.0.0.0/0, all ::/0", "AuthorizeSecurityGroupEgress: all 0.0.0.0/0, all ::/0"}},
		{"untrack with a rule added: left by a step", isogroup.Untrack, ps(all, ssh), ps(all), false, nil},
		{"untrack with a rule added: removed when exact", isogroup.Untrack, ps(all, ssh), ps(all), true, []string{
			"RevokeSecurityGroupIngress: tcp 22 10.0.0.0/8"}},
		{"untrack with an extra source in the allow-all permission", isogroup.Untrack, ps(perm("-1", 0, 0, isogroup.AllIPv4, "10.0.0.0/8", isogroup.AllIPv6)), ps(all), true, []string{
			"RevokeSecurityGroupIngress: all 10.0.0.0/8"}},
		{"untrack with a port range instead of all", isogroup.Untrack, ps(perm("tcp", 0, 65535, isogroup.AllIPv4, isogroup.AllIPv6)), ps(all), true, []string{
			"AuthorizeSecurityGroupIngress: all 0.0.0.0/0, all ::/0", "RevokeSecurityGroupIngress: tcp 0-65535 0.0.0.0/0, tcp 0-65535 ::/0"}},
		{"isolation as made", isogroup.Isolate, nil, nil, true, nil},
		{"isolation with rules added both ways", isogroup.Isolate, ps(ssh), ps(all), false, []string{
			"RevokeSecurityGroupIngress: tcp 22 10.0.0.0/8", "RevokeSecurityGroupEgress: all 0.0.0.0/0, all ::/0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fixes(isogroup.Fixes(tc.kind, tc.ingress, tc.egress, tc.exact)); !slices.Equal(got, tc.want) {
				t.Errorf("fixes = %q\nwant %q", got, tc.want)
			}
		})
	}
	if got := fixes(isogroup.NewFixes(isogroup.Untrack)); len(got) != 2 {
		t.Errorf("NewFixes(untrack) = %q", got)
	}
}

func TestNamesAndTags(t *testing.T) {
	for _, kind := range isogroup.Kinds() {
		in := isogroup.CreateInput("vpc-1", kind, map[string]string{"team": "soc", isogroup.Tag: "overridden", "Name": "overridden"})
		tags := map[string]string{}
		for _, tg := range in.TagSpecifications[0].Tags {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		if tags[isogroup.Tag] != kind || tags["Name"] != isogroup.Name(kind) || tags["team"] != "soc" || len(tags) != 3 {
			t.Errorf("%s: tags %v", kind, tags)
		}
		if aws.ToString(in.GroupName) != isogroup.Name(kind) || aws.ToString(in.Description) != isogroup.Description(kind) || aws.ToString(in.VpcId) != "vpc-1" {
			t.Errorf("%s: %s %q %s", kind, aws.ToString(in.GroupName), aws.ToString(in.Description), aws.ToString(in.VpcId))
		}
	}
	if isogroup.Name(isogroup.Untrack) != "reflex-untrack" || isogroup.Name(isogroup.Isolate) != "reflex-isolation" {
		t.Error("the group names changed: existing deployments would get a second pair of groups")
	}
}

func TestIndexTakesTheFirstTaggedGroup(t *testing.T) {
	g := func(id, vpc, kind string) types.SecurityGroup {
		sg := types.SecurityGroup{GroupId: aws.String(id), VpcId: aws.String(vpc)}
		if kind != "" {
			sg.Tags = []types.Tag{{Key: aws.String(isogroup.Tag), Value: aws.String(kind)}}
		}
		return sg
	}
	idx := isogroup.Index([]types.SecurityGroup{g("sg-1", "vpc-a", isogroup.Untrack), g("sg-2", "vpc-a", isogroup.Untrack),
		g("sg-3", "vpc-a", ""), g("sg-4", "vpc-b", isogroup.Isolate), g("sg-5", "vpc-b", "other")})
	want := map[isogroup.Key]string{{VPC: "vpc-a", Kind: isogroup.Untrack}: "sg-1", {VPC: "vpc-b", Kind: isogroup.Isolate}: "sg-4"}
	if len(idx) != len(want) {
		t.Fatalf("index = %v", idx)
	}
	for k, id := range want {
		if idx[k] == nil || aws.ToString(idx[k].GroupId) != id {
			t.Errorf("%v = %v, want %s", k, idx[k], id)
		}
	}
}

// TestCreateAndFixInTheTestCloud: through the SDK, a created group given
// its NewFixes has exactly Rules(kind), the fixes of a drifted group bring
// it back, and a second Create answers the existing group.
func TestCreateAndFixInTheTestCloud(t *testing.T) {
	c := fakeaws.New(fakeaws.WithSeed(1))
	if err := c.LoadDefaultScenario(); err != nil {
		t.Fatal(err)
	}
	srv := fakeaws.NewTestServer(t, c)
	api := sdk.NewFromConfig(srv.Config("111111111111"))
	ctx := context.Background()
	const vpc = "vpc-0a11111111111111a"
	read := func(id string) types.SecurityGroup {
		t.Helper()
		out, err := api.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{GroupIds: []string{id}})
		if err != nil || len(out.SecurityGroups) != 1 {
			t.Fatalf("describe %s: %v", id, err)
		}
		return out.SecurityGroups[0]
	}
	same := func(have, want []types.IpPermission) bool {
		a, b := isogroup.Describe(have), isogroup.Describe(want)
		slices.Sort(a)
		slices.Sort(b)
		return slices.Equal(a, b)
	}
	for _, kind := range isogroup.Kinds() {
		id, err := isogroup.Create(ctx, api, vpc, kind, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range isogroup.NewFixes(kind) {
			if err := f.Do(ctx, api, id); err != nil {
				t.Fatal(err)
			}
		}
		g := read(id)
		in, out := isogroup.Rules(kind)
		if !same(g.IpPermissions, in) || !same(g.IpPermissionsEgress, out) {
			t.Errorf("%s: rules in %v out %v", kind, isogroup.Describe(g.IpPermissions), isogroup.Describe(g.IpPermissionsEgress))
		}
		// drift by hand, then the fixes
		if _, err := api.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id),
			IpPermissions: ps(perm("tcp", 22, 22, "10.0.0.0/8"))}); err != nil {
			t.Fatal(err)
		}
		g = read(id)
		fs := isogroup.Fixes(kind, g.IpPermissions, g.IpPermissionsEgress, true)
		if len(fs) != 1 {
			t.Fatalf("%s: fixes %q", kind, fixes(fs))
		}
		for _, f := range fs {
			if err := f.Do(ctx, api, id); err != nil {
				t.Fatal(err)
			}
			if err := f.Do(ctx, api, id); err != nil { // a retry of a call that succeeded
				t.Fatalf("%s again: %v", f.Op, err)
			}
		}
		if g = read(id); !same(g.IpPermissions, in) || !same(g.IpPermissionsEgress, out) {
			t.Errorf("%s after repair: in %v out %v", kind, isogroup.Describe(g.IpPermissions), isogroup.Describe(g.IpPermissionsEgress))
		}
		again, err := isogroup.Create(ctx, api, vpc, kind, nil)
		if err != nil || again != id {
			t.Errorf("%s created again: %s %v, want %s", kind, again, err, id)
		}
	}
	groups, err := isogroup.List(ctx, api)
	if err != nil || len(groups) != 2 {
		t.Fatalf("list = %v %v", groups, err)
	}
	if idx := isogroup.Index(groups); idx[isogroup.Key{VPC: vpc, Kind: isogroup.Untrack}] == nil || idx[isogroup.Key{VPC: vpc, Kind: isogroup.Isolate}] == nil {
		t.Errorf("index = %v", idx)
	}
}
