// Package sandbox is reflex's embedded sandbox: a test-cloud scenario (a
// workload account with an instance with two interfaces and three volumes
// in an Auto Scaling group behind target groups, a user with two keys, a
// role, a public bucket) and real GuardDuty findings retargeted at it and
// marked non-sample. `reflex demo` and the AWS step tests run on it.
package sandbox

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/reflexsec/reflex/cloud"
	"github.com/reflexsec/reflex/finding"
	"github.com/reflexsec/reflex/internal/fakeaws"
)

//go:embed scenario.yaml findings/*.json
var files embed.FS

// The sandbox's names.
const (
	Prod     = "111111111111" // the workload account
	Security = "222222222222" // where reflex runs
	Region   = "us-east-1"

	Instance = "i-0a11111111111111a"
	Other    = "i-0a11111111111111b"
	ENI1     = "eni-0a11111111111111a"
	ENI2     = "eni-0a11111111111111b"
	VPC      = "vpc-0a11111111111111a"
	SGWeb    = "sg-0a11111111111111a"
	SGApp    = "sg-0a11111111111111b"
	SGAdmin  = "sg-0a11111111111111c"
	EIP      = "eipalloc-0a11111111111111a"
	ASG      = "web-asg"
	Profile  = "web-profile"
	User     = "alice"
	Key      = "AKIAFAKEALICE0000001"
	OtherKey = "AKIAFAKEALICE0000002"
	Role     = "ci-deployer"
	Bucket   = "prod-public-assets-111111111111"

	ResponderRole = "reflex-responder"
	ExternalID    = "reflex" // as in examples/reflex.yaml
)

// Accounts is how reflex reaches the sandbox's accounts: reflex-responder
// assumed with its external id.
var Accounts = []cloud.Account{{ID: "*", Role: ResponderRole, ExternalID: ExternalID}}

// Cloud returns a new test cloud holding the sandbox, with its findings in
// prod's GuardDuty detector.
func Cloud(opts ...fakeaws.Option) (*fakeaws.Cloud, error) {
	c := fakeaws.New(opts...)
	if err := c.LoadScenarioFS(files, "scenario.yaml"); err != nil {
		return nil, fmt.Errorf("sandbox scenario: %w", err)
	}
	raws, err := rawFindings()
	if err != nil {
		return nil, err
	}
	for _, r := range raws {
		if _, err := c.AddFinding(Prod, Region, r.raw); err != nil {
			return nil, fmt.Errorf("sandbox finding %s: %w", r.name, err)
		}
	}
	return c, nil
}

// Scenario returns the scenario file's text.
func Scenario() []byte {
	b, _ := files.ReadFile("scenario.yaml")
	return b
}

type rawFinding struct {
	name string
	raw  []byte
}

// the retargeting of each bundled finding
var retarget = []struct {
	name, file string
	set        map[string]any
}{
	{"ec2", "UnauthorizedAccess_EC2_TorClient__elastic.json", map[string]any{
		"id":                                  "sandbox-ec2-tor-client",
		"resource.instanceDetails.instanceId": Instance,
		"resource.instanceDetails.iamInstanceProfile": map[string]any{"arn": "arn:aws:iam::" + Prod + ":instance-profile/" + Profile, "id": "AIPAFAKEWEBPROFILE01"},
		"resource.instanceDetails.networkInterfaces": []any{
			map[string]any{"networkInterfaceId": ENI1, "subnetId": "subnet-0a11111111111111a", "vpcId": VPC, "privateIpAddress": "10.0.1.10",
				"publicIp": "203.0.113.10", "securityGroups": []any{map[string]any{"groupId": SGWeb, "groupName": "web"}, map[string]any{"groupId": SGAdmin, "groupName": "admin"}}},
			map[string]any{"networkInterfaceId": ENI2, "subnetId": "subnet-0a11111111111111b", "vpcId": VPC, "privateIpAddress": "10.0.2.10",
				"securityGroups": []any{map[string]any{"groupId": SGApp, "groupName": "app"}}},
		},
		"resource.instanceDetails.tags":         []any{map[string]any{"key": "Name", "value": "web-1"}, map[string]any{"key": "env", "value": "prod"}},
		"resource.instanceDetails.productCodes": []any{},
		"resource.instanceDetails.outpostArn":   "",
	}},
	{"iam-user", "PenTest_IAMUser_KaliLinux__elastic.json", map[string]any{
		"id":                                    "sandbox-iam-user-kali",
		"resource.accessKeyDetails.accessKeyId": Key,
		"resource.accessKeyDetails.userName":    User,
		"resource.accessKeyDetails.principalId": "AIDAFAKEALICE0000001",
		"resource.instanceDetails":              nil,
	}},
	{"assumed-role", "PenTest_IAMUser_KaliLinux__elastic.json", map[string]any{
		"id":                                    "sandbox-assumed-role-kali",
		"type":                                  "PenTest:IAMUser/KaliLinux",
		"resource.accessKeyDetails.accessKeyId": "ASIAFAKECIDEPLOYER01",
		"resource.accessKeyDetails.userName":    Role,
		"resource.accessKeyDetails.userType":    "AssumedRole",
		"resource.accessKeyDetails.principalId": "AROAFAKECIDEPLOYER01:build-42",
		"resource.instanceDetails":              nil,
	}},
	{"s3", "Policy_S3_BucketBlockPublicAccessDisabled__elastic.json", map[string]any{
		"id":                                    "sandbox-s3-bpa-disabled",
		"resource.accessKeyDetails.accessKeyId": "AKIAFAKEBOB000000001",
		"resource.accessKeyDetails.userName":    "bob",
		"resource.accessKeyDetails.principalId": "AIDAFAKEBOB000000001",
		"resource.s3BucketDetails.0.name":       Bucket,
		"resource.s3BucketDetails.0.arn":        "arn:aws:s3:::" + Bucket,
		"resource.s3BucketDetails.0.tags":       []any{},
		"resource.s3BucketDetails.0.owner":      map[string]any{"id": "sandbox-owner"},
	}},
}

func rawFindings() ([]rawFinding, error) {
	var out []rawFinding
	for _, r := range retarget {
		b, err := files.ReadFile("findings/" + r.file)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", r.file, err)
		}
		if d, ok := m["detail"].(map[string]any); ok {
			m = d
		}
		m["accountId"] = Prod
		m["region"] = Region
		for p, v := range r.set {
			set(m, p, v)
		}
		m["arn"] = fmt.Sprintf("arn:aws:guardduty:%s:%s:detector/12abc34d567e8fa901bc2d34e56789f0/finding/%s", Region, Prod, m["id"])
		if svc, ok := m["service"].(map[string]any); ok {
			ai, _ := svc["additionalInfo"].(map[string]any)
			if ai == nil {
				ai = map[string]any{}
			}
			ai["sample"] = false
			svc["additionalInfo"] = ai
		}
		if t, ok := m["title"].(string); ok {
			m["title"] = strings.TrimPrefix(t, "[SAMPLE] ")
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		out = append(out, rawFinding{name: r.name, raw: raw})
	}
	return out, nil
}

// set writes v at a dotted path (numeric parts index lists); nil deletes.
func set(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	var cur any = m
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if v == nil {
					delete(c, p)
				} else {
					c[p] = v
				}
				return
			}
			next, ok := c[p]
			if !ok || next == nil {
				next = map[string]any{}
				c[p] = next
			}
			cur = next
		case []any:
			var idx int
			if _, err := fmt.Sscanf(p, "%d", &idx); err != nil || idx >= len(c) {
				return
			}
			if last {
				c[idx] = v
				return
			}
			cur = c[idx]
		default:
			return
		}
	}
}

// Raw returns the sandbox's findings as JSON, by name: ec2, iam-user,
// assumed-role, s3.
func Raw() (map[string][]byte, []string, error) {
	raws, err := rawFindings()
	if err != nil {
		return nil, nil, err
	}
	out := map[string][]byte{}
	var names []string
	for _, r := range raws {
		out[r.name] = r.raw
		names = append(names, r.name)
	}
	return out, names, nil
}

// Finding returns one of the sandbox's findings, parsed.
func Finding(name string) (*finding.Finding, error) {
	raws, _, err := Raw()
	if err != nil {
		return nil, err
	}
	b, ok := raws[name]
	if !ok {
		return nil, fmt.Errorf("no sandbox finding %q", name)
	}
	fs, errs := finding.ParseBytes("sandbox:"+name, b)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	if len(fs) != 1 {
		return nil, fmt.Errorf("sandbox finding %s: %d findings", name, len(fs))
	}
	if s, why := fs[0].Sample(); s {
		return nil, fmt.Errorf("sandbox finding %s is still a sample: %s", name, why)
	}
	return fs[0], nil
}
