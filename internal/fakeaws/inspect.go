package fakeaws

import (
	"fmt"
	"maps"
	"slices"
)

// State accessors for test assertions. Each returns a copy taken under the
// cloud's lock; ok is false when the account, region or resource is unknown.

// InstanceView is an instance's containment-relevant state.
type InstanceView struct {
	ID, State, Type       string
	SecurityGroups        []string // the primary interface's groups, as EC2 shows them
	Interfaces            []InterfaceView
	DisableAPITermination bool
	ShutdownBehavior      string
	DeleteOnTermination   map[string]bool // by device name
	Volumes               []string
	Tags                  map[string]string
	InstanceProfileARN    string // "" when none is associated
	PublicIPs             []string
}

// InterfaceView is a network interface of an instance.
type InterfaceView struct {
	ID             string
	SecurityGroups []string
	PublicIP       string
}

// RuleView is one security group rule.
type RuleView struct {
	Protocol         string // "-1" for all traffic
	FromPort, ToPort int
	CIDR, IPv6CIDR   string
	Group            string
}

// SecurityGroupView is a security group with its rules.
type SecurityGroupView struct {
	ID, Name, VPC   string
	Ingress, Egress []RuleView
	Tags            map[string]string
}

func (c *Cloud) region(account, region string) (*region, bool) {
	a := c.accounts[account]
	if a == nil {
		return nil, false
	}
	if region == "" {
		region = DefaultRegion
	}
	r := a.regions[region]
	return r, r != nil
}

// Instance returns an instance's state.
func (c *Cloud) Instance(account, region, id string) (InstanceView, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reg, ok := c.region(account, region)
	if !ok || reg.instances[id] == nil {
		return InstanceView{}, false
	}
	in := reg.instances[id]
	v := InstanceView{ID: in.ID, State: in.State, Type: in.Type, DisableAPITermination: in.DisableAPITermination,
		ShutdownBehavior: in.ShutdownBehavior, DeleteOnTermination: map[string]bool{}, Tags: maps.Clone(reg.tags[id])}
	if v.Tags == nil {
		v.Tags = map[string]string{}
	}
	for i, eid := range in.ENIs {
		e := reg.enis[eid]
		iv := InterfaceView{ID: e.ID, SecurityGroups: slices.Clone(e.Groups)}
		for _, a := range reg.addresses {
			if a.ENI == e.ID {
				iv.PublicIP = a.PublicIP
				v.PublicIPs = append(v.PublicIPs, a.PublicIP)
			}
		}
		if i == 0 {
			v.SecurityGroups = slices.Clone(e.Groups)
		}
		v.Interfaces = append(v.Interfaces, iv)
	}
	for _, b := range in.Blocks {
		v.DeleteOnTermination[b.Device] = b.DeleteOnTermination
		v.Volumes = append(v.Volumes, b.Volume)
	}
	for _, a := range reg.assocs {
		if a.Instance == id && a.State == "associated" {
			v.InstanceProfileARN = a.ProfileARN
		}
	}
	return v, true
}

// SecurityGroup returns a security group and its rules.
func (c *Cloud) SecurityGroup(account, region, id string) (SecurityGroupView, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reg, ok := c.region(account, region)
	if !ok || reg.sgs[id] == nil {
		return SecurityGroupView{}, false
	}
	g := reg.sgs[id]
	v := SecurityGroupView{ID: g.ID, Name: g.Name, VPC: g.VPC, Tags: maps.Clone(reg.tags[id])}
	for _, r := range g.Rules {
		rv := RuleView{Protocol: r.Protocol, FromPort: r.From, ToPort: r.To, CIDR: r.CIDR, IPv6CIDR: r.CIDRv6, Group: r.Group}
		if r.Egress {
			v.Egress = append(v.Egress, rv)
		} else {
			v.Ingress = append(v.Ingress, rv)
		}
	}
	return v, true
}

// AccessKeyStatus returns Active or Inactive for a user's key.
func (c *Cloud) AccessKeyStatus(account, user, keyID string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.accounts[account]
	if a == nil || a.users[user] == nil || a.users[user].key(keyID) == nil {
		return "", false
	}
	return a.users[user].key(keyID).Status, true
}

// PrincipalPolicies returns the inline policies (name → document) and
// attached policy ARNs of a user (kind "user") or role (kind "role").
func (c *Cloud) PrincipalPolicies(account, kind, name string) (inline map[string]string, attached []string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.accounts[account]
	if a == nil {
		return nil, nil, false
	}
	switch kind {
	case "user":
		if u := a.users[name]; u != nil {
			return maps.Clone(u.Inline), slices.Clone(u.Attached), true
		}
	case "role":
		if r := a.roles[name]; r != nil {
			return maps.Clone(r.Inline), slices.Clone(r.Attached), true
		}
	}
	return nil, nil, false
}

// HasLoginProfile reports whether a user has a console password.
func (c *Cloud) HasLoginProfile(account, user string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.accounts[account]
	return a != nil && a.users[user] != nil && a.users[user].LoginProfile != nil
}

// SnapshotView is an EBS snapshot.
type SnapshotView struct {
	ID, VolumeID, Description string
	Tags                      map[string]string
}

// Snapshots lists the snapshots of a region in creation order.
func (c *Cloud) Snapshots(account, region string) []SnapshotView {
	c.mu.Lock()
	defer c.mu.Unlock()
	reg, ok := c.region(account, region)
	if !ok {
		return nil
	}
	ids := sortedKeys(reg.snapshots)
	sortBy(ids, func(id string) int { return reg.order[id] })
	var out []SnapshotView
	for _, id := range ids {
		s := reg.snapshots[id]
		out = append(out, SnapshotView{ID: s.ID, VolumeID: s.Volume, Description: s.Desc, Tags: maps.Clone(reg.tags[id])})
	}
	return out
}

// AddFinding stores a GuardDuty finding (a finding object or an
// EventBridge event) in the region's detector, creating the detector if
// needed, and returns the finding id. accountId, region and arn are
// rewritten.
func (c *Cloud) AddFinding(account, region string, finding []byte) (string, error) {
	var f map[string]any
	if err := jsonUnmarshal(finding, &f); err != nil {
		return "", err
	}
	if d, ok := f["detail"].(map[string]any); ok && f["detail-type"] != nil {
		f = d
	}
	if jstr(f, "id") == "" {
		return "", fmt.Errorf("finding has no id")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.acct(account)
	reg := a.region(region)
	var d *detector
	for _, id := range sortedKeys(reg.detectors) {
		d = reg.detectors[id]
		break
	}
	if d == nil {
		d = c.newDetector(a, reg, "")
	}
	d.add(a.id, reg.name, f)
	return jstr(f, "id"), nil
}

// Finding returns a GuardDuty finding as GetFindings would.
func (c *Cloud) Finding(account, region, id string) (map[string]any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reg, ok := c.region(account, region)
	if !ok {
		return nil, false
	}
	for _, d := range reg.detectors {
		if f := d.Findings[id]; f != nil {
			m, _ := deepCopy(f).(map[string]any)
			return m, true
		}
	}
	return nil, false
}

// HubFinding returns a Security Hub finding (ASFF) by product ARN and id.
func (c *Cloud) HubFinding(account, region, productARN, id string) (map[string]any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reg, ok := c.region(account, region)
	if !ok || reg.hub[productARN+"|"+id] == nil {
		return nil, false
	}
	m, _ := deepCopy(reg.hub[productARN+"|"+id].Data).(map[string]any)
	return m, true
}

// Published returns what was published to a topic (by name).
func (c *Cloud) Published(account, region, topicName string) []Publication {
	c.mu.Lock()
	defer c.mu.Unlock()
	reg, ok := c.region(account, region)
	if !ok {
		return nil
	}
	for _, t := range reg.topics {
		if t.Name == topicName {
			return slices.Clone(t.Published)
		}
	}
	return nil
}

// QueueDepth returns the number of messages in a queue (visible or not).
func (c *Cloud) QueueDepth(account, region, name string) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reg, ok := c.region(account, region)
	if !ok || reg.queues[name] == nil {
		return 0, false
	}
	return len(reg.queues[name].Msgs), true
}

// PublicAccessBlock returns a bucket's configuration; ok is false when the
// bucket has none (or does not exist).
func (c *Cloud) PublicAccessBlock(bucketName string) (PABSpec, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.buckets[bucketName]
	if b == nil || b.PAB == nil {
		return PABSpec{}, false
	}
	return PABSpec{b.PAB.BlockPublicAcls, b.PAB.IgnorePublicAcls, b.PAB.BlockPublicPolicy, b.PAB.RestrictPublicBuckets}, true
}

// AutoScalingGroup returns a group's instances and desired capacity.
func (c *Cloud) AutoScalingGroup(account, region, name string) (instances []string, desired int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reg, ok := c.region(account, region)
	if !ok || reg.asgs[name] == nil {
		return nil, 0, false
	}
	g := reg.asgs[name]
	return slices.Clone(g.Instances), g.Desire, true
}

// Targets returns the instance ids registered in a target group (by name).
func (c *Cloud) Targets(account, region, targetGroup string) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reg, ok := c.region(account, region)
	if !ok {
		return nil, false
	}
	tg := tgByName(reg, targetGroup)
	if tg == nil {
		return nil, false
	}
	var out []string
	for _, t := range tg.Targets {
		out = append(out, t.ID)
	}
	return out, true
}
