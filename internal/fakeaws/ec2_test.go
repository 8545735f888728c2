package fakeaws_test

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/reflexsec/reflex/internal/fakeaws"
)

func TestEC2DescribeInstances(t *testing.T) {
	srv := newServer(t)
	c := ec2.NewFromConfig(srv.Config(prod))
	ctx := context.Background()

	tests := []struct {
		name    string
		in      *ec2.DescribeInstancesInput
		want    []string
		errCode string
	}{
		{"all", &ec2.DescribeInstancesInput{}, []string{web1, web2, bast}, ""},
		{"by id", &ec2.DescribeInstancesInput{InstanceIds: []string{web2}}, []string{web2}, ""},
		{"tag filter", &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("tag:Name"), Values: []string{"web-*"}}}}, []string{web1, web2}, ""},
		{"sg filter", &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("instance.group-id"), Values: []string{sgApp}}}}, []string{web1}, ""},
		{"unknown", &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}}, nil, "InvalidInstanceID.NotFound"},
		{"malformed", &ec2.DescribeInstancesInput{InstanceIds: []string{"bogus"}}, nil, "InvalidInstanceID.Malformed"},
		{"other region's instance", &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0a22222222222222a"}}, nil, "InvalidInstanceID.NotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.DescribeInstances(ctx, tc.in)
			wantCode(t, err, tc.errCode)
			if err != nil {
				return
			}
			var got []string
			for _, r := range out.Reservations {
				for _, in := range r.Instances {
					got = append(got, aws.ToString(in.InstanceId))
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("instances = %v, want %v", got, tc.want)
			}
		})
	}

	// The instance's groups are those of its primary interface; each
	// interface has its own.
	out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{web1}})
	must(t, err)
	in := out.Reservations[0].Instances[0]
	if len(in.SecurityGroups) != 1 || aws.ToString(in.SecurityGroups[0].GroupId) != sgWeb {
		t.Fatalf("instance groups = %+v, want only %s", in.SecurityGroups, sgWeb)
	}
	if len(in.NetworkInterfaces) != 2 || aws.ToString(in.NetworkInterfaces[1].Groups[0].GroupId) != sgApp {
		t.Fatalf("interfaces = %+v", in.NetworkInterfaces)
	}
	if in.State.Name != types.InstanceStateNameRunning || aws.ToString(in.PublicIpAddress) != "203.0.113.10" {
		t.Fatalf("state %v public ip %v", in.State.Name, aws.ToString(in.PublicIpAddress))
	}
	if in.IamInstanceProfile == nil || !strings.HasSuffix(aws.ToString(in.IamInstanceProfile.Arn), "instance-profile/web-profile") {
		t.Fatalf("profile = %+v", in.IamInstanceProfile)
	}
	if len(in.BlockDeviceMappings) != 2 || !aws.ToBool(in.BlockDeviceMappings[0].Ebs.DeleteOnTermination) {
		t.Fatalf("block devices = %+v", in.BlockDeviceMappings)
	}

	// Pagination.
	p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	n := 0
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		must(t, err)
		for _, r := range pg.Reservations {
			n += len(r.Instances)
		}
	}
	if n != 3 {
		t.Fatalf("paginated %d instances, want 3", n)
	}
}

func TestEC2ModifyInstanceAttribute(t *testing.T) {
	srv := newServer(t)
	c := ec2.NewFromConfig(srv.Config(prod))
	ctx := context.Background()

	// Groups on a multi-interface instance: refused as by EC2.
	_, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(web1), Groups: []string{sgAdm}})
	wantCode(t, err, "InvalidInstanceID")
	if !strings.Contains(err.Error(), "There are multiple interfaces attached to instance '"+web1+"'. Please specify an interface ID for the operation instead.") {
		t.Fatalf("message: %v", err)
	}
	// Single interface: accepted.
	_, err = c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(web2), Groups: []string{sgAdm, sgApp}})
	must(t, err)
	v, _ := srv.Cloud.Instance(prod, "", web2)
	if !slices.Equal(v.SecurityGroups, []string{sgAdm, sgApp}) {
		t.Fatalf("groups = %v", v.SecurityGroups)
	}
	_, err = c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(web2), Groups: []string{"sg-0fffffffffffffff0"}})
	wantCode(t, err, "InvalidGroup.NotFound")

	tests := []struct {
		name    string
		in      *ec2.ModifyInstanceAttributeInput
		errCode string
	}{
		{"termination protection", &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(web1), DisableApiTermination: &types.AttributeBooleanValue{Value: aws.Bool(true)}}, ""},
		{"shutdown behaviour", &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(web1), InstanceInitiatedShutdownBehavior: &types.AttributeValue{Value: aws.String("stop")}}, ""},
		{"bad shutdown behaviour", &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(web1), InstanceInitiatedShutdownBehavior: &types.AttributeValue{Value: aws.String("explode")}}, "InvalidParameterValue"},
		{"delete on termination", &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(web1), BlockDeviceMappings: []types.InstanceBlockDeviceMappingSpecification{
			{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}},
			{DeviceName: aws.String("/dev/xvdb"), Ebs: &types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}}}}, ""},
		{"unknown device", &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(web1), BlockDeviceMappings: []types.InstanceBlockDeviceMappingSpecification{
			{DeviceName: aws.String("/dev/sdz"), Ebs: &types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}}}}, "InvalidInstanceAttributeValue"},
		{"attribute/value form", &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(web2), Attribute: types.InstanceAttributeNameDisableApiTermination, Value: aws.String("true")}, ""},
		{"unknown instance", &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String("i-0fffffffffffffff0"), DisableApiTermination: &types.AttributeBooleanValue{Value: aws.Bool(true)}}, "InvalidInstanceID.NotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ModifyInstanceAttribute(ctx, tc.in)
			wantCode(t, err, tc.errCode)
		})
	}
	v, _ = srv.Cloud.Instance(prod, "", web1)
	if !v.DisableAPITermination || v.ShutdownBehavior != "stop" || v.DeleteOnTermination["/dev/xvda"] || v.DeleteOnTermination["/dev/xvdb"] {
		t.Fatalf("state after modify: %+v", v)
	}
	v, _ = srv.Cloud.Instance(prod, "", web2)
	if !v.DisableAPITermination {
		t.Fatal("attribute/value form not applied")
	}

	// DescribeInstanceAttribute reads them back.
	da, err := c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(web1), Attribute: types.InstanceAttributeNameDisableApiTermination})
	must(t, err)
	if !aws.ToBool(da.DisableApiTermination.Value) {
		t.Fatal("DescribeInstanceAttribute disableApiTermination = false")
	}
	da, err = c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(web1), Attribute: types.InstanceAttributeNameBlockDeviceMapping})
	must(t, err)
	if len(da.BlockDeviceMappings) != 2 || aws.ToBool(da.BlockDeviceMappings[1].Ebs.DeleteOnTermination) {
		t.Fatalf("block devices = %+v", da.BlockDeviceMappings)
	}
}

func TestEC2NetworkInterfaces(t *testing.T) {
	srv := newServer(t)
	c := ec2.NewFromConfig(srv.Config(prod))
	ctx := context.Background()

	out, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
		Filters: []types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{web1}}}})
	must(t, err)
	if len(out.NetworkInterfaces) != 2 || aws.ToString(out.NetworkInterfaces[0].Attachment.InstanceId) != web1 {
		t.Fatalf("interfaces = %+v", out.NetworkInterfaces)
	}
	if out.NetworkInterfaces[0].Association == nil || aws.ToString(out.NetworkInterfaces[0].Association.PublicIp) != "203.0.113.10" {
		t.Fatalf("association = %+v", out.NetworkInterfaces[0].Association)
	}

	// Isolation goes interface by interface.
	for _, id := range []string{eni1, eni2} {
		_, err := c.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(id), Groups: []string{sgAdm}})
		must(t, err)
	}
	v, _ := srv.Cloud.Instance(prod, "", web1)
	for _, i := range v.Interfaces {
		if !slices.Equal(i.SecurityGroups, []string{sgAdm}) {
			t.Fatalf("interface %s groups = %v", i.ID, i.SecurityGroups)
		}
	}
	_, err = c.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String("eni-0fffffffffffffff0"), Groups: []string{sgAdm}})
	wantCode(t, err, "InvalidNetworkInterfaceID.NotFound")
	_, err = c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{"eni-0fffffffffffffff0"}})
	wantCode(t, err, "InvalidNetworkInterfaceID.NotFound")
}

func TestEC2SecurityGroups(t *testing.T) {
	srv := newServer(t)
	c := ec2.NewFromConfig(srv.Config(prod))
	ctx := context.Background()

	cr, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("reflex-isolation"),
		Description: aws.String("isolation"), VpcId: aws.String(vpc1),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{{Key: aws.String("reflex"), Value: aws.String("isolation")}}}}})
	must(t, err)
	id := aws.ToString(cr.GroupId)
	_, err = c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("reflex-isolation"), Description: aws.String("x"), VpcId: aws.String(vpc1)})
	wantCode(t, err, "InvalidGroup.Duplicate")
	_, err = c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("x"), Description: aws.String("x"), VpcId: aws.String("vpc-0fffffffffffffff0")})
	wantCode(t, err, "InvalidVpcID.NotFound")

	describe := func() types.SecurityGroup {
		t.Helper()
		out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
		must(t, err)
		return out.SecurityGroups[0]
	}
	// A new VPC group has the default allow-all egress rule.
	g := describe()
	if len(g.IpPermissionsEgress) != 1 || aws.ToString(g.IpPermissionsEgress[0].IpProtocol) != "-1" ||
		aws.ToString(g.IpPermissionsEgress[0].IpRanges[0].CidrIp) != "0.0.0.0/0" || len(g.IpPermissions) != 0 {
		t.Fatalf("new group rules: in %+v out %+v", g.IpPermissions, g.IpPermissionsEgress)
	}
	if len(g.Tags) != 1 || aws.ToString(g.Tags[0].Value) != "isolation" {
		t.Fatalf("tags = %+v", g.Tags)
	}
	allAll := []types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	// ... until revoked.
	rv, err := c.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(id), IpPermissions: allAll})
	must(t, err)
	if !aws.ToBool(rv.Return) || len(rv.RevokedSecurityGroupRules) != 1 {
		t.Fatalf("revoke = %+v", rv)
	}
	if g := describe(); len(g.IpPermissionsEgress) != 0 {
		t.Fatalf("egress after revoke = %+v", g.IpPermissionsEgress)
	}
	_, err = c.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(id), IpPermissions: allAll})
	wantCode(t, err, "InvalidPermission.NotFound")

	// Authorize ingress / egress, duplicates refused.
	ai, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}},
			UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(sgWeb)}}}}})
	must(t, err)
	if len(ai.SecurityGroupRules) != 2 || aws.ToInt32(ai.SecurityGroupRules[0].FromPort) != 443 {
		t.Fatalf("authorize = %+v", ai.SecurityGroupRules)
	}
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}})
	wantCode(t, err, "InvalidPermission.Duplicate")
	_, err = c.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(id), IpPermissions: allAll})
	must(t, err)
	g = describe()
	if len(g.IpPermissions) != 1 || len(g.IpPermissions[0].IpRanges) != 1 || len(g.IpPermissions[0].UserIdGroupPairs) != 1 || len(g.IpPermissionsEgress) != 1 {
		t.Fatalf("rules: in %+v out %+v", g.IpPermissions, g.IpPermissionsEgress)
	}
	_, err = c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}})
	must(t, err)

	// In use by an interface: cannot be deleted.
	_, err = c.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(eni2), Groups: []string{id}})
	must(t, err)
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	wantCode(t, err, "DependencyViolation")
	// Referenced by another group's rule: neither (sgWeb is referenced by sgApp and by id).
	_, err = c.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(eni2), Groups: []string{sgApp}})
	must(t, err)
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	must(t, err)
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	wantCode(t, err, "InvalidGroup.NotFound")

	// The default group cannot be deleted; filters work.
	out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc1}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	must(t, err)
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("default groups = %d", len(out.SecurityGroups))
	}
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: out.SecurityGroups[0].GroupId})
	wantCode(t, err, "CannotDelete")
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(sgAdm)})
	wantCode(t, err, "DependencyViolation") // the bastion uses it
}

func TestEC2Tags(t *testing.T) {
	srv := newServer(t)
	c := ec2.NewFromConfig(srv.Config(prod))
	ctx := context.Background()
	_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{web1, volW1}, Tags: []types.Tag{
		{Key: aws.String("reflex:finding"), Value: aws.String("22bf27df")}, {Key: aws.String("reflex:original-groups"), Value: aws.String(sgWeb)}}})
	must(t, err)
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"i-0fffffffffffffff0"}, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{web1}, Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("b")}}})
	wantCode(t, err, "InvalidParameterValue")

	out, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{
		{Name: aws.String("resource-id"), Values: []string{web1}}, {Name: aws.String("key"), Values: []string{"reflex:*"}}}})
	must(t, err)
	if len(out.Tags) != 2 || out.Tags[0].ResourceType != types.ResourceTypeInstance {
		t.Fatalf("tags = %+v", out.Tags)
	}
	_, err = c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{web1}, Tags: []types.Tag{{Key: aws.String("reflex:finding")}}})
	must(t, err)
	v, _ := srv.Cloud.Instance(prod, "", web1)
	if _, ok := v.Tags["reflex:finding"]; ok || v.Tags["reflex:original-groups"] != sgWeb || v.Tags["Name"] != "web-1" {
		t.Fatalf("tags after delete = %v", v.Tags)
	}
}

func TestEC2VolumesAndSnapshots(t *testing.T) {
	srv := newServer(t)
	c := ec2.NewFromConfig(srv.Config(prod))
	ctx := context.Background()

	vols, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{web1}}}})
	must(t, err)
	if len(vols.Volumes) != 2 || aws.ToString(vols.Volumes[0].Attachments[0].InstanceId) != web1 || vols.Volumes[0].State != types.VolumeStateInUse {
		t.Fatalf("volumes = %+v", vols.Volumes)
	}
	_, err = c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{"vol-0fffffffffffffff0"}})
	wantCode(t, err, "InvalidVolume.NotFound")

	s1, err := c.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(volW1), Description: aws.String("evidence"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot, Tags: []types.Tag{{Key: aws.String("reflex:finding"), Value: aws.String("f1")}}}}})
	must(t, err)
	if s1.State != types.SnapshotStatePending || aws.ToString(s1.VolumeId) != volW1 {
		t.Fatalf("snapshot = %+v", s1)
	}
	_, err = c.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String("vol-0fffffffffffffff0")})
	wantCode(t, err, "InvalidVolume.NotFound")

	ss, err := c.CreateSnapshots(ctx, &ec2.CreateSnapshotsInput{InstanceSpecification: &types.InstanceSpecification{InstanceId: aws.String(web1)},
		Description: aws.String("multi"), CopyTagsFromSource: types.CopyTagsFromSourceVolume})
	must(t, err)
	if len(ss.Snapshots) != 2 {
		t.Fatalf("CreateSnapshots = %+v", ss.Snapshots)
	}
	ss, err = c.CreateSnapshots(ctx, &ec2.CreateSnapshotsInput{InstanceSpecification: &types.InstanceSpecification{InstanceId: aws.String(web1), ExcludeBootVolume: aws.Bool(true)}})
	must(t, err)
	if len(ss.Snapshots) != 1 || aws.ToString(ss.Snapshots[0].VolumeId) != volW1b {
		t.Fatalf("CreateSnapshots excluding boot = %+v", ss.Snapshots)
	}
	ds, err := c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: []types.Filter{{Name: aws.String("volume-id"), Values: []string{volW1}}}})
	must(t, err)
	if len(ds.Snapshots) != 2 || ds.Snapshots[0].State != types.SnapshotStateCompleted {
		t.Fatalf("DescribeSnapshots = %+v", ds.Snapshots)
	}
	if got := srv.Cloud.Snapshots(prod, ""); len(got) != 4 || got[0].Tags["reflex:finding"] != "f1" {
		t.Fatalf("snapshots = %+v", got)
	}
}

func TestEC2StopAndConsole(t *testing.T) {
	srv := newServer(t)
	c := ec2.NewFromConfig(srv.Config(prod))
	ctx := context.Background()

	co, err := c.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(web1)})
	must(t, err)
	b, _ := base64.StdEncoding.DecodeString(aws.ToString(co.Output))
	if !strings.Contains(string(b), "web-1 login:") {
		t.Fatalf("console = %q", b)
	}
	st, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{web2}})
	must(t, err)
	if st.StoppingInstances[0].CurrentState.Name != types.InstanceStateNameStopping || st.StoppingInstances[0].PreviousState.Name != types.InstanceStateNameRunning {
		t.Fatalf("stop = %+v", st.StoppingInstances[0])
	}
	w := ec2.NewInstanceStoppedWaiter(c)
	must(t, w.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{web2}}, 5e9))
	_, err = c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-0fffffffffffffff0"}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
}

func TestEC2Addresses(t *testing.T) {
	srv := newServer(t)
	c := ec2.NewFromConfig(srv.Config(prod))
	ctx := context.Background()

	out, err := c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{web1}}}})
	must(t, err)
	if len(out.Addresses) != 1 || aws.ToString(out.Addresses[0].NetworkInterfaceId) != eni1 {
		t.Fatalf("addresses = %+v", out.Addresses)
	}
	assoc := out.Addresses[0].AssociationId
	_, err = c.DisassociateAddress(ctx, &ec2.DisassociateAddressInput{AssociationId: assoc})
	must(t, err)
	_, err = c.DisassociateAddress(ctx, &ec2.DisassociateAddressInput{AssociationId: assoc})
	wantCode(t, err, "InvalidAssociationID.NotFound")
	if v, _ := srv.Cloud.Instance(prod, "", web1); len(v.PublicIPs) != 0 {
		t.Fatalf("public ips after disassociate = %v", v.PublicIPs)
	}
	// By instance id on a two-interface instance: refused, like EC2.
	_, err = c.AssociateAddress(ctx, &ec2.AssociateAddressInput{AllocationId: out.Addresses[0].AllocationId, InstanceId: aws.String(web1)})
	wantCode(t, err, "InvalidInstanceID")
	as, err := c.AssociateAddress(ctx, &ec2.AssociateAddressInput{AllocationId: out.Addresses[0].AllocationId, NetworkInterfaceId: aws.String(eni1)})
	must(t, err)
	if !strings.HasPrefix(aws.ToString(as.AssociationId), "eipassoc-") {
		t.Fatalf("association id = %v", as.AssociationId)
	}
	_, err = c.AssociateAddress(ctx, &ec2.AssociateAddressInput{AllocationId: aws.String("eipalloc-0fffffffffffffff0"), InstanceId: aws.String(web2)})
	wantCode(t, err, "InvalidAllocationID.NotFound")
}

func TestEC2InstanceProfiles(t *testing.T) {
	srv := newServer(t)
	c := ec2.NewFromConfig(srv.Config(prod))
	ctx := context.Background()

	out, err := c.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{
		Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{web1}}}})
	must(t, err)
	if len(out.IamInstanceProfileAssociations) != 1 || out.IamInstanceProfileAssociations[0].State != types.IamInstanceProfileAssociationStateAssociated {
		t.Fatalf("associations = %+v", out.IamInstanceProfileAssociations)
	}
	old := out.IamInstanceProfileAssociations[0].AssociationId
	_, err = c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(web1),
		IamInstanceProfile: &types.IamInstanceProfileSpecification{Name: aws.String("quarantine-profile")}})
	wantCode(t, err, "IncorrectState")
	rp, err := c.ReplaceIamInstanceProfileAssociation(ctx, &ec2.ReplaceIamInstanceProfileAssociationInput{AssociationId: old,
		IamInstanceProfile: &types.IamInstanceProfileSpecification{Name: aws.String("quarantine-profile")}})
	must(t, err)
	if v, _ := srv.Cloud.Instance(prod, "", web1); !strings.HasSuffix(v.InstanceProfileARN, "/quarantine-profile") {
		t.Fatalf("profile = %v", v.InstanceProfileARN)
	}
	_, err = c.ReplaceIamInstanceProfileAssociation(ctx, &ec2.ReplaceIamInstanceProfileAssociationInput{AssociationId: old,
		IamInstanceProfile: &types.IamInstanceProfileSpecification{Name: aws.String("web-profile")}})
	wantCode(t, err, "InvalidAssociationID.NotFound")
	_, err = c.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: rp.IamInstanceProfileAssociation.AssociationId})
	must(t, err)
	if v, _ := srv.Cloud.Instance(prod, "", web1); v.InstanceProfileARN != "" {
		t.Fatalf("profile after disassociate = %v", v.InstanceProfileARN)
	}
	_, err = c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(web1),
		IamInstanceProfile: &types.IamInstanceProfileSpecification{Name: aws.String("nope")}})
	wantCode(t, err, "InvalidParameterValue")
	as, err := c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(web1),
		IamInstanceProfile: &types.IamInstanceProfileSpecification{Arn: aws.String("arn:aws:iam::111111111111:instance-profile/web-profile")}})
	must(t, err)
	if as.IamInstanceProfileAssociation.State != types.IamInstanceProfileAssociationStateAssociating {
		t.Fatalf("state = %v", as.IamInstanceProfileAssociation.State)
	}
}

// An account never sees another's resources.
func TestEC2CrossAccountIsolation(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	sec := ec2.NewFromConfig(srv.Config(security))
	_, err := sec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{web1}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = sec.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(web2), Groups: []string{sgAdm}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	out, err := sec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	must(t, err)
	if len(out.Reservations) != 1 || aws.ToString(out.Reservations[0].Instances[0].InstanceId) != "i-0b11111111111111a" {
		t.Fatalf("security account sees %+v", out.Reservations)
	}
	// Regions are separate too.
	cfg := srv.Config(prod)
	cfg.Region = "eu-west-1"
	eu := ec2.NewFromConfig(cfg)
	out, err = eu.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	must(t, err)
	if len(out.Reservations) != 1 || aws.ToString(out.Reservations[0].Instances[0].InstanceId) != "i-0a22222222222222a" {
		t.Fatalf("eu-west-1 sees %+v", out.Reservations)
	}
}

// DryRun checks permissions only: the answer is the DryRunOperation error
// and nothing changes (EC2 API reference, Common parameters: DryRun; Error
// codes: DryRunOperation).
func TestEC2DryRun(t *testing.T) {
	srv := newServer(t)
	c := ec2.NewFromConfig(srv.Config(prod))
	ctx := context.Background()
	before, _ := srv.Cloud.Instance(prod, "us-east-1", web2)

	tests := []struct {
		name string
		call func() error
	}{
		{"StopInstances", func() error {
			_, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{web2}, DryRun: aws.Bool(true)})
			return err
		}},
		{"CreateTags", func() error {
			_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{web2}, DryRun: aws.Bool(true),
				Tags: []types.Tag{{Key: aws.String("dry"), Value: aws.String("run")}}})
			return err
		}},
		{"CreateSecurityGroup", func() error {
			_, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("dry-run"), Description: aws.String("d"),
				VpcId: aws.String(vpc1), DryRun: aws.Bool(true)})
			return err
		}},
		{"ModifyInstanceAttribute", func() error {
			_, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(web2), DryRun: aws.Bool(true),
				DisableApiTermination: &types.AttributeBooleanValue{Value: aws.Bool(true)}})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.Cloud.ResetCalls()
			wantCode(t, tc.call(), "DryRunOperation")
			calls := srv.Cloud.CallsTo("ec2", tc.name)
			if len(calls) != 1 || calls[0].Status != 412 || calls[0].ErrorCode != "DryRunOperation" {
				t.Fatalf("call log = %+v, want one 412 DryRunOperation", calls)
			}
		})
	}
	after, _ := srv.Cloud.Instance(prod, "us-east-1", web2)
	if after.State != before.State || after.DisableAPITermination != before.DisableAPITermination || after.Tags["dry"] != "" {
		t.Fatalf("dry runs changed the instance: before %+v, after %+v", before, after)
	}
	out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("group-name"), Values: []string{"dry-run"}}}})
	must(t, err)
	if len(out.SecurityGroups) != 0 {
		t.Fatalf("a dry run created security group %s", aws.ToString(out.SecurityGroups[0].GroupId))
	}
	// Without DryRun the same call acts.
	_, err = c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{web2}, DryRun: aws.Bool(false)})
	must(t, err)
	if got, _ := srv.Cloud.Instance(prod, "us-east-1", web2); got.State == before.State {
		t.Fatalf("StopInstances with DryRun=false left the instance %s", got.State)
	}
}

func TestEC2DescribeVpcs(t *testing.T) {
	c := fakeaws.New(fakeaws.WithSeed(1))
	must(t, c.LoadDefaultScenario())
	// a third account with six VPCs in one region, for the pages
	must(t, c.LoadScenario(strings.NewReader(`
accounts:
  - id: "333333333333"
    credentials: [{accessKeyId: AKIAFAKEVPCS00000001, secretAccessKey: fakeaws/vpcs/secret/1}]
    regions:
      - name: us-east-1
        vpcs:
          - {id: vpc-0c00000000000000a, cidr: 10.10.0.0/16}
          - {id: vpc-0c00000000000000b, cidr: 10.11.0.0/16}
          - {id: vpc-0c00000000000000c, cidr: 10.12.0.0/16}
          - {id: vpc-0c00000000000000d, cidr: 10.13.0.0/16}
          - {id: vpc-0c00000000000000e, cidr: 10.14.0.0/16}
          - {id: vpc-0c00000000000000f, cidr: 10.15.0.0/16}
`)))
	srv := fakeaws.NewTestServer(t, c)
	ctx := context.Background()
	c3 := ec2.NewFromConfig(srv.Config("333333333333"))
	_, err := c3.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"vpc-0c00000000000000b"}, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})
	must(t, err)

	ids := func(out *ec2.DescribeVpcsOutput) []string {
		var got []string
		for _, v := range out.Vpcs {
			got = append(got, aws.ToString(v.VpcId))
		}
		return got
	}
	filter := func(name string, values ...string) []types.Filter {
		return []types.Filter{{Name: aws.String(name), Values: values}}
	}
	tests := []struct {
		name    string
		account string
		in      *ec2.DescribeVpcsInput
		want    []string
		errCode string
	}{
		{"the region's VPCs", prod, &ec2.DescribeVpcsInput{}, []string{vpc1}, ""},
		{"another account's", "333333333333", &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-0c00000000000000c", "vpc-0c00000000000000a"}},
			[]string{"vpc-0c00000000000000c", "vpc-0c00000000000000a"}, ""},
		{"by cidr", "333333333333", &ec2.DescribeVpcsInput{Filters: filter("cidr", "10.12.0.0/16")}, []string{"vpc-0c00000000000000c"}, ""},
		{"by tag", "333333333333", &ec2.DescribeVpcsInput{Filters: filter("tag:env", "prod")}, []string{"vpc-0c00000000000000b"}, ""},
		{"no default VPC", "333333333333", &ec2.DescribeVpcsInput{Filters: filter("is-default", "true")}, nil, ""},
		{"another account's VPC is not found", prod, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-0c00000000000000a"}}, nil, "InvalidVpcID.NotFound"},
		{"MaxResults below 5", "333333333333", &ec2.DescribeVpcsInput{MaxResults: aws.Int32(4)}, nil, "InvalidParameterValue"},
		{"bad token", "333333333333", &ec2.DescribeVpcsInput{NextToken: aws.String("x")}, nil, "InvalidParameterValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := ec2.NewFromConfig(srv.Config(tc.account)).DescribeVpcs(ctx, tc.in)
			wantCode(t, err, tc.errCode)
			if err != nil {
				return
			}
			if got := ids(out); !slices.Equal(got, tc.want) {
				t.Fatalf("vpcs = %v, want %v", got, tc.want)
			}
		})
	}

	// Pages of five: all six, in order, each once; the VPC's fields.
	p := ec2.NewDescribeVpcsPaginator(c3, &ec2.DescribeVpcsInput{MaxResults: aws.Int32(5)})
	var all []types.Vpc
	pages := 0
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		must(t, err)
		all = append(all, pg.Vpcs...)
		pages++
	}
	if pages != 2 || len(all) != 6 || aws.ToString(all[5].VpcId) != "vpc-0c00000000000000f" {
		t.Fatalf("%d pages, %d VPCs", pages, len(all))
	}
	v := all[1]
	if aws.ToString(v.CidrBlock) != "10.11.0.0/16" || v.State != types.VpcStateAvailable || aws.ToString(v.OwnerId) != "333333333333" ||
		aws.ToBool(v.IsDefault) || len(v.CidrBlockAssociationSet) != 1 || len(v.Tags) != 1 || aws.ToString(v.Tags[0].Value) != "prod" {
		t.Fatalf("vpc = %+v", v)
	}
}
