package fakeaws

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EC2 (EC2 query protocol). AWS rules kept:
//   - an instance's security groups are those of its primary interface;
//     ModifyInstanceAttribute Groups (and AssociateAddress by InstanceId) on
//     an instance with several interfaces is refused with InvalidInstanceID;
//   - a security group in use by an interface, or referenced by another
//     group's rule, cannot be deleted (DependencyViolation); the default
//     group cannot be deleted (CannotDelete);
//   - a new VPC security group has the allow-all egress rule until revoked;
//   - the scenario's VPCs are listed by DescribeVpcs (pages of 5 to 1000),
//     none of them a default VPC;
//   - duplicate rules are refused (InvalidPermission.Duplicate);
//   - an instance has at most one instance-profile association;
//   - DryRun=true answers DryRunOperation (HTTP 412) and changes nothing
//     (server.go: identity policies are not evaluated, so every dry run
//     would have succeeded).

type vpc struct {
	ID, CIDR string
}

type subnet struct {
	ID, VPC, CIDR, AZ string
}

type sgRule struct {
	ID       string
	Egress   bool
	Protocol string // "-1", "tcp", "udp", "icmp", or a number
	From, To int
	CIDR     string
	CIDRv6   string
	Group    string
	Desc     string
}

type securityGroup struct {
	ID, Name, Desc, VPC string
	Rules               []*sgRule
}

type eni struct {
	ID, Subnet, VPC, AZ, PrivateIP, MAC, Desc string
	Groups                                    []string
	Instance                                  string
	DeviceIndex                               int
	AttachmentID                              string
	DeleteOnTermination                       bool
	SourceDestCheck                           bool
}

type blockDev struct {
	Device, Volume      string
	DeleteOnTermination bool
}

type instance struct {
	ID, Type, Image, State, AZ, KeyName string
	ENIs                                []string // by device index, primary first
	Blocks                              []*blockDev
	DisableAPITermination               bool
	ShutdownBehavior                    string
	LaunchTime                          time.Time
	ConsoleOutput                       string
}

type volume struct {
	ID, AZ, Type string
	Size         int
	Created      time.Time
}

type snapshot struct {
	ID, Volume, Desc string
	Size             int
	Start            time.Time
}

type address struct {
	AllocationID, PublicIP, AssociationID, Instance, ENI, PrivateIP string
}

type profileAssoc struct {
	ID, Instance, ProfileARN, ProfileID, State string
	Time                                       time.Time
}

func ec2Service() *service {
	s := &service{name: "ec2", proto: protoEC2,
		throttleErr: &apiError{status: 503, code: "RequestLimitExceeded", msg: "Request limit exceeded."}}
	s.query = map[string]queryHandler{
		"DescribeInstances":                      ec2DescribeInstances,
		"DescribeInstanceAttribute":              ec2DescribeInstanceAttribute,
		"DescribeNetworkInterfaces":              ec2DescribeNetworkInterfaces,
		"DescribeVpcs":                           ec2DescribeVpcs,
		"DescribeSecurityGroups":                 ec2DescribeSecurityGroups,
		"CreateSecurityGroup":                    ec2CreateSecurityGroup,
		"DeleteSecurityGroup":                    ec2DeleteSecurityGroup,
		"AuthorizeSecurityGroupIngress":          ec2Authorize(false),
		"AuthorizeSecurityGroupEgress":           ec2Authorize(true),
		"RevokeSecurityGroupIngress":             ec2Revoke(false),
		"RevokeSecurityGroupEgress":              ec2Revoke(true),
		"ModifyInstanceAttribute":                ec2ModifyInstanceAttribute,
		"ModifyNetworkInterfaceAttribute":        ec2ModifyNetworkInterfaceAttribute,
		"CreateTags":                             ec2CreateTags,
		"DeleteTags":                             ec2DeleteTags,
		"DescribeTags":                           ec2DescribeTags,
		"DescribeVolumes":                        ec2DescribeVolumes,
		"CreateSnapshot":                         ec2CreateSnapshot,
		"CreateSnapshots":                        ec2CreateSnapshots,
		"DescribeSnapshots":                      ec2DescribeSnapshots,
		"StopInstances":                          ec2StopInstances,
		"DescribeAddresses":                      ec2DescribeAddresses,
		"AssociateAddress":                       ec2AssociateAddress,
		"DisassociateAddress":                    ec2DisassociateAddress,
		"DescribeIamInstanceProfileAssociations": ec2DescribeProfileAssociations,
		"AssociateIamInstanceProfile":            ec2AssociateProfile,
		"ReplaceIamInstanceProfileAssociation":   ec2ReplaceProfile,
		"DisassociateIamInstanceProfile":         ec2DisassociateProfile,
		"GetConsoleOutput":                       ec2GetConsoleOutput,
	}
	return s
}

var stateCodes = map[string]int{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

// ---- lookups and errors

func (r *request) instance(id string) (*instance, error) {
	if in := r.reg().instances[id]; in != nil {
		return in, nil
	}
	if !strings.HasPrefix(id, "i-") {
		return nil, badRequest("InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
	}
	return nil, badRequest("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
}

func (r *request) sg(id string) (*securityGroup, error) {
	if g := r.reg().sgs[id]; g != nil {
		return g, nil
	}
	return nil, badRequest("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
}

func (r *request) eniByID(id string) (*eni, error) {
	if e := r.reg().enis[id]; e != nil {
		return e, nil
	}
	return nil, badRequest("InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist", id)
}

func (r *request) volume(id string) (*volume, error) {
	if v := r.reg().volumes[id]; v != nil {
		return v, nil
	}
	return nil, badRequest("InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
}

func (in *instance) primary(reg *region) *eni {
	if len(in.ENIs) == 0 {
		return nil
	}
	return reg.enis[in.ENIs[0]]
}

func multiENIError(id string) error {
	return badRequest("InvalidInstanceID", "There are multiple interfaces attached to instance '%s'. Please specify an interface ID for the operation instead.", id)
}

// ---- filters

// filters reads Filter.N.Name / Filter.N.Value.M.
func (r *request) filters() map[string][]string {
	f := map[string][]string{}
	for _, p := range r.form.subs("Filter") {
		name := r.form.s(p + ".Name")
		f[name] = append(f[name], r.form.list(p+".Value")...)
	}
	return f
}

// match reports whether a resource passes every filter; attr returns the
// resource's values for a filter name (tags are handled here).
func (r *request) match(f map[string][]string, id string, attr func(string) []string) bool {
	tags := r.reg().tags[id]
	for name, want := range f {
		var have []string
		switch {
		case strings.HasPrefix(name, "tag:"):
			if v, ok := tags[name[4:]]; ok {
				have = []string{v}
			}
		case name == "tag-key":
			have = sortedKeys(tags)
		case name == "tag-value":
			for _, v := range tags {
				have = append(have, v)
			}
		default:
			have = attr(name)
		}
		ok := false
		for _, w := range want {
			for _, h := range have {
				if wildcard(w, h) {
					ok = true
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (r *request) writeTags(x *xw, id string) {
	tags := r.reg().tags[id]
	if len(tags) == 0 {
		return
	}
	x.open("tagSet")
	for _, k := range sortedKeys(tags) {
		x.open("item").el("key", k).el("value", tags[k]).close("item")
	}
	x.close("tagSet")
}

func (r *request) ordered(ids []string) []string {
	reg := r.reg()
	sortBy(ids, func(id string) int { return reg.order[id] })
	return ids
}

// ---- instances

func (r *request) instanceAttr(in *instance) func(string) []string {
	reg := r.reg()
	return func(name string) []string {
		p := in.primary(reg)
		switch name {
		case "instance-id":
			return []string{in.ID}
		case "instance-state-name":
			return []string{in.State}
		case "instance-type":
			return []string{in.Type}
		case "availability-zone":
			return []string{in.AZ}
		case "vpc-id", "subnet-id", "private-ip-address":
			if p == nil {
				return nil
			}
			return []string{map[string]string{"vpc-id": p.VPC, "subnet-id": p.Subnet, "private-ip-address": p.PrivateIP}[name]}
		case "network-interface.network-interface-id":
			return in.ENIs
		case "instance.group-id", "group-id":
			var out []string
			for _, e := range in.ENIs {
				out = append(out, reg.enis[e].Groups...)
			}
			return out
		case "iam-instance-profile.arn":
			for _, a := range reg.assocs {
				if a.Instance == in.ID && a.State == "associated" {
					return []string{a.ProfileARN}
				}
			}
		}
		return nil
	}
}

func ec2DescribeInstances(r *request) (string, error) {
	reg := r.reg()
	ids, err := requestedIDs(r, "InstanceId", reg.instances, func(id string) error { _, err := r.instance(id); return err })
	if err != nil {
		return "", err
	}
	f := r.filters()
	var sel []*instance
	for _, id := range ids {
		in := reg.instances[id]
		if r.match(f, id, r.instanceAttr(in)) {
			sel = append(sel, in)
		}
	}
	pg, next, ok := page(sel, r.form.s("NextToken"), r.form.i("MaxResults", 0), 1000)
	if !ok {
		return "", badRequest("InvalidParameterValue", "Invalid value for NextToken")
	}
	var x xw
	x.open("reservationSet")
	for _, in := range pg {
		x.open("item").el("reservationId", "r-"+in.ID[2:]).el("ownerId", r.acct.id).open("groupSet").close("groupSet")
		x.open("instancesSet")
		r.writeInstance(&x, in)
		x.close("instancesSet").close("item")
	}
	x.close("reservationSet").opt("nextToken", next)
	return x.String(), nil
}

func (r *request) writeGroups(x *xw, ids []string) {
	x.open("groupSet")
	for _, g := range ids {
		name := ""
		if sg := r.reg().sgs[g]; sg != nil {
			name = sg.Name
		}
		x.open("item").el("groupId", g).el("groupName", name).close("item")
	}
	x.close("groupSet")
}

func (r *request) publicIPOf(e *eni) string {
	for _, a := range r.reg().addresses {
		if a.ENI == e.ID {
			return a.PublicIP
		}
	}
	return ""
}

func (r *request) writeInstance(x *xw, in *instance) {
	reg := r.reg()
	p := in.primary(reg)
	x.open("item").el("instanceId", in.ID).el("imageId", in.Image).
		open("instanceState").int("code", stateCodes[in.State]).el("name", in.State).close("instanceState").
		el("instanceType", in.Type).opt("keyName", in.KeyName).time("launchTime", in.LaunchTime).
		open("placement").el("availabilityZone", in.AZ).el("tenancy", "default").close("placement").
		open("monitoring").el("state", "disabled").close("monitoring")
	if p != nil {
		x.el("subnetId", p.Subnet).el("vpcId", p.VPC).el("privateIpAddress", p.PrivateIP)
		if ip := r.publicIPOf(p); ip != "" {
			x.el("ipAddress", ip)
		}
	}
	x.el("architecture", "x86_64").el("rootDeviceType", "ebs")
	if len(in.Blocks) > 0 {
		x.el("rootDeviceName", in.Blocks[0].Device)
	}
	x.open("blockDeviceMapping")
	for _, b := range in.Blocks {
		x.open("item").el("deviceName", b.Device).open("ebs").el("volumeId", b.Volume).el("status", "attached").
			time("attachTime", in.LaunchTime).bool("deleteOnTermination", b.DeleteOnTermination).close("ebs").close("item")
	}
	x.close("blockDeviceMapping")
	if p != nil {
		r.writeGroups(x, p.Groups)
	} else {
		x.open("groupSet").close("groupSet")
	}
	for _, a := range reg.assocs {
		if a.Instance == in.ID && a.State == "associated" {
			x.open("iamInstanceProfile").el("arn", a.ProfileARN).el("id", a.ProfileID).close("iamInstanceProfile")
		}
	}
	x.open("networkInterfaceSet")
	for _, id := range in.ENIs {
		e := reg.enis[id]
		x.open("item").el("networkInterfaceId", e.ID).el("subnetId", e.Subnet).el("vpcId", e.VPC).
			el("description", e.Desc).el("ownerId", r.acct.id).el("status", "in-use").el("macAddress", e.MAC).
			el("privateIpAddress", e.PrivateIP).bool("sourceDestCheck", e.SourceDestCheck).el("interfaceType", "interface")
		r.writeGroups(x, e.Groups)
		x.open("attachment").el("attachmentId", e.AttachmentID).int("deviceIndex", e.DeviceIndex).
			el("status", "attached").time("attachTime", in.LaunchTime).bool("deleteOnTermination", e.DeleteOnTermination).
			int("networkCardIndex", 0).close("attachment")
		if ip := r.publicIPOf(e); ip != "" {
			x.open("association").el("publicIp", ip).el("ipOwnerId", r.acct.id).close("association")
		}
		x.open("privateIpAddressesSet").open("item").el("privateIpAddress", e.PrivateIP).bool("primary", true).
			close("item").close("privateIpAddressesSet")
		x.close("item")
	}
	x.close("networkInterfaceSet")
	r.writeTags(x, in.ID)
	x.close("item")
}

func ec2DescribeInstanceAttribute(r *request) (string, error) {
	in, err := r.instance(r.form.s("InstanceId"))
	if err != nil {
		return "", err
	}
	var x xw
	x.el("instanceId", in.ID)
	switch attr := r.form.s("Attribute"); attr {
	case "disableApiTermination":
		x.open("disableApiTermination").bool("value", in.DisableAPITermination).close("disableApiTermination")
	case "instanceInitiatedShutdownBehavior":
		x.open("instanceInitiatedShutdownBehavior").el("value", in.ShutdownBehavior).close("instanceInitiatedShutdownBehavior")
	case "instanceType":
		x.open("instanceType").el("value", in.Type).close("instanceType")
	case "groupSet":
		if p := in.primary(r.reg()); p != nil {
			r.writeGroups(&x, p.Groups)
		}
	case "blockDeviceMapping":
		x.open("blockDeviceMapping")
		for _, b := range in.Blocks {
			x.open("item").el("deviceName", b.Device).open("ebs").el("volumeId", b.Volume).el("status", "attached").
				bool("deleteOnTermination", b.DeleteOnTermination).close("ebs").close("item")
		}
		x.close("blockDeviceMapping")
	default:
		return "", badRequest("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	return x.String(), nil
}

func ec2ModifyInstanceAttribute(r *request) (string, error) {
	reg := r.reg()
	in, err := r.instance(r.form.s("InstanceId"))
	if err != nil {
		return "", err
	}
	f := r.form
	groups := f.list("GroupId")
	attr, val := f.s("Attribute"), f.s("Value")
	if attr == "groupSet" {
		groups = strings.Split(val, ",")
	}
	if len(groups) > 0 {
		if len(in.ENIs) > 1 {
			return "", multiENIError(in.ID)
		}
		p := in.primary(reg)
		for _, g := range groups {
			sg, err := r.sg(g)
			if err != nil {
				return "", err
			}
			if p != nil && sg.VPC != p.VPC {
				return "", badRequest("InvalidGroup.NotFound", "You have specified two resources that belong to different networks.")
			}
		}
		if p != nil {
			p.Groups = slices.Clone(groups)
		}
	}
	boolAttr := func(key, name string) (bool, bool, error) {
		v := ""
		switch {
		case f.has(key + ".Value"):
			v = f.s(key + ".Value")
		case attr == name:
			v = val
		default:
			return false, false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, false, badRequest("InvalidParameterValue", "Value (%s) for parameter %s is invalid.", v, name)
		}
		return b, true, nil
	}
	if b, ok, err := boolAttr("DisableApiTermination", "disableApiTermination"); err != nil {
		return "", err
	} else if ok {
		in.DisableAPITermination = b
	}
	sb := ""
	if f.has("InstanceInitiatedShutdownBehavior.Value") {
		sb = f.s("InstanceInitiatedShutdownBehavior.Value")
	} else if attr == "instanceInitiatedShutdownBehavior" {
		sb = val
	}
	if sb != "" {
		if sb != "stop" && sb != "terminate" {
			return "", badRequest("InvalidParameterValue", "Value (%s) for parameter instanceInitiatedShutdownBehavior is invalid.", sb)
		}
		in.ShutdownBehavior = sb
	}
	for _, p := range f.subs("BlockDeviceMapping") {
		dev := f.s(p + ".DeviceName")
		var bd *blockDev
		for _, b := range in.Blocks {
			if b.Device == dev {
				bd = b
			}
		}
		if bd == nil {
			return "", badRequest("InvalidInstanceAttributeValue", "No device is currently mapped at %s", dev)
		}
		if f.has(p + ".Ebs.DeleteOnTermination") {
			bd.DeleteOnTermination = f.b(p + ".Ebs.DeleteOnTermination")
		}
	}
	return "", nil
}

// ---- network interfaces

func (r *request) eniAttr(e *eni) func(string) []string {
	return func(name string) []string {
		switch name {
		case "network-interface-id":
			return []string{e.ID}
		case "attachment.instance-id":
			return []string{e.Instance}
		case "vpc-id":
			return []string{e.VPC}
		case "subnet-id":
			return []string{e.Subnet}
		case "group-id":
			return e.Groups
		case "private-ip-address", "addresses.private-ip-address":
			return []string{e.PrivateIP}
		case "status":
			if e.Instance != "" {
				return []string{"in-use"}
			}
			return []string{"available"}
		}
		return nil
	}
}

func ec2DescribeNetworkInterfaces(r *request) (string, error) {
	reg := r.reg()
	ids, err := requestedIDs(r, "NetworkInterfaceId", reg.enis, func(id string) error { _, err := r.eniByID(id); return err })
	if err != nil {
		return "", err
	}
	f := r.filters()
	var sel []*eni
	for _, id := range ids {
		if e := reg.enis[id]; r.match(f, id, r.eniAttr(e)) {
			sel = append(sel, e)
		}
	}
	pg, next, ok := page(sel, r.form.s("NextToken"), r.form.i("MaxResults", 0), 1000)
	if !ok {
		return "", badRequest("InvalidParameterValue", "Invalid value for NextToken")
	}
	var x xw
	x.open("networkInterfaceSet")
	for _, e := range pg {
		x.open("item").el("networkInterfaceId", e.ID).el("subnetId", e.Subnet).el("vpcId", e.VPC).
			el("availabilityZone", e.AZ).el("description", e.Desc).el("ownerId", r.acct.id).
			el("requesterManaged", "false").el("macAddress", e.MAC).el("privateIpAddress", e.PrivateIP).
			bool("sourceDestCheck", e.SourceDestCheck).el("interfaceType", "interface")
		if e.Instance != "" {
			x.el("status", "in-use").open("attachment").el("attachmentId", e.AttachmentID).el("instanceId", e.Instance).
				el("instanceOwnerId", r.acct.id).int("deviceIndex", e.DeviceIndex).el("status", "attached").
				bool("deleteOnTermination", e.DeleteOnTermination).close("attachment")
		} else {
			x.el("status", "available")
		}
		r.writeGroups(&x, e.Groups)
		if ip := r.publicIPOf(e); ip != "" {
			x.open("association").el("publicIp", ip).el("ipOwnerId", r.acct.id)
			for _, a := range reg.addresses {
				if a.ENI == e.ID {
					x.el("allocationId", a.AllocationID).el("associationId", a.AssociationID)
				}
			}
			x.close("association")
		}
		x.open("privateIpAddressesSet").open("item").el("privateIpAddress", e.PrivateIP).bool("primary", true).
			close("item").close("privateIpAddressesSet")
		r.writeTags(&x, e.ID)
		x.close("item")
	}
	x.close("networkInterfaceSet").opt("nextToken", next)
	return x.String(), nil
}

func ec2ModifyNetworkInterfaceAttribute(r *request) (string, error) {
	e, err := r.eniByID(r.form.s("NetworkInterfaceId"))
	if err != nil {
		return "", err
	}
	f := r.form
	if groups := f.list("SecurityGroupId"); len(groups) > 0 {
		for _, g := range groups {
			sg, err := r.sg(g)
			if err != nil {
				return "", err
			}
			if sg.VPC != e.VPC {
				return "", badRequest("InvalidParameterValue", "Security group %s and interface %s belong to different networks.", g, e.ID)
			}
		}
		e.Groups = slices.Clone(groups)
	}
	if f.has("Description.Value") {
		e.Desc = f.s("Description.Value")
	}
	if f.has("SourceDestCheck.Value") {
		e.SourceDestCheck = f.b("SourceDestCheck.Value")
	}
	if f.has("Attachment.AttachmentId") {
		if f.s("Attachment.AttachmentId") != e.AttachmentID {
			return "", badRequest("InvalidAttachmentID.NotFound", "The attachment ID '%s' does not exist", f.s("Attachment.AttachmentId"))
		}
		e.DeleteOnTermination = f.b("Attachment.DeleteOnTermination")
	}
	return "", nil
}

// ---- VPCs

// ec2DescribeVpcs lists the region's VPCs (those of the scenario: none is
// the account's default VPC), by id, filter and page as EC2 does.
func ec2DescribeVpcs(r *request) (string, error) {
	reg := r.reg()
	ids, err := requestedIDs(r, "VpcId", reg.vpcs, func(id string) error {
		if reg.vpcs[id] == nil {
			return badRequest("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if m := r.form.i("MaxResults", 0); r.form.has("MaxResults") && (m < 5 || m > 1000) {
		return "", badRequest("InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", m)
	}
	f := r.filters()
	var sel []*vpc
	for _, id := range ids {
		v := reg.vpcs[id]
		if r.match(f, id, func(name string) []string {
			switch name {
			case "vpc-id":
				return []string{v.ID}
			case "cidr", "cidr-block-association.cidr-block":
				return []string{v.CIDR}
			case "state":
				return []string{"available"}
			case "is-default":
				return []string{"false"}
			case "owner-id":
				return []string{r.acct.id}
			}
			return nil
		}) {
			sel = append(sel, v)
		}
	}
	pg, next, ok := page(sel, r.form.s("NextToken"), r.form.i("MaxResults", 0), 1000)
	if !ok {
		return "", badRequest("InvalidParameterValue", "Invalid value for NextToken")
	}
	var x xw
	x.open("vpcSet")
	for _, v := range pg {
		x.open("item").el("vpcId", v.ID).el("ownerId", r.acct.id).el("state", "available").el("cidrBlock", v.CIDR).
			open("cidrBlockAssociationSet").open("item").el("associationId", "vpc-cidr-assoc-"+strings.TrimPrefix(v.ID, "vpc-")).
			el("cidrBlock", v.CIDR).open("cidrBlockState").el("state", "associated").close("cidrBlockState").close("item").
			close("cidrBlockAssociationSet").el("instanceTenancy", "default").bool("isDefault", false)
		r.writeTags(&x, v.ID)
		x.close("item")
	}
	x.close("vpcSet").opt("nextToken", next)
	return x.String(), nil
}

// ---- security groups

func (r *request) sgAttr(g *securityGroup) func(string) []string {
	return func(name string) []string {
		switch name {
		case "group-id":
			return []string{g.ID}
		case "group-name":
			return []string{g.Name}
		case "vpc-id":
			return []string{g.VPC}
		case "description":
			return []string{g.Desc}
		}
		return nil
	}
}

func ec2DescribeSecurityGroups(r *request) (string, error) {
	reg := r.reg()
	ids := r.form.list("GroupId")
	for _, id := range ids {
		if _, err := r.sg(id); err != nil {
			return "", err
		}
	}
	for _, name := range r.form.list("GroupName") {
		found := false
		for _, g := range reg.sgs {
			if g.Name == name {
				ids = append(ids, g.ID)
				found = true
			}
		}
		if !found {
			return "", badRequest("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC", name)
		}
	}
	if len(ids) == 0 {
		ids = r.ordered(sortedKeys(reg.sgs))
	}
	f := r.filters()
	var sel []*securityGroup
	for _, id := range ids {
		if g := reg.sgs[id]; r.match(f, id, r.sgAttr(g)) {
			sel = append(sel, g)
		}
	}
	pg, next, ok := page(sel, r.form.s("NextToken"), r.form.i("MaxResults", 0), 1000)
	if !ok {
		return "", badRequest("InvalidParameterValue", "Invalid value for NextToken")
	}
	var x xw
	x.open("securityGroupInfo")
	for _, g := range pg {
		x.open("item").el("ownerId", r.acct.id).el("groupId", g.ID).el("groupName", g.Name).
			el("groupDescription", g.Desc).el("vpcId", g.VPC).
			el("securityGroupArn", fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", r.region, r.acct.id, g.ID))
		r.writePerms(&x, "ipPermissions", g, false)
		r.writePerms(&x, "ipPermissionsEgress", g, true)
		r.writeTags(&x, g.ID)
		x.close("item")
	}
	x.close("securityGroupInfo").opt("nextToken", next)
	return x.String(), nil
}

// writePerms groups the atomic rules into IpPermission items by protocol
// and port range, as EC2 does.
func (r *request) writePerms(x *xw, name string, g *securityGroup, egress bool) {
	type key struct {
		proto    string
		from, to int
	}
	var keys []key
	byKey := map[key][]*sgRule{}
	for _, rl := range g.Rules {
		if rl.Egress != egress {
			continue
		}
		k := key{rl.Protocol, rl.From, rl.To}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], rl)
	}
	x.open(name)
	for _, k := range keys {
		x.open("item").el("ipProtocol", k.proto)
		if k.proto != "-1" {
			x.int("fromPort", k.from).int("toPort", k.to)
		}
		x.open("groups")
		for _, rl := range byKey[k] {
			if rl.Group != "" {
				x.open("item").el("userId", r.acct.id).el("groupId", rl.Group).opt("description", rl.Desc).close("item")
			}
		}
		x.close("groups").open("ipRanges")
		for _, rl := range byKey[k] {
			if rl.CIDR != "" {
				x.open("item").el("cidrIp", rl.CIDR).opt("description", rl.Desc).close("item")
			}
		}
		x.close("ipRanges").open("ipv6Ranges")
		for _, rl := range byKey[k] {
			if rl.CIDRv6 != "" {
				x.open("item").el("cidrIpv6", rl.CIDRv6).opt("description", rl.Desc).close("item")
			}
		}
		x.close("ipv6Ranges").open("prefixListIds").close("prefixListIds").close("item")
	}
	x.close(name)
}

func ec2CreateSecurityGroup(r *request) (string, error) {
	reg := r.reg()
	name, desc, vpcID := r.form.s("GroupName"), r.form.s("GroupDescription"), r.form.s("VpcId")
	if name == "" || desc == "" {
		return "", badRequest("MissingParameter", "The request must contain the parameter groupName and groupDescription")
	}
	if strings.HasPrefix(strings.ToLower(name), "sg-") {
		return "", badRequest("InvalidParameterValue", "Group names may not be in the format sg-*")
	}
	if vpcID == "" {
		ids := sortedKeys(reg.vpcs)
		if len(ids) == 0 {
			return "", badRequest("VPCIdNotSpecified", "No default VPC for this user")
		}
		vpcID = ids[0]
	}
	if reg.vpcs[vpcID] == nil {
		return "", badRequest("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", vpcID)
	}
	for _, g := range reg.sgs {
		if g.VPC == vpcID && g.Name == name {
			return "", badRequest("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, vpcID)
		}
	}
	g := r.c.newSG(reg, "", name, desc, vpcID, true)
	r.applyTagSpecs("security-group", g.ID)
	var x xw
	x.el("return", "true").el("groupId", g.ID).
		el("securityGroupArn", fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", r.region, r.acct.id, g.ID))
	r.writeTags(&x, g.ID)
	return x.String(), nil
}

// newSG creates a security group; a VPC group gets the default allow-all
// egress rule unless defaultEgress is false.
func (c *Cloud) newSG(reg *region, id, name, desc, vpcID string, defaultEgress bool) *securityGroup {
	if id == "" {
		id = c.id("sg-", 17)
	}
	g := &securityGroup{ID: id, Name: name, Desc: desc, VPC: vpcID}
	if defaultEgress {
		g.Rules = append(g.Rules, &sgRule{ID: c.id("sgr-", 17), Egress: true, Protocol: "-1", CIDR: "0.0.0.0/0"})
	}
	reg.sgs[id] = g
	reg.seen(id)
	return g
}

func (r *request) applyTagSpecs(resourceType, id string) {
	for _, p := range r.form.subs("TagSpecification") {
		if rt := r.form.s(p + ".ResourceType"); rt != "" && rt != resourceType {
			continue
		}
		for _, t := range r.form.subs(p + ".Tag") {
			r.setTag(id, r.form.s(t+".Key"), r.form.s(t+".Value"))
		}
	}
}

func (r *request) setTag(id, k, v string) {
	reg := r.reg()
	if reg.tags[id] == nil {
		reg.tags[id] = map[string]string{}
	}
	reg.tags[id][k] = v
}

func ec2DeleteSecurityGroup(r *request) (string, error) {
	reg := r.reg()
	id := r.form.s("GroupId")
	if id == "" {
		name := r.form.s("GroupName")
		for _, g := range reg.sgs {
			if g.Name == name {
				id = g.ID
			}
		}
		if id == "" {
			return "", badRequest("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC", name)
		}
	}
	g, err := r.sg(id)
	if err != nil {
		return "", err
	}
	if g.Name == "default" {
		return "", badRequest("CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", id)
	}
	for _, e := range sortedKeys(reg.enis) {
		if slices.Contains(reg.enis[e].Groups, id) {
			return "", badRequest("DependencyViolation", "resource %s has a dependent object", id)
		}
	}
	for _, o := range reg.sgs {
		for _, rl := range o.Rules {
			if o.ID != id && rl.Group == id {
				return "", badRequest("DependencyViolation", "resource %s has a dependent object", id)
			}
		}
	}
	delete(reg.sgs, id)
	delete(reg.tags, id)
	var x xw
	x.el("return", "true").el("groupId", id)
	return x.String(), nil
}

func normProto(p string) string {
	switch strings.ToLower(p) {
	case "-1", "all", "":
		return "-1"
	case "6", "tcp":
		return "tcp"
	case "17", "udp":
		return "udp"
	case "1", "icmp":
		return "icmp"
	}
	return strings.ToLower(p)
}

// rulesFromForm reads IpPermissions (or the legacy flat parameters) into
// atomic rules.
func (r *request) rulesFromForm(egress bool) ([]*sgRule, error) {
	f := r.form
	var out []*sgRule
	mk := func(proto string, from, to int) *sgRule {
		proto = normProto(proto)
		if proto == "-1" {
			from, to = 0, 0
		}
		return &sgRule{Egress: egress, Protocol: proto, From: from, To: to}
	}
	for _, p := range f.subs("IpPermissions") {
		proto := f.s(p + ".IpProtocol")
		from, to := f.i(p+".FromPort", 0), f.i(p+".ToPort", 0)
		n := 0
		for _, q := range f.subs(p + ".IpRanges") {
			rl := mk(proto, from, to)
			rl.CIDR, rl.Desc = f.s(q+".CidrIp"), f.s(q+".Description")
			out = append(out, rl)
			n++
		}
		for _, q := range f.subs(p + ".Ipv6Ranges") {
			rl := mk(proto, from, to)
			rl.CIDRv6, rl.Desc = f.s(q+".CidrIpv6"), f.s(q+".Description")
			out = append(out, rl)
			n++
		}
		for _, q := range f.subs(p + ".Groups") {
			rl := mk(proto, from, to)
			rl.Group, rl.Desc = f.s(q+".GroupId"), f.s(q+".Description")
			if rl.Group == "" {
				return nil, badRequest("InvalidGroup.NotFound", "You have specified a group name; use a group id in a VPC")
			}
			if _, err := r.sg(rl.Group); err != nil {
				return nil, err
			}
			out = append(out, rl)
			n++
		}
		if n == 0 {
			return nil, badRequest("InvalidParameterValue", "The request must contain a source or destination (CIDR or security group)")
		}
	}
	if cidr := f.s("CidrIp"); cidr != "" {
		rl := mk(f.s("IpProtocol"), f.i("FromPort", 0), f.i("ToPort", 0))
		rl.CIDR = cidr
		out = append(out, rl)
	}
	if ids := f.list("SecurityGroupRuleId"); len(ids) > 0 {
		g, err := r.sg(f.s("GroupId"))
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			var found *sgRule
			for _, rl := range g.Rules {
				if rl.ID == id && rl.Egress == egress {
					found = rl
				}
			}
			if found == nil {
				return nil, badRequest("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
			}
			out = append(out, found)
		}
	}
	if len(out) == 0 {
		return nil, badRequest("MissingParameter", "The request must contain the parameter ipPermissions")
	}
	return out, nil
}

func sameRule(a, b *sgRule) bool {
	return a.Egress == b.Egress && a.Protocol == b.Protocol && a.From == b.From && a.To == b.To &&
		a.CIDR == b.CIDR && a.CIDRv6 == b.CIDRv6 && a.Group == b.Group
}

func (r *request) writeRuleSet(x *xw, name string, g *securityGroup, rules []*sgRule) {
	x.open(name)
	for _, rl := range rules {
		x.open("item").el("securityGroupRuleId", rl.ID).el("groupId", g.ID).el("groupOwnerId", r.acct.id).
			bool("isEgress", rl.Egress).el("ipProtocol", rl.Protocol)
		if rl.Protocol == "-1" {
			x.int("fromPort", -1).int("toPort", -1)
		} else {
			x.int("fromPort", rl.From).int("toPort", rl.To)
		}
		x.opt("cidrIpv4", rl.CIDR).opt("cidrIpv6", rl.CIDRv6).opt("description", rl.Desc)
		if rl.Group != "" {
			x.open("referencedGroupInfo").el("groupId", rl.Group).el("userId", r.acct.id).close("referencedGroupInfo")
		}
		x.close("item")
	}
	x.close(name)
}

func ec2Authorize(egress bool) queryHandler {
	return func(r *request) (string, error) {
		g, err := r.sg(r.form.s("GroupId"))
		if err != nil {
			return "", err
		}
		rules, err := r.rulesFromForm(egress)
		if err != nil {
			return "", err
		}
		for i, rl := range rules {
			for _, ex := range g.Rules {
				if sameRule(ex, rl) {
					return "", badRequest("InvalidPermission.Duplicate", "the specified rule \"peer: %s, %s, ALLOW\" already exists", rl.CIDR+rl.CIDRv6+rl.Group, rl.Protocol)
				}
			}
			for _, o := range rules[:i] {
				if sameRule(o, rl) {
					return "", badRequest("InvalidPermission.Duplicate", "the specified rule is given twice")
				}
			}
		}
		for _, rl := range rules {
			rl.ID = r.c.id("sgr-", 17)
			g.Rules = append(g.Rules, rl)
		}
		var x xw
		x.el("return", "true")
		r.writeRuleSet(&x, "securityGroupRuleSet", g, rules)
		return x.String(), nil
	}
}

func ec2Revoke(egress bool) queryHandler {
	return func(r *request) (string, error) {
		g, err := r.sg(r.form.s("GroupId"))
		if err != nil {
			return "", err
		}
		rules, err := r.rulesFromForm(egress)
		if err != nil {
			return "", err
		}
		var revoked, unknown []*sgRule
		for _, rl := range rules {
			idx := slices.IndexFunc(g.Rules, func(ex *sgRule) bool { return ex == rl || sameRule(ex, rl) })
			if idx < 0 {
				unknown = append(unknown, rl)
				continue
			}
			revoked = append(revoked, g.Rules[idx])
			g.Rules = slices.Delete(g.Rules, idx, idx+1)
		}
		if len(revoked) == 0 {
			return "", badRequest("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
		}
		var x xw
		x.el("return", "true")
		r.writeRuleSet(&x, "revokedSecurityGroupRuleSet", g, revoked)
		x.open("unknownIpPermissionSet")
		for _, rl := range unknown {
			x.open("item").el("ipProtocol", rl.Protocol)
			if rl.CIDR != "" {
				x.open("ipRanges").open("item").el("cidrIp", rl.CIDR).close("item").close("ipRanges")
			}
			x.close("item")
		}
		x.close("unknownIpPermissionSet")
		return x.String(), nil
	}
}

// ---- tags

// resourceExists checks a resource id for the tag operations.
func (r *request) resourceExists(id string) error {
	reg := r.reg()
	var ok bool
	code := "InvalidID"
	switch {
	case strings.HasPrefix(id, "i-"):
		_, ok = reg.instances[id]
		code = "InvalidInstanceID.NotFound"
	case strings.HasPrefix(id, "sg-"):
		_, ok = reg.sgs[id]
		code = "InvalidGroup.NotFound"
	case strings.HasPrefix(id, "eni-"):
		_, ok = reg.enis[id]
		code = "InvalidNetworkInterfaceID.NotFound"
	case strings.HasPrefix(id, "vol-"):
		_, ok = reg.volumes[id]
		code = "InvalidVolume.NotFound"
	case strings.HasPrefix(id, "snap-"):
		_, ok = reg.snapshots[id]
		code = "InvalidSnapshot.NotFound"
	case strings.HasPrefix(id, "vpc-"):
		_, ok = reg.vpcs[id]
		code = "InvalidVpcID.NotFound"
	case strings.HasPrefix(id, "subnet-"):
		_, ok = reg.subnets[id]
		code = "InvalidSubnetID.NotFound"
	case strings.HasPrefix(id, "eipalloc-"):
		_, ok = reg.addresses[id]
		code = "InvalidAllocationID.NotFound"
	}
	if !ok {
		return badRequest(code, "The ID '%s' does not exist", id)
	}
	return nil
}

func resourceType(id string) string {
	for pre, t := range map[string]string{"i-": "instance", "sg-": "security-group", "eni-": "network-interface",
		"vol-": "volume", "snap-": "snapshot", "vpc-": "vpc", "subnet-": "subnet", "eipalloc-": "elastic-ip"} {
		if strings.HasPrefix(id, pre) {
			return t
		}
	}
	return ""
}

func ec2CreateTags(r *request) (string, error) {
	ids := r.form.list("ResourceId")
	if len(ids) == 0 {
		return "", badRequest("MissingParameter", "The request must contain the parameter resourceIdSet")
	}
	for _, id := range ids {
		if err := r.resourceExists(id); err != nil {
			return "", err
		}
	}
	for _, id := range ids {
		if len(r.reg().tags[id])+len(r.form.subs("Tag")) > 50 {
			return "", badRequest("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
		}
		for _, t := range r.form.subs("Tag") {
			k := r.form.s(t + ".Key")
			if strings.HasPrefix(strings.ToLower(k), "aws:") {
				return "", badRequest("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
			}
			r.setTag(id, k, r.form.s(t+".Value"))
		}
	}
	return `<return>true</return>`, nil
}

func ec2DeleteTags(r *request) (string, error) {
	reg := r.reg()
	for _, id := range r.form.list("ResourceId") {
		if err := r.resourceExists(id); err != nil {
			return "", err
		}
		tags := r.form.subs("Tag")
		if len(tags) == 0 {
			delete(reg.tags, id)
		}
		for _, t := range tags {
			k := r.form.s(t + ".Key")
			if r.form.has(t+".Value") && reg.tags[id][k] != r.form.s(t+".Value") {
				continue
			}
			delete(reg.tags[id], k)
		}
	}
	return `<return>true</return>`, nil
}

func ec2DescribeTags(r *request) (string, error) {
	reg := r.reg()
	type td struct{ id, k, v string }
	var all []td
	for _, id := range r.ordered(sortedKeys(reg.tags)) {
		for _, k := range sortedKeys(reg.tags[id]) {
			all = append(all, td{id, k, reg.tags[id][k]})
		}
	}
	f := r.filters()
	var sel []td
	for _, t := range all {
		ok := r.match(f, "", func(name string) []string {
			switch name {
			case "resource-id":
				return []string{t.id}
			case "resource-type":
				return []string{resourceType(t.id)}
			case "key":
				return []string{t.k}
			case "value":
				return []string{t.v}
			}
			return nil
		})
		if ok {
			sel = append(sel, t)
		}
	}
	pg, next, ok := page(sel, r.form.s("NextToken"), r.form.i("MaxResults", 0), 1000)
	if !ok {
		return "", badRequest("InvalidParameterValue", "Invalid value for NextToken")
	}
	var x xw
	x.open("tagSet")
	for _, t := range pg {
		x.open("item").el("resourceId", t.id).el("resourceType", resourceType(t.id)).el("key", t.k).el("value", t.v).close("item")
	}
	x.close("tagSet").opt("nextToken", next)
	return x.String(), nil
}

// ---- volumes and snapshots

func (r *request) attachmentOf(volID string) (*instance, *blockDev) {
	for _, in := range r.reg().instances {
		for _, b := range in.Blocks {
			if b.Volume == volID {
				return in, b
			}
		}
	}
	return nil, nil
}

func ec2DescribeVolumes(r *request) (string, error) {
	reg := r.reg()
	ids, err := requestedIDs(r, "VolumeId", reg.volumes, func(id string) error { _, err := r.volume(id); return err })
	if err != nil {
		return "", err
	}
	f := r.filters()
	var sel []*volume
	for _, id := range ids {
		v := reg.volumes[id]
		in, _ := r.attachmentOf(id)
		ok := r.match(f, id, func(name string) []string {
			switch name {
			case "volume-id":
				return []string{v.ID}
			case "attachment.instance-id":
				if in != nil {
					return []string{in.ID}
				}
			case "status":
				if in != nil {
					return []string{"in-use"}
				}
				return []string{"available"}
			case "availability-zone":
				return []string{v.AZ}
			}
			return nil
		})
		if ok {
			sel = append(sel, v)
		}
	}
	pg, next, ok := page(sel, r.form.s("NextToken"), r.form.i("MaxResults", 0), 1000)
	if !ok {
		return "", badRequest("InvalidParameterValue", "Invalid value for NextToken")
	}
	var x xw
	x.open("volumeSet")
	for _, v := range pg {
		in, b := r.attachmentOf(v.ID)
		status := "available"
		if in != nil {
			status = "in-use"
		}
		x.open("item").el("volumeId", v.ID).int("size", v.Size).el("snapshotId", "").el("availabilityZone", v.AZ).
			el("status", status).time("createTime", v.Created).el("volumeType", v.Type).bool("encrypted", false).
			bool("multiAttachEnabled", false)
		x.open("attachmentSet")
		if in != nil {
			x.open("item").el("volumeId", v.ID).el("instanceId", in.ID).el("device", b.Device).el("status", "attached").
				time("attachTime", in.LaunchTime).bool("deleteOnTermination", b.DeleteOnTermination).close("item")
		}
		x.close("attachmentSet")
		r.writeTags(&x, v.ID)
		x.close("item")
	}
	x.close("volumeSet").opt("nextToken", next)
	return x.String(), nil
}

func (r *request) newSnapshot(v *volume, desc string) *snapshot {
	reg := r.reg()
	s := &snapshot{ID: r.c.id("snap-", 17), Volume: v.ID, Desc: desc, Size: v.Size, Start: r.c.clock()}
	reg.snapshots[s.ID] = s
	reg.seen(s.ID)
	return s
}

func ec2CreateSnapshot(r *request) (string, error) {
	v, err := r.volume(r.form.s("VolumeId"))
	if err != nil {
		return "", err
	}
	s := r.newSnapshot(v, r.form.s("Description"))
	r.applyTagSpecs("snapshot", s.ID)
	var x xw
	x.el("snapshotId", s.ID).el("volumeId", v.ID).el("status", "pending").time("startTime", s.Start).
		el("progress", "").el("ownerId", r.acct.id).int("volumeSize", s.Size).el("description", s.Desc).
		bool("encrypted", false)
	r.writeTags(&x, s.ID)
	return x.String(), nil
}

func ec2CreateSnapshots(r *request) (string, error) {
	reg := r.reg()
	in, err := r.instance(r.form.s("InstanceSpecification.InstanceId"))
	if err != nil {
		return "", err
	}
	exclBoot := r.form.b("InstanceSpecification.ExcludeBootVolume")
	excl := r.form.list("InstanceSpecification.ExcludeDataVolumeId")
	copyTags := strings.EqualFold(r.form.s("CopyTagsFromSource"), "volume")
	var x xw
	x.open("snapshotSet")
	for i, b := range in.Blocks {
		if (i == 0 && exclBoot) || slices.Contains(excl, b.Volume) {
			continue
		}
		v := reg.volumes[b.Volume]
		if v == nil {
			continue
		}
		s := r.newSnapshot(v, r.form.s("Description"))
		if copyTags {
			for k, val := range reg.tags[v.ID] {
				r.setTag(s.ID, k, val)
			}
		}
		r.applyTagSpecs("snapshot", s.ID)
		x.open("item").el("snapshotId", s.ID).el("volumeId", v.ID).el("state", "pending").time("startTime", s.Start).
			el("progress", "").el("ownerId", r.acct.id).int("volumeSize", s.Size).el("description", s.Desc).
			bool("encrypted", false)
		r.writeTags(&x, s.ID)
		x.close("item")
	}
	x.close("snapshotSet")
	return x.String(), nil
}

func ec2DescribeSnapshots(r *request) (string, error) {
	reg := r.reg()
	ids, err := requestedIDs(r, "SnapshotId", reg.snapshots, func(id string) error {
		if reg.snapshots[id] == nil {
			return badRequest("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	f := r.filters()
	var sel []*snapshot
	for _, id := range ids {
		s := reg.snapshots[id]
		ok := r.match(f, id, func(name string) []string {
			switch name {
			case "snapshot-id":
				return []string{s.ID}
			case "volume-id":
				return []string{s.Volume}
			case "owner-id":
				return []string{r.acct.id}
			case "description":
				return []string{s.Desc}
			case "status":
				return []string{"completed"}
			}
			return nil
		})
		if ok {
			sel = append(sel, s)
		}
	}
	pg, next, ok := page(sel, r.form.s("NextToken"), r.form.i("MaxResults", 0), 1000)
	if !ok {
		return "", badRequest("InvalidParameterValue", "Invalid value for NextToken")
	}
	var x xw
	x.open("snapshotSet")
	for _, s := range pg {
		x.open("item").el("snapshotId", s.ID).el("volumeId", s.Volume).el("status", "completed").
			time("startTime", s.Start).el("progress", "100%").el("ownerId", r.acct.id).int("volumeSize", s.Size).
			el("description", s.Desc).bool("encrypted", false).el("storageTier", "standard")
		r.writeTags(&x, s.ID)
		x.close("item")
	}
	x.close("snapshotSet").opt("nextToken", next)
	return x.String(), nil
}

// ---- instance state, console

func ec2StopInstances(r *request) (string, error) {
	ids := r.form.list("InstanceId")
	var ins []*instance
	for _, id := range ids {
		in, err := r.instance(id)
		if err != nil {
			return "", err
		}
		if in.State == "terminated" || in.State == "shutting-down" {
			return "", badRequest("IncorrectInstanceState", "This instance '%s' is not in a state from which it can be stopped.", id)
		}
		ins = append(ins, in)
	}
	var x xw
	x.open("instancesSet")
	for _, in := range ins {
		prev := in.State
		cur := "stopping"
		if prev == "stopped" {
			cur = "stopped"
		}
		in.State = "stopped" // the stop completes at once
		x.open("item").el("instanceId", in.ID).
			open("currentState").int("code", stateCodes[cur]).el("name", cur).close("currentState").
			open("previousState").int("code", stateCodes[prev]).el("name", prev).close("previousState").close("item")
	}
	x.close("instancesSet")
	return x.String(), nil
}

func ec2GetConsoleOutput(r *request) (string, error) {
	in, err := r.instance(r.form.s("InstanceId"))
	if err != nil {
		return "", err
	}
	var x xw
	x.el("instanceId", in.ID).time("timestamp", r.c.clock())
	if in.ConsoleOutput != "" {
		x.el("output", base64.StdEncoding.EncodeToString([]byte(in.ConsoleOutput)))
	}
	return x.String(), nil
}

// ---- addresses

func ec2DescribeAddresses(r *request) (string, error) {
	reg := r.reg()
	ids := sortedKeys(reg.addresses)
	if want := r.form.list("AllocationId"); len(want) > 0 {
		for _, id := range want {
			if reg.addresses[id] == nil {
				return "", badRequest("InvalidAllocationID.NotFound", "The allocation ID '%s' does not exist", id)
			}
		}
		ids = want
	}
	pub := r.form.list("PublicIp")
	f := r.filters()
	var x xw
	x.open("addressesSet")
	for _, id := range ids {
		a := reg.addresses[id]
		if len(pub) > 0 && !slices.Contains(pub, a.PublicIP) {
			continue
		}
		ok := r.match(f, id, func(name string) []string {
			switch name {
			case "allocation-id":
				return []string{a.AllocationID}
			case "association-id":
				return []string{a.AssociationID}
			case "instance-id":
				return []string{a.Instance}
			case "network-interface-id":
				return []string{a.ENI}
			case "public-ip":
				return []string{a.PublicIP}
			case "domain":
				return []string{"vpc"}
			}
			return nil
		})
		if !ok {
			continue
		}
		x.open("item").el("publicIp", a.PublicIP).el("allocationId", a.AllocationID).el("domain", "vpc").
			opt("instanceId", a.Instance).opt("associationId", a.AssociationID).opt("networkInterfaceId", a.ENI).
			opt("privateIpAddress", a.PrivateIP)
		if a.ENI != "" {
			x.el("networkInterfaceOwnerId", r.acct.id)
		}
		r.writeTags(&x, a.AllocationID)
		x.close("item")
	}
	x.close("addressesSet")
	return x.String(), nil
}

func ec2AssociateAddress(r *request) (string, error) {
	reg := r.reg()
	var a *address
	if id := r.form.s("AllocationId"); id != "" {
		a = reg.addresses[id]
		if a == nil {
			return "", badRequest("InvalidAllocationID.NotFound", "The allocation ID '%s' does not exist", id)
		}
	} else {
		for _, x := range reg.addresses {
			if x.PublicIP == r.form.s("PublicIp") {
				a = x
			}
		}
		if a == nil {
			return "", badRequest("InvalidAddress.NotFound", "The address '%s' does not belong to you.", r.form.s("PublicIp"))
		}
	}
	var e *eni
	instID := r.form.s("InstanceId")
	if id := r.form.s("NetworkInterfaceId"); id != "" {
		var err error
		if e, err = r.eniByID(id); err != nil {
			return "", err
		}
	} else {
		in, err := r.instance(instID)
		if err != nil {
			return "", err
		}
		if len(in.ENIs) > 1 {
			return "", multiENIError(in.ID)
		}
		e = in.primary(reg)
	}
	if a.AssociationID != "" && r.form.s("AllowReassociation") != "true" && (a.ENI != e.ID) {
		return "", badRequest("Resource.AlreadyAssociated", "resource %s is already associated with associate-id %s", a.AllocationID, a.AssociationID)
	}
	for _, o := range reg.addresses {
		if o != a && o.ENI == e.ID {
			o.AssociationID, o.Instance, o.ENI, o.PrivateIP = "", "", "", ""
		}
	}
	a.AssociationID = r.c.id("eipassoc-", 17)
	a.ENI, a.Instance, a.PrivateIP = e.ID, e.Instance, e.PrivateIP
	return (&xw{}).el("return", "true").el("associationId", a.AssociationID).String(), nil
}

func ec2DisassociateAddress(r *request) (string, error) {
	reg := r.reg()
	id, ip := r.form.s("AssociationId"), r.form.s("PublicIp")
	for _, a := range reg.addresses {
		if (id != "" && a.AssociationID == id) || (id == "" && ip != "" && a.PublicIP == ip && a.AssociationID != "") {
			a.AssociationID, a.Instance, a.ENI, a.PrivateIP = "", "", "", ""
			return `<return>true</return>`, nil
		}
	}
	if id == "" {
		return "", badRequest("InvalidAddress.NotFound", "The address '%s' does not belong to you.", ip)
	}
	return "", badRequest("InvalidAssociationID.NotFound", "The association ID '%s' does not exist", id)
}

// ---- instance profiles

func (r *request) writeAssoc(x *xw, name string, a *profileAssoc) {
	x.open(name).el("associationId", a.ID).el("instanceId", a.Instance).
		open("iamInstanceProfile").el("arn", a.ProfileARN).el("id", a.ProfileID).close("iamInstanceProfile").
		el("state", a.State).time("timestamp", a.Time).close(name)
}

func ec2DescribeProfileAssociations(r *request) (string, error) {
	reg := r.reg()
	ids, err := requestedIDs(r, "AssociationId", reg.assocs, func(id string) error {
		if reg.assocs[id] == nil {
			return badRequest("InvalidAssociationID.NotFound", "An association with ID %s does not exist.", id)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	f := r.filters()
	var x xw
	x.open("iamInstanceProfileAssociationSet")
	for _, id := range ids {
		a := reg.assocs[id]
		ok := r.match(f, "", func(name string) []string {
			switch name {
			case "instance-id":
				return []string{a.Instance}
			case "state":
				return []string{a.State}
			}
			return nil
		})
		if ok {
			r.writeAssoc(&x, "item", a)
		}
	}
	x.close("iamInstanceProfileAssociationSet")
	return x.String(), nil
}

// profileSpec resolves IamInstanceProfile.Arn / .Name in the caller's account.
func (r *request) profileSpec() (*instanceProfile, error) {
	arn, name := r.form.s("IamInstanceProfile.Arn"), r.form.s("IamInstanceProfile.Name")
	for _, p := range r.acct.profiles {
		if (arn != "" && p.ARN == arn) || (arn == "" && p.Name == name) {
			return p, nil
		}
	}
	if arn != "" {
		return nil, badRequest("InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN", arn)
	}
	return nil, badRequest("InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name", name)
}

func ec2AssociateProfile(r *request) (string, error) {
	reg := r.reg()
	in, err := r.instance(r.form.s("InstanceId"))
	if err != nil {
		return "", err
	}
	p, err := r.profileSpec()
	if err != nil {
		return "", err
	}
	for _, a := range reg.assocs {
		if a.Instance == in.ID && a.State == "associated" {
			return "", badRequest("IncorrectState", "There is an existing association for instance %s", in.ID)
		}
	}
	a := r.c.associate(reg, in.ID, p)
	var x xw
	a.State = "associating"
	r.writeAssoc(&x, "iamInstanceProfileAssociation", a)
	a.State = "associated"
	return x.String(), nil
}

func (c *Cloud) associate(reg *region, instanceID string, p *instanceProfile) *profileAssoc {
	a := &profileAssoc{ID: c.id("iip-assoc-", 17), Instance: instanceID, ProfileARN: p.ARN, ProfileID: p.ID,
		State: "associated", Time: c.clock()}
	reg.assocs[a.ID] = a
	reg.seen(a.ID)
	return a
}

func ec2ReplaceProfile(r *request) (string, error) {
	reg := r.reg()
	id := r.form.s("AssociationId")
	old := reg.assocs[id]
	if old == nil || old.State != "associated" {
		return "", badRequest("InvalidAssociationID.NotFound", "An association with ID %s does not exist.", id)
	}
	p, err := r.profileSpec()
	if err != nil {
		return "", err
	}
	delete(reg.assocs, id)
	a := r.c.associate(reg, old.Instance, p)
	var x xw
	a.State = "associating"
	r.writeAssoc(&x, "iamInstanceProfileAssociation", a)
	a.State = "associated"
	return x.String(), nil
}

func ec2DisassociateProfile(r *request) (string, error) {
	reg := r.reg()
	id := r.form.s("AssociationId")
	a := reg.assocs[id]
	if a == nil {
		return "", badRequest("InvalidAssociationID.NotFound", "An association with ID %s does not exist.", id)
	}
	delete(reg.assocs, id)
	var x xw
	a.State = "disassociating"
	r.writeAssoc(&x, "iamInstanceProfileAssociation", a)
	return x.String(), nil
}
