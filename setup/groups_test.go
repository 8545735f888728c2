package setup

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/reflexsec/reflex/action/ec2/isogroup"
	"github.com/reflexsec/reflex/cloud"
	"github.com/reflexsec/reflex/internal/fakeaws"
)

// Beside the default scenario (this account, 111111111111, has one VPC
// in eu-west-1): a member account with two VPCs in eu-west-1 and one in
// us-east-1 whose reflex-responder trusts this account with an external
// id, and one whose role trusts someone else.
const (
	member       = "333333333333"
	stranger     = "444444444444"
	homeVPC      = "vpc-0a22222222222222a"
	memberVPC1   = "vpc-0c11111111111111a"
	memberVPC2   = "vpc-0c11111111111111b"
	memberVPCUS  = "vpc-0c22222222222222a"
	memberExtID  = "member-external-id"
	groupsMember = `
accounts:
  - id: "333333333333"
    credentials: [{accessKeyId: AKIAFAKEMEMBER000001, secretAccessKey: fakeaws/member/secret/1}]
    roles:
      - name: reflex-responder
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {AWS: "arn:aws:iam::111111111111:root"}
              Action: sts:AssumeRole
              Condition: {StringEquals: {"sts:ExternalId": member-external-id}}
    regions:
      - name: eu-west-1
        vpcs:
          - {id: vpc-0c11111111111111a, cidr: 10.20.0.0/16}
          - {id: vpc-0c11111111111111b, cidr: 10.21.0.0/16}
      - name: us-east-1
        vpcs:
          - {id: vpc-0c22222222222222a, cidr: 10.22.0.0/16}
  - id: "444444444444"
    credentials: [{accessKeyId: AKIAFAKESTRANGER0001, secretAccessKey: fakeaws/stranger/secret/1}]
    roles:
      - name: reflex-responder
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {AWS: "arn:aws:iam::222222222222:role/reflex"}
              Action: sts:AssumeRole
    regions:
      - name: eu-west-1
        vpcs:
          - {id: vpc-0d11111111111111a, cidr: 10.30.0.0/16}
`
)

// newGroupSetup is a Setup for reflex's groups, running as this account
// in eu-west-1.
func newGroupSetup(t *testing.T) (*Setup, *fakeaws.Server) {
	t.Helper()
	c := fakeaws.New(fakeaws.WithSeed(1))
	if err := c.LoadDefaultScenario(); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadScenario(strings.NewReader(groupsMember)); err != nil {
		t.Fatal(err)
	}
	srv := fakeaws.NewTestServer(t, c)
	ak, sk, _ := srv.Cloud.Credentials(account)
	cfg := srv.ConfigFor(ak, sk, "", "eu-west-1")
	return &Setup{GuardDuty: guardduty.NewFromConfig(cfg), EventBridge: eventbridge.NewFromConfig(cfg), STS: sts.NewFromConfig(cfg),
		EC2: EC2Clients(cfg), Region: "eu-west-1"}, srv
}

func groupsWant(g *IsolationGroups) Want {
	return Want{Frequency: "SIX_HOURS", RulePrefix: "reflex", IsolationGroups: g}
}

// ec2Changes lists the report's EC2 changes as "Action Target".
func ec2Changes(r *Report) []string {
	var out []string
	for _, c := range r.Changes {
		if c.Service == "ec2" {
			out = append(out, c.Action+" "+c.Target)
		}
	}
	return out
}

// changing lists the calls that change state: AssumeRole changes nothing
// (a dry run assumes the members' roles to read their VPCs).
func changing(srv *fakeaws.Server) []string {
	return slices.DeleteFunc(mutating(srv), func(op string) bool { return op == "AssumeRole" })
}

// made lists, in order, the changes that make the kinds' groups in vpc.
func made(vpc, where string, kinds ...string) []string {
	var out []string
	for _, k := range kinds {
		target := isogroup.Name(k) + " in " + vpc + " (" + where + ")"
		out = append(out, "CreateSecurityGroup "+target)
		for _, f := range isogroup.NewFixes(k) {
			out = append(out, f.Op+" "+target)
		}
	}
	return out
}

// groupsIn reads reflex's groups in account and region, by kind and VPC.
func groupsIn(t *testing.T, srv *fakeaws.Server, acct, region string) map[isogroup.Key]*ec2types.SecurityGroup {
	t.Helper()
	c := ec2.NewFromConfig(srv.Config(acct), func(o *ec2.Options) { o.Region = region })
	gs, err := isogroup.List(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return isogroup.Index(gs)
}

// checkRules fails unless the group has exactly its kind's rules.
func checkRules(t *testing.T, g *ec2types.SecurityGroup, kind string) {
	t.Helper()
	sorted := func(p []ec2types.IpPermission) []string { s := isogroup.Describe(p); slices.Sort(s); return s }
	in, out := isogroup.Rules(kind)
	if g == nil {
		t.Errorf("no %s group", kind)
		return
	}
	if !slices.Equal(sorted(g.IpPermissions), sorted(in)) || !slices.Equal(sorted(g.IpPermissionsEgress), sorted(out)) {
		t.Errorf("%s group %s: in %v out %v, want in %v out %v", kind, aws.ToString(g.GroupId),
			sorted(g.IpPermissions), sorted(g.IpPermissionsEgress), sorted(in), sorted(out))
	}
	if aws.ToString(g.GroupName) != isogroup.Name(kind) || aws.ToString(g.Description) != isogroup.Description(kind) {
		t.Errorf("%s group named %q, %q", kind, aws.ToString(g.GroupName), aws.ToString(g.Description))
	}
}

// TestIsolationGroups: setup makes reflex's groups, with exactly the
// steps' rules, in every VPC of every account and region where reflex
// acts; the dry run lists exactly the calls of the run and makes none; a
// second run changes nothing; accounts it cannot list or reach are told.
func TestIsolationGroups(t *testing.T) {
	both := isogroup.Kinds()
	star := Account{Account: cloud.Account{ID: "*", Role: "reflex-responder", ExternalID: "x"}}
	memberAcct := Account{Account: cloud.Account{ID: member, Role: "reflex-responder", ExternalID: memberExtID}, Regions: []string{"us-east-1", "eu-west-1"}}
	strangerAcct := Account{Account: cloud.Account{ID: stranger, Role: "arn:aws:iam::{account}:role/reflex-responder"}}
	tests := []struct {
		name      string
		groups    IsolationGroups
		want      []string // EC2 changes of the first run
		notes     []string // substrings, one per note
		wantIn    map[string][]string
		notInVPCs []string
	}{
		{
			name:   "no accounts configured: this account, setup's region",
			groups: IsolationGroups{Kinds: both},
			want:   made(homeVPC, account+" eu-west-1", both...),
			wantIn: map[string][]string{account + " eu-west-1": {homeVPC}},
		},
		{
			name:   "only the isolation group (no untrack_first anywhere)",
			groups: IsolationGroups{Kinds: []string{isogroup.Isolate}},
			want:   made(homeVPC, account+" eu-west-1", isogroup.Isolate),
		},
		{
			name:   `"*", a member listed by id with two regions, one that cannot be reached`,
			groups: IsolationGroups{Kinds: both, Accounts: []Account{star, memberAcct, strangerAcct}},
			want: slices.Concat(made(homeVPC, account+" eu-west-1", both...),
				made(memberVPC1, member+" eu-west-1", both...), made(memberVPC2, member+" eu-west-1", both...),
				made(memberVPCUS, member+" us-east-1", both...)),
			notes: []string{`"*" (role reflex-responder) stands for accounts setup cannot list`,
				"account 444444444444: reflex's isolation groups not made: these credentials may not assume arn:aws:iam::444444444444:role/reflex-responder"},
			wantIn: map[string][]string{account + " eu-west-1": {homeVPC}, member + " eu-west-1": {memberVPC1, memberVPC2}, member + " us-east-1": {memberVPCUS}},
		},
		{
			name:      "accounts listed without this one: reflex does not act here",
			groups:    IsolationGroups{Kinds: both, Accounts: []Account{{Account: memberAcct.Account}}},
			want:      slices.Concat(made(memberVPC1, member+" eu-west-1", both...), made(memberVPC2, member+" eu-west-1", both...)),
			wantIn:    map[string][]string{member + " eu-west-1": {memberVPC1, memberVPC2}},
			notInVPCs: []string{account + " eu-west-1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, srv := newGroupSetup(t)
			ctx := context.Background()
			want := groupsWant(&tc.groups)

			s.DryRun = true
			dry, err := s.Apply(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			if got := changing(srv); len(got) != 0 {
				t.Fatalf("dry run made mutating calls: %v", got)
			}
			s.DryRun = false
			srv.Cloud.ResetCalls()
			first, err := s.Apply(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			if got := ec2Changes(first); !slices.Equal(got, tc.want) {
				t.Errorf("first run:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if !slices.Equal(ec2Changes(dry), ec2Changes(first)) {
				t.Errorf("dry run planned %v, the run did %v", ec2Changes(dry), ec2Changes(first))
			}
			// each change is one call, and only those calls change anything
			var calls []string
			for _, op := range mutating(srv) {
				if op != "CreateDetector" && op != "AssumeRole" {
					calls = append(calls, op)
				}
			}
			var actions []string
			for _, c := range first.Changes {
				if c.Service == "ec2" {
					actions = append(actions, c.Action)
				}
			}
			if !slices.Equal(calls, actions) {
				t.Errorf("calls %v for changes %v", calls, actions)
			}
			if len(first.Notes) != len(tc.notes) {
				t.Errorf("notes = %q", first.Notes)
			}
			for i, n := range tc.notes {
				if i < len(first.Notes) && !strings.Contains(first.Notes[i], n) {
					t.Errorf("note %d = %q, want %q", i, first.Notes[i], n)
				}
			}
			for where, vpcs := range tc.wantIn {
				acct, region, _ := strings.Cut(where, " ")
				idx := groupsIn(t, srv, acct, region)
				for _, vpc := range vpcs {
					for _, kind := range tc.groups.Kinds {
						checkRules(t, idx[isogroup.Key{VPC: vpc, Kind: kind}], kind)
					}
				}
				if len(idx) != len(vpcs)*len(tc.groups.Kinds) {
					t.Errorf("%s: %d groups, want %d", where, len(idx), len(vpcs)*len(tc.groups.Kinds))
				}
			}
			for _, where := range tc.notInVPCs {
				acct, region, _ := strings.Cut(where, " ")
				if idx := groupsIn(t, srv, acct, region); len(idx) != 0 {
					t.Errorf("%s: groups made where reflex does not act: %v", where, idx)
				}
			}

			srv.Cloud.ResetCalls()
			second, err := s.Apply(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			if got := changing(srv); len(second.Changes) != 0 || len(got) != 0 {
				t.Errorf("second run: %v (calls %v)", ec2Changes(second), got)
			}
			upToDate, groups := 0, 0
			for _, u := range second.Unchanged {
				if strings.HasPrefix(u, "ec2 security group ") {
					upToDate++
				}
			}
			for _, c := range tc.want {
				if strings.HasPrefix(c, "CreateSecurityGroup ") {
					groups++
				}
			}
			if upToDate != groups {
				t.Errorf("second run: %d groups up to date, want %d: %v", upToDate, groups, second.Unchanged)
			}
		})
	}
}

// TestIsolationGroupsDriftRepaired: rules added or removed by hand are put
// back, the dry run listing exactly the repair; a group named as reflex's
// without its tag is tagged and given its rules; setup's --tag tags are on
// the groups it creates.
func TestIsolationGroupsDriftRepaired(t *testing.T) {
	s, srv := newGroupSetup(t)
	ctx := context.Background()
	c := ec2.NewFromConfig(srv.Config(account), func(o *ec2.Options) { o.Region = "eu-west-1" })
	where := account + " eu-west-1"
	target := func(kind string) string { return isogroup.Name(kind) + " in " + homeVPC + " (" + where + ")" }
	ssh := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}

	// By hand, before setup: a reflex-isolation group without the tag,
	// with an inbound rule and the default egress.
	hand, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(isogroup.IsolationName),
		Description: aws.String("made by hand"), VpcId: aws.String(homeVPC)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: hand.GroupId, IpPermissions: []ec2types.IpPermission{ssh}}); err != nil {
		t.Fatal(err)
	}
	want := groupsWant(&IsolationGroups{Kinds: isogroup.Kinds()})
	want.Tags = map[string]string{"team": "soc"}
	first, err := s.Apply(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	wantChanges := slices.Concat(made(homeVPC, where, isogroup.Untrack), []string{"CreateTags " + target(isogroup.Isolate),
		"RevokeSecurityGroupIngress " + target(isogroup.Isolate), "RevokeSecurityGroupEgress " + target(isogroup.Isolate)})
	if got := ec2Changes(first); !slices.Equal(got, wantChanges) {
		t.Errorf("first run:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantChanges, "\n"))
	}
	idx := groupsIn(t, srv, account, "eu-west-1")
	untrack, iso := idx[isogroup.Key{VPC: homeVPC, Kind: isogroup.Untrack}], idx[isogroup.Key{VPC: homeVPC, Kind: isogroup.Isolate}]
	checkRules(t, untrack, isogroup.Untrack)
	if iso == nil || aws.ToString(iso.GroupId) != aws.ToString(hand.GroupId) || len(iso.IpPermissions)+len(iso.IpPermissionsEgress) != 0 {
		t.Fatalf("the hand-made group, tagged: %+v", iso)
	}
	tags := map[string]string{}
	for _, tg := range untrack.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["team"] != "soc" || tags[isogroup.Tag] != isogroup.Untrack || tags["Name"] != isogroup.UntrackName {
		t.Errorf("untrack group tags = %v", tags)
	}

	// Drift by hand: a rule added to each group, the untrack group's IPv6
	// egress removed.
	for _, id := range []*string{untrack.GroupId, iso.GroupId} {
		if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: id, IpPermissions: []ec2types.IpPermission{ssh}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: untrack.GroupId, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("-1"), Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String(isogroup.AllIPv6)}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: iso.GroupId, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String(isogroup.AllIPv4)}}}}}); err != nil {
		t.Fatal(err)
	}
	repair := []string{"RevokeSecurityGroupIngress " + target(isogroup.Untrack), "AuthorizeSecurityGroupEgress " + target(isogroup.Untrack),
		"RevokeSecurityGroupIngress " + target(isogroup.Isolate), "RevokeSecurityGroupEgress " + target(isogroup.Isolate)}
	s.DryRun = true
	srv.Cloud.ResetCalls()
	dry, err := s.Apply(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if got := ec2Changes(dry); !slices.Equal(got, repair) || len(changing(srv)) != 0 {
		t.Errorf("dry run of the repair:\n%s\nwant\n%s\ncalls %v", strings.Join(got, "\n"), strings.Join(repair, "\n"), changing(srv))
	}
	if !strings.Contains(dry.Changes[0].Why, "inbound rules beyond allow-all: tcp 22 10.0.0.0/8") || !strings.Contains(dry.Changes[1].Why, "no outbound rule for all ::/0") {
		t.Errorf("why: %q, %q", dry.Changes[0].Why, dry.Changes[1].Why)
	}
	s.DryRun = false
	srv.Cloud.ResetCalls()
	fix, err := s.Apply(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if got := ec2Changes(fix); !slices.Equal(got, repair) || len(changing(srv)) != len(repair) {
		t.Errorf("repair: %v (calls %v)", got, changing(srv))
	}
	idx = groupsIn(t, srv, account, "eu-west-1")
	checkRules(t, idx[isogroup.Key{VPC: homeVPC, Kind: isogroup.Untrack}], isogroup.Untrack)
	if g := idx[isogroup.Key{VPC: homeVPC, Kind: isogroup.Isolate}]; len(g.IpPermissions)+len(g.IpPermissionsEgress) != 0 {
		t.Errorf("isolation group after repair: in %v out %v", isogroup.Describe(g.IpPermissions), isogroup.Describe(g.IpPermissionsEgress))
	}
	srv.Cloud.ResetCalls()
	if again, err := s.Apply(ctx, want); err != nil || len(again.Changes) != 0 || len(changing(srv)) != 0 {
		t.Errorf("after the repair: %v %v (calls %v)", ec2Changes(again), err, changing(srv))
	}

	// A group named reflex-untrack that the steps use as their isolation
	// group (its tag says so) is not taken over: setup says what to fix.
	mc := ec2.NewFromConfig(srv.Config(member), func(o *ec2.Options) { o.Region = "eu-west-1" })
	if _, err := mc.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(isogroup.UntrackName), Description: aws.String("x"),
		VpcId: aws.String(memberVPC1), TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup,
			Tags: []ec2types.Tag{{Key: aws.String(isogroup.Tag), Value: aws.String(isogroup.Isolate)}}}}}); err != nil {
		t.Fatal(err)
	}
	conflict := groupsWant(&IsolationGroups{Kinds: isogroup.Kinds(), Accounts: []Account{
		{Account: cloud.Account{ID: member, Role: "reflex-responder", ExternalID: memberExtID}}}})
	if _, err := s.Apply(ctx, conflict); err == nil || !strings.Contains(err.Error(), "the steps use it as their isolation group") {
		t.Errorf("a group named reflex-untrack tagged isolate: %v", err)
	}
}

func TestIsolationGroupsNeedKnownKinds(t *testing.T) {
	w := groupsWant(&IsolationGroups{Kinds: []string{"quarantine"}})
	if err := w.Validate(); err == nil || !strings.Contains(err.Error(), `isolation group kind "quarantine"`) {
		t.Errorf("validate: %v", err)
	}
	s := &Setup{STS: nil, Region: "eu-west-1"}
	if _, err := s.Apply(context.Background(), groupsWant(&IsolationGroups{Kinds: isogroup.Kinds()})); err == nil {
		t.Error("no STS client: accepted")
	}
}

// TestGroupTargets: where the groups are made, and with which credentials:
// as the runtime reaches the accounts (package cloud).
func TestGroupTargets(t *testing.T) {
	acct := func(id, role string, regions ...string) Account {
		return Account{Account: cloud.Account{ID: id, Role: role, ExternalID: "e-" + id}, Regions: regions}
	}
	str := func(ts []groupTarget) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.account+" "+strings.Join(t.regions, ",")+" "+t.role+" "+t.externalID)
		}
		return out
	}
	tests := []struct {
		name      string
		partition string
		accounts  []Account
		want      []string
		notes     int
	}{
		{"none configured: this account", "aws", nil, []string{"111111111111 eu-west-1  "}, 0},
		{`"*": this account with "*"'s regions, told`, "aws", []Account{acct("*", "r", "us-east-1", "eu-west-1", "us-east-1")},
			[]string{"111111111111 eu-west-1,us-east-1  "}, 1},
		{"this account listed by id: setup's own credentials", "aws", []Account{acct("111111111111", "r"), acct("*", "r")},
			[]string{"111111111111 eu-west-1  "}, 1},
		{"members by id: their roles in the partition, ARN templates filled", "aws-cn",
			[]Account{acct("333333333333", "r"), acct("444444444444", "arn:aws:iam::{account}:role/x", "ap-south-1")},
			[]string{"333333333333 eu-west-1 arn:aws-cn:iam::333333333333:role/r e-333333333333", "444444444444 ap-south-1 arn:aws:iam::444444444444:role/x e-444444444444"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, notes := groupTargets("111111111111", tc.partition, "eu-west-1", tc.accounts)
			if !slices.Equal(str(got), tc.want) || len(notes) != tc.notes {
				t.Errorf("targets %q notes %q\nwant %q, %d notes", str(got), notes, tc.want, tc.notes)
			}
		})
	}
}
