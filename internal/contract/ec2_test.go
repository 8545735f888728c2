package contract

import (
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

const (
	docCreateSecurityGroup = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html"
	docSGRules             = "https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"
	docCreateTags          = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateTags.html"
	docStopInstances       = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_StopInstances.html"
	docInstanceState       = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceState.html"
	docEC2Errors           = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html"
	docDryRun              = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/CommonParameters.html"
	docRevokeEgress        = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RevokeSecurityGroupEgress.html"
	docDeleteSecurityGroup = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html"
	docDescribeVpcs        = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcs.html"
)

// kumoNoDefaultEgress is why the default-egress checks are skipped on kumo.
const kumoNoDefaultEgress = "kumo creates a security group with no egress rule; AWS adds the allow-all egress rule " +
	"(-1 to 0.0.0.0/0), which reflex's isolation revokes"

// kumoVpcFilters is why the DescribeVpcs filter check is skipped on kumo.
const kumoVpcFilters = "kumo ignores DescribeVpcs filters and returns every VPC of the region; AWS returns the VPCs " +
	"the filters match"

// allTraffic is the rule "all protocols, all ports" to or from a CIDR.
func allTraffic(cidr string) ec2types.IpPermission {
	return ec2types.IpPermission{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}}}
}

func ec2Checks() []check {
	return []check{
		{name: "ec2/CreateSecurityGroup creates the group as asked in the VPC", doc: docCreateSecurityGroup, run: func(t *testing.T, e *env) {
			vpc, _ := e.fix.network(t)
			name := unique("reflex-isolation")
			g := describeSG(t, e, createSG(t, e, vpc, name))
			if aws.ToString(g.GroupName) != name || aws.ToString(g.VpcId) != vpc || aws.ToString(g.Description) != "contract check" ||
				aws.ToString(g.OwnerId) != e.account {
				t.Errorf("group = %s %s %q owner %s, want %s %s %q owner %s", aws.ToString(g.GroupName), aws.ToString(g.VpcId),
					aws.ToString(g.Description), aws.ToString(g.OwnerId), name, vpc, "contract check", e.account)
			}
		}},
		{name: "ec2/a new security group has no ingress rule and the default allow-all egress rule", doc: docSGRules, kumo: kumoNoDefaultEgress,
			run: func(t *testing.T, e *env) {
				vpc, _ := e.fix.network(t)
				g := describeSG(t, e, createSG(t, e, vpc, unique("rules")))
				if len(g.IpPermissions) != 0 {
					t.Errorf("ingress rules = %d, want none", len(g.IpPermissions))
				}
				if len(g.IpPermissionsEgress) != 1 || aws.ToString(g.IpPermissionsEgress[0].IpProtocol) != "-1" ||
					len(g.IpPermissionsEgress[0].IpRanges) != 1 || aws.ToString(g.IpPermissionsEgress[0].IpRanges[0].CidrIp) != "0.0.0.0/0" {
					t.Errorf("egress rules = %+v, want the one allow-all rule (-1 to 0.0.0.0/0)", g.IpPermissionsEgress)
				}
			}},
		{name: "ec2/RevokeSecurityGroupEgress removes the default egress rule", doc: docRevokeEgress, run: func(t *testing.T, e *env) {
			vpc, _ := e.fix.network(t)
			id := createSG(t, e, vpc, unique("isolation"))
			out, err := ec2Client(e.cfg).RevokeSecurityGroupEgress(t.Context(), &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(id),
				IpPermissions: []ec2types.IpPermission{allTraffic("0.0.0.0/0")}})
			must(t, "RevokeSecurityGroupEgress", err)
			if !aws.ToBool(out.Return) || len(out.UnknownIpPermissions) != 0 {
				t.Errorf("Return = %v, UnknownIpPermissions = %+v; want true and none (the rule existed)", aws.ToBool(out.Return), out.UnknownIpPermissions)
			}
			if g := describeSG(t, e, id); len(g.IpPermissionsEgress) != 0 || len(g.IpPermissions) != 0 {
				t.Errorf("rules after the revoke: ingress %+v egress %+v, want none", g.IpPermissions, g.IpPermissionsEgress)
			}
		}},
		{name: "ec2/AuthorizeSecurityGroupIngress adds a rule; the same rule again fails InvalidPermission.Duplicate", doc: docEC2Errors,
			kumo: "kumo accepts the same rule twice", run: func(t *testing.T, e *env) {
				vpc, _ := e.fix.network(t)
				id := createSG(t, e, vpc, unique("ingress"))
				rule := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
					IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.1.0.0/16")}}}
				in := &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{rule}}
				_, err := ec2Client(e.cfg).AuthorizeSecurityGroupIngress(t.Context(), in)
				must(t, "AuthorizeSecurityGroupIngress", err)
				g := describeSG(t, e, id)
				if len(g.IpPermissions) != 1 || aws.ToString(g.IpPermissions[0].IpProtocol) != "tcp" || aws.ToInt32(g.IpPermissions[0].FromPort) != 22 ||
					aws.ToInt32(g.IpPermissions[0].ToPort) != 22 || len(g.IpPermissions[0].IpRanges) != 1 ||
					aws.ToString(g.IpPermissions[0].IpRanges[0].CidrIp) != "10.1.0.0/16" {
					t.Errorf("ingress = %+v, want tcp 22 from 10.1.0.0/16", g.IpPermissions)
				}
				_, err = ec2Client(e.cfg).AuthorizeSecurityGroupIngress(t.Context(), in)
				wantCode(t, err, "InvalidPermission.Duplicate")
			}},
		{name: "ec2/DeleteSecurityGroup of a group another group's rule refers to fails DependencyViolation", doc: docDeleteSecurityGroup,
			kumo: "kumo deletes a security group that another group's rule still refers to", run: func(t *testing.T, e *env) {
				vpc, _ := e.fix.network(t)
				c := ec2Client(e.cfg)
				target, source := createSG(t, e, vpc, unique("target")), createSG(t, e, vpc, unique("source"))
				_, err := c.AuthorizeSecurityGroupIngress(t.Context(), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(target),
					IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(source)}}}}})
				must(t, "AuthorizeSecurityGroupIngress", err)
				_, err = c.DeleteSecurityGroup(t.Context(), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(source)})
				wantCode(t, err, "DependencyViolation")
				describeSG(t, e, source) // still there
			}},
		{name: "ec2/DescribeVpcs returns a VPC by its id, with its CIDR block", doc: docDescribeVpcs, run: func(t *testing.T, e *env) {
			vpc, _ := e.fix.network(t)
			out, err := ec2Client(e.cfg).DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{VpcIds: []string{vpc}})
			must(t, "DescribeVpcs", err)
			if len(out.Vpcs) != 1 || aws.ToString(out.Vpcs[0].VpcId) != vpc || aws.ToString(out.Vpcs[0].CidrBlock) != "10.0.0.0/16" {
				t.Errorf("DescribeVpcs(%s) = %d VPCs, want %s with 10.0.0.0/16", vpc, len(out.Vpcs), vpc)
			}
		}},
		{name: "ec2/DescribeVpcs with the vpc-id filter returns that VPC only", doc: docDescribeVpcs, kumo: kumoVpcFilters,
			run: func(t *testing.T, e *env) {
				vpc, _ := e.fix.network(t)
				e.fix.network(t) // another one, which the filter leaves out
				out, err := ec2Client(e.cfg).DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{
					Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}})
				must(t, "DescribeVpcs", err)
				if len(out.Vpcs) != 1 || aws.ToString(out.Vpcs[0].VpcId) != vpc {
					t.Errorf("DescribeVpcs(vpc-id=%s) = %d VPCs, want that one", vpc, len(out.Vpcs))
				}
			}},
		{name: "ec2/DescribeVpcs lists every VPC of the region when given no id", doc: docDescribeVpcs, run: func(t *testing.T, e *env) {
			a, _ := e.fix.network(t)
			b, _ := e.fix.network(t)
			out, err := ec2Client(e.cfg).DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{})
			must(t, "DescribeVpcs", err)
			seen := map[string]bool{}
			for _, v := range out.Vpcs {
				seen[aws.ToString(v.VpcId)] = true
			}
			if !seen[a] || !seen[b] {
				t.Errorf("DescribeVpcs() = %d VPCs without %s or %s", len(out.Vpcs), a, b)
			}
		}},
		{name: "ec2/DescribeVpcs of a missing VPC id fails InvalidVpcID.NotFound", doc: docEC2Errors, run: func(t *testing.T, e *env) {
			_, err := ec2Client(e.cfg).DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-0123456789abcdef0"}})
			wantCode(t, err, "InvalidVpcID.NotFound")
		}},
		{name: "ec2/CreateSecurityGroup with a name taken in the VPC fails InvalidGroup.Duplicate", doc: docCreateSecurityGroup, run: func(t *testing.T, e *env) {
			vpc, _ := e.fix.network(t)
			name := unique("dup")
			createSG(t, e, vpc, name)
			_, err := ec2Client(e.cfg).CreateSecurityGroup(t.Context(), &ec2.CreateSecurityGroupInput{GroupName: aws.String(name),
				Description: aws.String("contract check"), VpcId: aws.String(vpc)})
			wantCode(t, err, "InvalidGroup.Duplicate")
		}},
		{name: "ec2/CreateSecurityGroup in a missing VPC fails InvalidVpcID.NotFound", doc: docEC2Errors,
			kumo: "kumo creates the group in a VPC that does not exist", run: func(t *testing.T, e *env) {
				_, err := ec2Client(e.cfg).CreateSecurityGroup(t.Context(), &ec2.CreateSecurityGroupInput{GroupName: aws.String(unique("novpc")),
					Description: aws.String("contract check"), VpcId: aws.String("vpc-0123456789abcdef0")})
				wantCode(t, err, "InvalidVpcID.NotFound")
			}},
		{name: "ec2/CreateTags adds tags and overwrites an existing key's value", doc: docCreateTags, run: func(t *testing.T, e *env) {
			vpc, subnet := e.fix.network(t)
			resources := []struct {
				id   string
				kind ec2types.ResourceType
			}{
				{e.fix.instance(t, subnet), ec2types.ResourceTypeInstance},
				{createSG(t, e, vpc, unique("tagged")), ec2types.ResourceTypeSecurityGroup},
			}
			for _, r := range resources {
				createTags(t, e, r.id, map[string]string{"reflex:finding": "f-1", "reflex:state": "isolating"})
				createTags(t, e, r.id, map[string]string{"reflex:state": "isolated"})
				want := map[string]string{"reflex:finding": "f-1", "reflex:state": "isolated"}
				out, err := ec2Client(e.cfg).DescribeTags(t.Context(), &ec2.DescribeTagsInput{Filters: []ec2types.Filter{
					{Name: aws.String("resource-id"), Values: []string{r.id}}}})
				must(t, "DescribeTags", err)
				got := map[string]string{}
				for _, d := range out.Tags {
					got[aws.ToString(d.Key)] = aws.ToString(d.Value)
					if aws.ToString(d.ResourceId) != r.id || d.ResourceType != r.kind {
						t.Errorf("tag %s on %s (%s), want %s (%s)", aws.ToString(d.Key), aws.ToString(d.ResourceId), d.ResourceType, r.id, r.kind)
					}
				}
				if !maps.Equal(got, want) {
					t.Errorf("%s: DescribeTags = %v, want %v", r.kind, got, want)
				}
			}
		}},
		{name: "ec2/DescribeInstances shows the tags CreateTags put on the instance", doc: docCreateTags,
			kumo: "kumo keeps tags apart from instances: DescribeTags lists them, DescribeInstances shows none", run: func(t *testing.T, e *env) {
				_, subnet := e.fix.network(t)
				id := e.fix.instance(t, subnet)
				want := map[string]string{"reflex:finding": "f-1", "reflex:original-groups": "sg-0123456789abcdef0"}
				createTags(t, e, id, want)
				if got := tagMap(describeInstance(t, e, id).Tags); !maps.Equal(got, want) {
					t.Errorf("DescribeInstances tags = %v, want %v", got, want)
				}
			}},
		{name: "ec2/CreateTags on a missing instance fails InvalidInstanceID.NotFound", doc: docEC2Errors,
			kumo: "kumo answers InvalidID (AWS's code for a malformed id) for a well-formed id that does not exist; AWS answers " +
				"InvalidInstanceID.NotFound \"The instance ID '…' does not exist\" (as reported in hazelcast/hazelcast-simulator#1531)", run: func(t *testing.T, e *env) {
				_, err := ec2Client(e.cfg).CreateTags(t.Context(), &ec2.CreateTagsInput{Resources: []string{"i-0123456789abcdef0"},
					Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
				wantCode(t, err, "InvalidInstanceID.NotFound")
			}},
		{name: "ec2/StopInstances moves a running instance to stopping or stopped", doc: docInstanceState, run: func(t *testing.T, e *env) {
			_, subnet := e.fix.network(t)
			id := e.fix.instance(t, subnet)
			out, err := ec2Client(e.cfg).StopInstances(t.Context(), &ec2.StopInstancesInput{InstanceIds: []string{id}})
			must(t, "StopInstances", err)
			if len(out.StoppingInstances) != 1 {
				t.Fatalf("StoppingInstances = %d, want 1", len(out.StoppingInstances))
			}
			ch := out.StoppingInstances[0]
			if aws.ToString(ch.InstanceId) != id {
				t.Errorf("InstanceId = %q, want %q", aws.ToString(ch.InstanceId), id)
			}
			wantState(t, "PreviousState", ch.PreviousState, ec2types.InstanceStateNameRunning)
			wantState(t, "CurrentState", ch.CurrentState, ec2types.InstanceStateNameStopping, ec2types.InstanceStateNameStopped)
			wantState(t, "DescribeInstances state", describeInstance(t, e, id).State, ec2types.InstanceStateNameStopping, ec2types.InstanceStateNameStopped)
		}},
		{name: "ec2/StopInstances of a missing instance fails InvalidInstanceID.NotFound", doc: docStopInstances, run: func(t *testing.T, e *env) {
			_, err := ec2Client(e.cfg).StopInstances(t.Context(), &ec2.StopInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
			wantCode(t, err, "InvalidInstanceID.NotFound")
		}},
		{name: "ec2/StopInstances with DryRun fails DryRunOperation and changes nothing", doc: docDryRun,
			kumo: "kumo ignores DryRun: the instance is stopped", run: func(t *testing.T, e *env) {
				_, subnet := e.fix.network(t)
				id := e.fix.instance(t, subnet)
				_, err := ec2Client(e.cfg).StopInstances(t.Context(), &ec2.StopInstancesInput{InstanceIds: []string{id}, DryRun: aws.Bool(true)})
				wantCode(t, err, "DryRunOperation")
				wantState(t, "state after the dry run", describeInstance(t, e, id).State, ec2types.InstanceStateNameRunning)
			}},
	}
}

func createSG(t *testing.T, e *env, vpc, name string) string {
	t.Helper()
	out, err := ec2Client(e.cfg).CreateSecurityGroup(t.Context(), &ec2.CreateSecurityGroupInput{GroupName: aws.String(name),
		Description: aws.String("contract check"), VpcId: aws.String(vpc)})
	must(t, "CreateSecurityGroup", err)
	return aws.ToString(out.GroupId)
}

func describeSG(t *testing.T, e *env, id string) ec2types.SecurityGroup {
	t.Helper()
	out, err := ec2Client(e.cfg).DescribeSecurityGroups(t.Context(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	must(t, "DescribeSecurityGroups", err)
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("DescribeSecurityGroups(%s) = %d groups, want 1", id, len(out.SecurityGroups))
	}
	return out.SecurityGroups[0]
}

func describeInstance(t *testing.T, e *env, id string) ec2types.Instance {
	t.Helper()
	out, err := ec2Client(e.cfg).DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	must(t, "DescribeInstances", err)
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("DescribeInstances(%s): want one reservation with one instance, got %+v", id, out.Reservations)
	}
	return out.Reservations[0].Instances[0]
}

func createTags(t *testing.T, e *env, id string, tags map[string]string) {
	t.Helper()
	var ts []ec2types.Tag
	for k, v := range tags {
		ts = append(ts, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	_, err := ec2Client(e.cfg).CreateTags(t.Context(), &ec2.CreateTagsInput{Resources: []string{id}, Tags: ts})
	must(t, "CreateTags", err)
}

func tagMap(tags []ec2types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// stateCodes are the documented codes of each instance state name (the
// low byte of InstanceState.Code).
var stateCodes = map[ec2types.InstanceStateName]int32{
	ec2types.InstanceStateNamePending: 0, ec2types.InstanceStateNameRunning: 16, ec2types.InstanceStateNameShuttingDown: 32,
	ec2types.InstanceStateNameTerminated: 48, ec2types.InstanceStateNameStopping: 64, ec2types.InstanceStateNameStopped: 80,
}

// wantState checks an instance state is one of names, with the name's code.
func wantState(t *testing.T, what string, s *ec2types.InstanceState, names ...ec2types.InstanceStateName) {
	t.Helper()
	if s == nil {
		t.Errorf("%s missing, want %v", what, names)
		return
	}
	for _, n := range names {
		if s.Name == n {
			if code := aws.ToInt32(s.Code) & 0xff; code != stateCodes[n] {
				t.Errorf("%s %s has code %d, want %d", what, n, code, stateCodes[n])
			}
			return
		}
	}
	t.Errorf("%s = %s, want one of %v", what, s.Name, names)
}
