package fakeaws

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Scenario is the YAML (or JSON) file that declares a cloud's starting
// state. See testdata/scenario.yaml for a complete example.
type Scenario struct {
	Accounts []AccountSpec `yaml:"accounts"`
}

// AccountSpec declares one account.
type AccountSpec struct {
	ID               string        `yaml:"id"`
	Name             string        `yaml:"name"`
	Credentials      []KeySpec     `yaml:"credentials"` // root access keys
	Users            []UserSpec    `yaml:"users"`
	Roles            []RoleSpec    `yaml:"roles"`
	InstanceProfiles []ProfileSpec `yaml:"instanceProfiles"`
	Buckets          []BucketSpec  `yaml:"buckets"`
	Regions          []RegionSpec  `yaml:"regions"`
}

// KeySpec is an access key pair.
type KeySpec struct {
	AccessKeyID     string `yaml:"accessKeyId"`
	SecretAccessKey string `yaml:"secretAccessKey"`
	Status          string `yaml:"status"` // Active (default) or Inactive
}

// UserSpec is an IAM user.
type UserSpec struct {
	Name             string         `yaml:"name"`
	Path             string         `yaml:"path"`
	AccessKeys       []KeySpec      `yaml:"accessKeys"`
	LoginProfile     bool           `yaml:"loginProfile"`
	InlinePolicies   map[string]any `yaml:"inlinePolicies"` // name: document (object or JSON string)
	AttachedPolicies []string       `yaml:"attachedPolicies"`
}

// RoleSpec is an IAM role.
type RoleSpec struct {
	Name               string         `yaml:"name"`
	Path               string         `yaml:"path"`
	Description        string         `yaml:"description"`
	TrustPolicy        any            `yaml:"trustPolicy"` // object or JSON string
	InlinePolicies     map[string]any `yaml:"inlinePolicies"`
	AttachedPolicies   []string       `yaml:"attachedPolicies"`
	MaxSessionDuration int            `yaml:"maxSessionDuration"`
}

// ProfileSpec is an IAM instance profile.
type ProfileSpec struct {
	Name  string   `yaml:"name"`
	Roles []string `yaml:"roles"`
}

// BucketSpec is an S3 bucket.
type BucketSpec struct {
	Name              string   `yaml:"name"`
	Region            string   `yaml:"region"`
	PublicAccessBlock *PABSpec `yaml:"publicAccessBlock"`
}

// PABSpec is a bucket's public access block configuration.
type PABSpec struct {
	BlockPublicAcls       bool `yaml:"blockPublicAcls"`
	IgnorePublicAcls      bool `yaml:"ignorePublicAcls"`
	BlockPublicPolicy     bool `yaml:"blockPublicPolicy"`
	RestrictPublicBuckets bool `yaml:"restrictPublicBuckets"`
}

// RegionSpec declares the regional resources of an account.
type RegionSpec struct {
	Name              string         `yaml:"name"`
	VPCs              []VPCSpec      `yaml:"vpcs"`
	Instances         []InstanceSpec `yaml:"instances"`
	Addresses         []AddressSpec  `yaml:"addresses"`
	AutoScalingGroups []ASGSpec      `yaml:"autoScalingGroups"`
	TargetGroups      []TGSpec       `yaml:"targetGroups"`
	Topics            []TopicSpec    `yaml:"topics"`
	Queues            []QueueSpec    `yaml:"queues"`
	GuardDuty         *GuardDutySpec `yaml:"guardDuty"`
}

// VPCSpec is a VPC with its subnets and security groups. Every VPC also
// gets a "default" security group unless one is declared.
type VPCSpec struct {
	ID             string       `yaml:"id"`
	CIDR           string       `yaml:"cidr"`
	Subnets        []SubnetSpec `yaml:"subnets"`
	SecurityGroups []SGSpec     `yaml:"securityGroups"`
}

// SubnetSpec is a subnet.
type SubnetSpec struct {
	ID               string `yaml:"id"`
	CIDR             string `yaml:"cidr"`
	AvailabilityZone string `yaml:"availabilityZone"`
}

// SGSpec is a security group. Egress left out means AWS's default
// allow-all egress rule; "egress: []" means none.
type SGSpec struct {
	ID          string            `yaml:"id"`
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Ingress     []RuleSpec        `yaml:"ingress"`
	Egress      *[]RuleSpec       `yaml:"egress"`
	Tags        map[string]string `yaml:"tags"`
}

// RuleSpec is a security group rule.
type RuleSpec struct {
	Protocol    string   `yaml:"protocol"` // tcp, udp, icmp, -1 (all)
	FromPort    int      `yaml:"fromPort"`
	ToPort      int      `yaml:"toPort"`
	CIDRs       []string `yaml:"cidrs"`
	IPv6CIDRs   []string `yaml:"ipv6Cidrs"`
	Groups      []string `yaml:"groups"`
	Description string   `yaml:"description"`
}

// InstanceSpec is an EC2 instance. Give NetworkInterfaces (the first is
// the primary), or Subnet and SecurityGroups for a single interface.
type InstanceSpec struct {
	ID                    string            `yaml:"id"`
	Type                  string            `yaml:"type"`
	Image                 string            `yaml:"image"`
	State                 string            `yaml:"state"`
	KeyName               string            `yaml:"keyName"`
	Subnet                string            `yaml:"subnet"`
	SecurityGroups        []string          `yaml:"securityGroups"`
	NetworkInterfaces     []ENISpec         `yaml:"networkInterfaces"`
	Volumes               []VolumeSpec      `yaml:"volumes"`
	InstanceProfile       string            `yaml:"instanceProfile"`
	Tags                  map[string]string `yaml:"tags"`
	DisableAPITermination bool              `yaml:"disableApiTermination"`
	ShutdownBehavior      string            `yaml:"shutdownBehavior"`
	ConsoleOutput         string            `yaml:"consoleOutput"`
}

// ENISpec is a network interface attached to an instance.
type ENISpec struct {
	ID             string            `yaml:"id"`
	Subnet         string            `yaml:"subnet"`
	PrivateIP      string            `yaml:"privateIp"`
	SecurityGroups []string          `yaml:"securityGroups"`
	Description    string            `yaml:"description"`
	Tags           map[string]string `yaml:"tags"`
}

// VolumeSpec is an EBS volume attached to an instance.
type VolumeSpec struct {
	ID                  string            `yaml:"id"`
	Device              string            `yaml:"device"`
	Size                int               `yaml:"size"`
	Type                string            `yaml:"type"`
	DeleteOnTermination *bool             `yaml:"deleteOnTermination"` // default: true for the first volume
	Tags                map[string]string `yaml:"tags"`
}

// AddressSpec is an Elastic IP, optionally associated with an instance's
// primary interface or with an interface.
type AddressSpec struct {
	AllocationID     string `yaml:"allocationId"`
	PublicIP         string `yaml:"publicIp"`
	Instance         string `yaml:"instance"`
	NetworkInterface string `yaml:"networkInterface"`
}

// ASGSpec is an Auto Scaling group.
type ASGSpec struct {
	Name         string   `yaml:"name"`
	Min          int      `yaml:"min"`
	Max          int      `yaml:"max"`
	Desired      int      `yaml:"desired"`
	Instances    []string `yaml:"instances"`
	TargetGroups []string `yaml:"targetGroups"` // names
}

// TGSpec is an ELBv2 target group.
type TGSpec struct {
	Name     string       `yaml:"name"`
	Protocol string       `yaml:"protocol"`
	Port     int          `yaml:"port"`
	VPC      string       `yaml:"vpc"`
	Targets  []TargetSpec `yaml:"targets"`
}

// TargetSpec is a registered target.
type TargetSpec struct {
	ID   string `yaml:"id"`
	Port int    `yaml:"port"`
}

// TopicSpec is an SNS topic with its subscriptions.
type TopicSpec struct {
	Name          string    `yaml:"name"`
	Subscriptions []SubSpec `yaml:"subscriptions"`
}

// SubSpec is an SNS subscription. For sqs, Endpoint may be a queue name of
// the same account and region, or a queue ARN.
type SubSpec struct {
	Protocol string `yaml:"protocol"`
	Endpoint string `yaml:"endpoint"`
	Raw      bool   `yaml:"rawMessageDelivery"`
}

// QueueSpec is an SQS queue.
type QueueSpec struct {
	Name              string `yaml:"name"`
	VisibilityTimeout int    `yaml:"visibilityTimeout"`
	DeadLetterQueue   string `yaml:"deadLetterQueue"` // name of a queue in the same region
	MaxReceiveCount   int    `yaml:"maxReceiveCount"`
}

// GuardDutySpec is the region's detector and its findings.
type GuardDutySpec struct {
	DetectorID string        `yaml:"detectorId"`
	Findings   []FindingSpec `yaml:"findings"`
}

// FindingSpec is a GuardDuty finding from a file (relative to the
// scenario) or inline, with dotted-path overrides. accountId, region and arn
// are always rewritten to the account, region and detector.
type FindingSpec struct {
	File    string         `yaml:"file"`
	Finding map[string]any `yaml:"finding"`
	Set     map[string]any `yaml:"set"`
}

//go:embed testdata/scenario.yaml testdata/findings/*.json
var defaultFS embed.FS

// LoadDefaultScenario loads the embedded default scenario (the same as
// testdata/scenario.yaml): accounts 111111111111 and 222222222222.
func (c *Cloud) LoadDefaultScenario() error {
	return c.LoadScenarioFS(defaultFS, "testdata/scenario.yaml")
}

// LoadScenarioFile loads a scenario file; finding files are resolved
// relative to its directory.
func (c *Cloud) LoadScenarioFile(name string) error {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	return c.LoadScenarioFS(os.DirFS(dir), base)
}

// LoadScenarioFile is a shorthand for New(opts...).LoadScenarioFile(path).
func LoadScenarioFile(name string, opts ...Option) (*Cloud, error) {
	c := New(opts...)
	if err := c.LoadScenarioFile(name); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadScenarioFS loads a scenario from fsys.
func (c *Cloud) LoadScenarioFS(fsys fs.FS, name string) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	return c.loadScenario(b, fsys, path.Dir(name), name)
}

// LoadScenario loads a scenario from r. Finding files are resolved relative
// to the working directory.
func (c *Cloud) LoadScenario(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return c.loadScenario(b, os.DirFS("."), ".", "scenario")
}

// ParseScenario decodes and validates a scenario without loading it.
func ParseScenario(b []byte) (*Scenario, error) {
	var s Scenario
	if err := yaml.UnmarshalWithOptions(b, &s, yaml.DisallowUnknownField()); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *Scenario) validate() error {
	seen := map[string]bool{}
	for i, a := range s.Accounts {
		if len(a.ID) != 12 || strings.Trim(a.ID, "0123456789") != "" {
			return fmt.Errorf("accounts[%d]: id %q is not a 12-digit account id", i, a.ID)
		}
		if seen[a.ID] {
			return fmt.Errorf("accounts[%d]: account %s declared twice", i, a.ID)
		}
		seen[a.ID] = true
		for j, k := range a.Credentials {
			if k.AccessKeyID == "" || k.SecretAccessKey == "" {
				return fmt.Errorf("accounts[%d].credentials[%d]: accessKeyId and secretAccessKey are required", i, j)
			}
		}
		for j, u := range a.Users {
			if u.Name == "" {
				return fmt.Errorf("accounts[%d].users[%d]: name is required", i, j)
			}
		}
		for j, r := range a.Roles {
			if r.Name == "" {
				return fmt.Errorf("accounts[%d].roles[%d]: name is required", i, j)
			}
		}
	}
	return nil
}

func (c *Cloud) loadScenario(b []byte, fsys fs.FS, dir, name string) error {
	s, err := ParseScenario(b)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, as := range s.Accounts {
		if err := c.loadAccount(as, fsys, dir); err != nil {
			return fmt.Errorf("%s: accounts[%d] (%s): %w", name, i, as.ID, err)
		}
	}
	return nil
}

func policyDoc(v any) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		if !json.Valid([]byte(t)) {
			return "", fmt.Errorf("policy is not valid JSON")
		}
		return t, nil
	default:
		b, err := json.Marshal(normalizeYAML(t))
		return string(b), err
	}
}

// normalizeYAML turns map[any]any (if any) into map[string]any for JSON.
func normalizeYAML(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, x := range t {
			m[k] = normalizeYAML(x)
		}
		return m
	case map[any]any:
		m := map[string]any{}
		for k, x := range t {
			m[fmt.Sprint(k)] = normalizeYAML(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = normalizeYAML(x)
		}
		return l
	case uint64:
		return float64(t)
	case int64:
		return float64(t)
	case int:
		return float64(t)
	}
	return v
}

func (c *Cloud) loadAccount(as AccountSpec, fsys fs.FS, dir string) error {
	a := c.acct(as.ID)
	a.name = as.Name
	now := c.clock()
	for _, k := range as.Credentials {
		c.creds[k.AccessKeyID] = &credential{AccessKeyID: k.AccessKeyID, Secret: k.SecretAccessKey, Account: a.id,
			ARN: "arn:aws:iam::" + a.id + ":root", UserID: a.id}
	}
	for _, us := range as.Users {
		p := us.Path
		if p == "" {
			p = "/"
		}
		u := &iamUser{Name: us.Name, Path: p, ID: c.upperID("AIDA", 17), ARN: "arn:aws:iam::" + a.id + ":user" + p + us.Name,
			Created: now, Inline: map[string]string{}}
		for _, k := range us.AccessKeys {
			if k.AccessKeyID == "" {
				k.AccessKeyID = c.upperID("AKIA", 16)
			}
			if k.SecretAccessKey == "" {
				k.SecretAccessKey = c.secret()
			}
			st := k.Status
			if st == "" {
				st = "Active"
			}
			if st != "Active" && st != "Inactive" {
				return fmt.Errorf("user %s: key %s: status %q: want Active or Inactive", us.Name, k.AccessKeyID, st)
			}
			u.Keys = append(u.Keys, &accessKey{ID: k.AccessKeyID, Secret: k.SecretAccessKey, Status: st, Created: now})
			c.creds[k.AccessKeyID] = &credential{AccessKeyID: k.AccessKeyID, Secret: k.SecretAccessKey, Account: a.id,
				ARN: u.ARN, UserID: u.ID, User: u.Name}
		}
		if us.LoginProfile {
			t := now
			u.LoginProfile = &t
		}
		for n, d := range us.InlinePolicies {
			doc, err := policyDoc(d)
			if err != nil {
				return fmt.Errorf("user %s: policy %s: %w", us.Name, n, err)
			}
			u.Inline[n] = doc
		}
		u.Attached = append(u.Attached, us.AttachedPolicies...)
		a.users[u.Name] = u
	}
	for _, rs := range as.Roles {
		p := rs.Path
		if p == "" {
			p = "/"
		}
		trust, err := policyDoc(rs.TrustPolicy)
		if err != nil {
			return fmt.Errorf("role %s: trust policy: %w", rs.Name, err)
		}
		ro := &iamRole{Name: rs.Name, Path: p, Desc: rs.Description, ID: c.upperID("AROA", 17),
			ARN: "arn:aws:iam::" + a.id + ":role" + p + rs.Name, Created: now, Trust: trust,
			Inline: map[string]string{}, MaxSession: rs.MaxSessionDuration}
		if ro.MaxSession == 0 {
			ro.MaxSession = 3600
		}
		for n, d := range rs.InlinePolicies {
			doc, err := policyDoc(d)
			if err != nil {
				return fmt.Errorf("role %s: policy %s: %w", rs.Name, n, err)
			}
			ro.Inline[n] = doc
		}
		ro.Attached = append(ro.Attached, rs.AttachedPolicies...)
		a.roles[ro.Name] = ro
	}
	for _, ps := range as.InstanceProfiles {
		for _, rn := range ps.Roles {
			if a.roles[rn] == nil {
				return fmt.Errorf("instance profile %s: no role %s", ps.Name, rn)
			}
		}
		a.profiles[ps.Name] = &instanceProfile{Name: ps.Name, Path: "/", ID: c.upperID("AIPA", 17),
			ARN: "arn:aws:iam::" + a.id + ":instance-profile/" + ps.Name, Created: now, Roles: ps.Roles}
	}
	for _, bs := range as.Buckets {
		if o := c.buckets[bs.Name]; o != nil && o.Owner != a.id {
			return fmt.Errorf("bucket %s already belongs to account %s", bs.Name, o.Owner)
		}
		b := &bucket{Name: bs.Name, Owner: a.id, Region: bs.Region, Created: now}
		if b.Region == "" {
			b.Region = DefaultRegion
		}
		if p := bs.PublicAccessBlock; p != nil {
			b.PAB = &publicAccessBlock{p.BlockPublicAcls, p.IgnorePublicAcls, p.BlockPublicPolicy, p.RestrictPublicBuckets}
		}
		c.buckets[b.Name] = b
	}
	for _, rs := range as.Regions {
		if err := c.loadRegion(a, rs, fsys, dir); err != nil {
			return fmt.Errorf("region %s: %w", rs.Name, err)
		}
	}
	return nil
}

func (c *Cloud) loadRegion(a *account, rs RegionSpec, fsys fs.FS, dir string) error {
	reg := a.region(rs.Name)
	now := c.clock()
	for _, vs := range rs.VPCs {
		if vs.ID == "" {
			vs.ID = c.id("vpc-", 17)
		}
		reg.vpcs[vs.ID] = &vpc{ID: vs.ID, CIDR: vs.CIDR}
		reg.seen(vs.ID)
		for _, ss := range vs.Subnets {
			if ss.ID == "" {
				ss.ID = c.id("subnet-", 17)
			}
			az := ss.AvailabilityZone
			if az == "" {
				az = reg.name + "a"
			}
			reg.subnets[ss.ID] = &subnet{ID: ss.ID, VPC: vs.ID, CIDR: ss.CIDR, AZ: az}
			reg.seen(ss.ID)
		}
		hasDefault := false
		for _, gs := range vs.SecurityGroups {
			hasDefault = hasDefault || gs.Name == "default"
		}
		if !hasDefault {
			g := c.newSG(reg, "", "default", "default VPC security group", vs.ID, true)
			g.Rules = append(g.Rules, &sgRule{ID: c.id("sgr-", 17), Protocol: "-1", Group: g.ID})
		}
		for _, gs := range vs.SecurityGroups {
			desc := gs.Description
			if desc == "" {
				desc = gs.Name
			}
			g := c.newSG(reg, gs.ID, gs.Name, desc, vs.ID, gs.Egress == nil)
			for k, v := range gs.Tags {
				setTagOn(reg, g.ID, k, v)
			}
		}
		// Rules after all groups exist, so they may reference each other.
		for _, gs := range vs.SecurityGroups {
			g := findSG(reg, vs.ID, gs)
			for _, rl := range gs.Ingress {
				rules, err := c.specRules(reg, rl, false)
				if err != nil {
					return fmt.Errorf("security group %s: %w", gs.Name, err)
				}
				g.Rules = append(g.Rules, rules...)
			}
			if gs.Egress != nil {
				for _, rl := range *gs.Egress {
					rules, err := c.specRules(reg, rl, true)
					if err != nil {
						return fmt.Errorf("security group %s: %w", gs.Name, err)
					}
					g.Rules = append(g.Rules, rules...)
				}
			}
		}
	}
	for _, is := range rs.Instances {
		if err := c.loadInstance(a, reg, is, now); err != nil {
			return fmt.Errorf("instance %s: %w", is.ID, err)
		}
	}
	for _, ad := range rs.Addresses {
		if ad.AllocationID == "" {
			ad.AllocationID = c.id("eipalloc-", 17)
		}
		addr := &address{AllocationID: ad.AllocationID, PublicIP: ad.PublicIP}
		eniID := ad.NetworkInterface
		if ad.Instance != "" {
			in := reg.instances[ad.Instance]
			if in == nil || len(in.ENIs) == 0 {
				return fmt.Errorf("address %s: no instance %s", ad.PublicIP, ad.Instance)
			}
			eniID = in.ENIs[0]
		}
		if eniID != "" {
			e := reg.enis[eniID]
			if e == nil {
				return fmt.Errorf("address %s: no network interface %s", ad.PublicIP, eniID)
			}
			addr.ENI, addr.Instance, addr.PrivateIP = e.ID, e.Instance, e.PrivateIP
			addr.AssociationID = c.id("eipassoc-", 17)
		}
		reg.addresses[addr.AllocationID] = addr
		reg.seen(addr.AllocationID)
	}
	for _, ts := range rs.TargetGroups {
		if err := c.loadTargetGroup(a, reg, ts); err != nil {
			return fmt.Errorf("target group %s: %w", ts.Name, err)
		}
	}
	for _, gs := range rs.AutoScalingGroups {
		if err := c.loadASG(a, reg, gs); err != nil {
			return fmt.Errorf("auto scaling group %s: %w", gs.Name, err)
		}
	}
	for _, qs := range rs.Queues {
		c.loadQueue(a, reg, qs)
	}
	for _, qs := range rs.Queues {
		if qs.DeadLetterQueue != "" {
			q, dlq := reg.queues[qs.Name], reg.queues[qs.DeadLetterQueue]
			if dlq == nil {
				return fmt.Errorf("queue %s: no dead-letter queue %s", qs.Name, qs.DeadLetterQueue)
			}
			q.DLQ = dlq.ARN
			q.MaxReceive = max(qs.MaxReceiveCount, 1)
		}
	}
	for _, ts := range rs.Topics {
		if err := c.loadTopic(a, reg, ts); err != nil {
			return fmt.Errorf("topic %s: %w", ts.Name, err)
		}
	}
	if gd := rs.GuardDuty; gd != nil {
		d := c.newDetector(a, reg, gd.DetectorID)
		for i, fs := range gd.Findings {
			f, err := loadFinding(fs, fsys, dir)
			if err != nil {
				return fmt.Errorf("guardDuty.findings[%d]: %w", i, err)
			}
			d.add(a.id, reg.name, f)
		}
	}
	return nil
}

func findSG(reg *region, vpcID string, gs SGSpec) *securityGroup {
	if gs.ID != "" {
		return reg.sgs[gs.ID]
	}
	for _, g := range reg.sgs {
		if g.VPC == vpcID && g.Name == gs.Name {
			return g
		}
	}
	return nil
}

func setTagOn(reg *region, id, k, v string) {
	if reg.tags[id] == nil {
		reg.tags[id] = map[string]string{}
	}
	reg.tags[id][k] = v
}

func (c *Cloud) specRules(reg *region, rl RuleSpec, egress bool) ([]*sgRule, error) {
	proto := normProto(rl.Protocol)
	from, to := rl.FromPort, rl.ToPort
	if proto == "-1" {
		from, to = 0, 0
	}
	var out []*sgRule
	mk := func() *sgRule {
		return &sgRule{ID: c.id("sgr-", 17), Egress: egress, Protocol: proto, From: from, To: to, Desc: rl.Description}
	}
	for _, cidr := range rl.CIDRs {
		r := mk()
		r.CIDR = cidr
		out = append(out, r)
	}
	for _, cidr := range rl.IPv6CIDRs {
		r := mk()
		r.CIDRv6 = cidr
		out = append(out, r)
	}
	for _, g := range rl.Groups {
		id := g
		if reg.sgs[id] == nil {
			id = ""
			for _, o := range reg.sgs {
				if o.Name == g {
					id = o.ID
				}
			}
			if id == "" {
				return nil, fmt.Errorf("rule references unknown security group %s", g)
			}
		}
		r := mk()
		r.Group = id
		out = append(out, r)
	}
	return out, nil
}

func (c *Cloud) resolveSG(reg *region, vpcID, ref string) (string, error) {
	if g := reg.sgs[ref]; g != nil {
		return ref, nil
	}
	for _, g := range reg.sgs {
		if g.VPC == vpcID && g.Name == ref {
			return g.ID, nil
		}
	}
	return "", fmt.Errorf("unknown security group %s", ref)
}

func (c *Cloud) loadInstance(a *account, reg *region, is InstanceSpec, now time.Time) error {
	if is.ID == "" {
		is.ID = c.id("i-", 17)
	}
	in := &instance{ID: is.ID, Type: is.Type, Image: is.Image, State: is.State, KeyName: is.KeyName,
		DisableAPITermination: is.DisableAPITermination, ShutdownBehavior: is.ShutdownBehavior,
		LaunchTime: now.Add(-24 * time.Hour).Truncate(time.Second), ConsoleOutput: is.ConsoleOutput}
	if in.Type == "" {
		in.Type = "t3.micro"
	}
	if in.Image == "" {
		in.Image = "ami-0abcdef1234567890"
	}
	if in.State == "" {
		in.State = "running"
	}
	if in.ShutdownBehavior == "" {
		in.ShutdownBehavior = "stop"
	}
	enis := is.NetworkInterfaces
	if len(enis) == 0 && is.Subnet != "" {
		enis = []ENISpec{{Subnet: is.Subnet, SecurityGroups: is.SecurityGroups}}
	}
	for i, es := range enis {
		sn := reg.subnets[es.Subnet]
		if sn == nil {
			return fmt.Errorf("network interface %d: unknown subnet %q", i, es.Subnet)
		}
		if es.ID == "" {
			es.ID = c.id("eni-", 17)
		}
		ip := es.PrivateIP
		if ip == "" {
			ip = "10.0." + strconv.Itoa(c.rng.IntN(250)+1) + "." + strconv.Itoa(c.rng.IntN(250)+4)
		}
		e := &eni{ID: es.ID, Subnet: sn.ID, VPC: sn.VPC, AZ: sn.AZ, PrivateIP: ip, Desc: es.Description,
			Instance: in.ID, DeviceIndex: i, AttachmentID: c.id("eni-attach-", 17), DeleteOnTermination: i == 0,
			SourceDestCheck: true, MAC: fmt.Sprintf("0a:%02x:%02x:%02x:%02x:%02x", c.rng.IntN(256), c.rng.IntN(256), c.rng.IntN(256), c.rng.IntN(256), c.rng.IntN(256))}
		for _, ref := range es.SecurityGroups {
			id, err := c.resolveSG(reg, sn.VPC, ref)
			if err != nil {
				return fmt.Errorf("network interface %s: %w", e.ID, err)
			}
			e.Groups = append(e.Groups, id)
		}
		if len(e.Groups) == 0 {
			if id, err := c.resolveSG(reg, sn.VPC, "default"); err == nil {
				e.Groups = []string{id}
			}
		}
		if i == 0 {
			in.AZ = sn.AZ
		}
		reg.enis[e.ID] = e
		reg.seen(e.ID)
		for k, v := range es.Tags {
			setTagOn(reg, e.ID, k, v)
		}
		in.ENIs = append(in.ENIs, e.ID)
	}
	if in.AZ == "" {
		in.AZ = reg.name + "a"
	}
	for i, vs := range is.Volumes {
		if vs.ID == "" {
			vs.ID = c.id("vol-", 17)
		}
		if vs.Device == "" {
			vs.Device = "/dev/xvd" + string(rune('a'+i))
		}
		if vs.Size == 0 {
			vs.Size = 8
		}
		if vs.Type == "" {
			vs.Type = "gp3"
		}
		dot := i == 0
		if vs.DeleteOnTermination != nil {
			dot = *vs.DeleteOnTermination
		}
		reg.volumes[vs.ID] = &volume{ID: vs.ID, AZ: in.AZ, Type: vs.Type, Size: vs.Size, Created: in.LaunchTime}
		reg.seen(vs.ID)
		for k, v := range vs.Tags {
			setTagOn(reg, vs.ID, k, v)
		}
		in.Blocks = append(in.Blocks, &blockDev{Device: vs.Device, Volume: vs.ID, DeleteOnTermination: dot})
	}
	for k, v := range is.Tags {
		setTagOn(reg, in.ID, k, v)
	}
	if is.InstanceProfile != "" {
		p := a.profiles[is.InstanceProfile]
		if p == nil {
			return fmt.Errorf("unknown instance profile %s", is.InstanceProfile)
		}
		c.associate(reg, in.ID, p)
	}
	reg.instances[in.ID] = in
	reg.seen(in.ID)
	return nil
}

// loadFinding reads a finding from a file or inline, applying overrides.
func loadFinding(fs FindingSpec, fsys fs.FS, dir string) (map[string]any, error) {
	var f map[string]any
	switch {
	case fs.File != "":
		b, err := readFS(fsys, path.Join(dir, fs.File))
		if err != nil {
			return nil, err
		}
		if err := jsonUnmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("%s: %w", fs.File, err)
		}
		// An EventBridge event: the finding is its detail.
		if d, ok := f["detail"].(map[string]any); ok && f["detail-type"] != nil {
			f = d
		}
	case fs.Finding != nil:
		b, err := json.Marshal(normalizeYAML(fs.Finding))
		if err != nil {
			return nil, err
		}
		if err := jsonUnmarshal(b, &f); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("a finding needs file or finding")
	}
	for _, k := range sortedKeys(fs.Set) {
		b, err := json.Marshal(normalizeYAML(fs.Set[k]))
		if err != nil {
			return nil, err
		}
		var v any
		if err := jsonUnmarshal(b, &v); err != nil {
			return nil, err
		}
		setPath(f, k, v)
	}
	if jstr(f, "id") == "" || jstr(f, "type") == "" {
		return nil, fmt.Errorf("finding has no id or type")
	}
	return f, nil
}

func readFS(fsys fs.FS, name string) ([]byte, error) {
	name = path.Clean(name)
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), nil
}

// setPath sets a dotted path in a JSON object, creating objects on the way;
// numeric segments index arrays.
func setPath(m map[string]any, p string, v any) {
	segs := strings.Split(p, ".")
	var cur any = m
	for i, s := range segs {
		last := i == len(segs)-1
		switch t := cur.(type) {
		case map[string]any:
			if last {
				t[s] = v
				return
			}
			next, ok := t[s]
			if !ok || next == nil {
				next = map[string]any{}
				t[s] = next
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n >= len(t) {
				return
			}
			if last {
				t[n] = v
				return
			}
			cur = t[n]
		default:
			return
		}
	}
}
