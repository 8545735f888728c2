package fakeaws_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"

	"github.com/reflexsec/reflex/internal/fakeaws"
)

func TestLoadScenarioFileMatchesDefault(t *testing.T) {
	c, err := fakeaws.LoadScenarioFile("testdata/scenario.yaml", fakeaws.WithSeed(1))
	must(t, err)
	d := fakeaws.New(fakeaws.WithSeed(1))
	must(t, d.LoadDefaultScenario())
	if got, want := c.Accounts(), d.Accounts(); strings.Join(got, ",") != strings.Join(want, ",") || len(got) != 2 {
		t.Fatalf("accounts %v vs %v", got, want)
	}
	a, _ := c.Instance(prod, "", web1)
	b, _ := d.Instance(prod, "", web1)
	if a.ID != b.ID || len(a.Interfaces) != 2 || len(b.Interfaces) != 2 {
		t.Fatalf("instances differ: %+v vs %+v", a, b)
	}
}

const jsonScenario = `{"accounts":[{"id":"333333333333","credentials":[{"accessKeyId":"AKIA3","secretAccessKey":"s"}],
 "regions":[{"name":"us-west-2","vpcs":[{"id":"vpc-1","cidr":"10.0.0.0/16","subnets":[{"id":"subnet-1","cidr":"10.0.1.0/24"}],
   "securityGroups":[{"id":"sg-closed","name":"closed","egress":[]}]}],
  "instances":[{"id":"i-1","subnet":"subnet-1","securityGroups":["closed"]}],
  "guardDuty":{"findings":[{"finding":{"id":"f1","type":"Recon:EC2/Portscan","severity":2},"set":{"resource.instanceDetails.instanceId":"i-1"}}]}}]}]}`

func TestLoadScenarioJSON(t *testing.T) {
	c := fakeaws.New()
	must(t, c.LoadScenario(strings.NewReader(jsonScenario)))
	g, ok := c.SecurityGroup("333333333333", "us-west-2", "sg-closed")
	if !ok || len(g.Egress) != 0 {
		t.Fatalf("egress: [] must mean no egress rule: %+v", g)
	}
	v, ok := c.Instance("333333333333", "us-west-2", "i-1")
	if !ok || v.SecurityGroups[0] != "sg-closed" {
		t.Fatalf("instance = %+v", v)
	}
	f, ok := c.Finding("333333333333", "us-west-2", "f1")
	if !ok || f["accountId"] != "333333333333" || f["resource"].(map[string]any)["instanceDetails"].(map[string]any)["instanceId"] != "i-1" {
		t.Fatalf("finding = %v", f)
	}
	srv := fakeaws.NewTestServer(t, c)
	ctx := context.Background()
	gd := guardduty.NewFromConfig(srv.ConfigFor("AKIA3", "s", "", "us-west-2"))
	ld, err := gd.ListDetectors(ctx, &guardduty.ListDetectorsInput{})
	must(t, err)
	lf, err := gd.ListFindings(ctx, &guardduty.ListFindingsInput{DetectorId: aws.String(ld.DetectorIds[0])})
	must(t, err)
	if len(lf.FindingIds) != 1 {
		t.Fatalf("findings = %v", lf.FindingIds)
	}
	// The VPC got its default security group.
	out, err := ec2.NewFromConfig(srv.ConfigFor("AKIA3", "s", "", "us-west-2")).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	must(t, err)
	if len(out.SecurityGroups) != 2 {
		t.Fatalf("groups = %d", len(out.SecurityGroups))
	}
}

func TestLoadScenarioErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"bad account id", `accounts: [{id: "12"}]`, "12-digit"},
		{"unknown field", `accounts: [{id: "111111111111", colour: red}]`, "colour"},
		{"duplicate account", `accounts: [{id: "111111111111"}, {id: "111111111111"}]`, "twice"},
		{"unknown subnet", `accounts: [{id: "111111111111", regions: [{name: us-east-1, instances: [{id: i-1, subnet: subnet-x}]}]}]`, "subnet-x"},
		{"unknown profile", `accounts: [{id: "111111111111", regions: [{name: us-east-1, vpcs: [{id: vpc-1, subnets: [{id: s-1}]}], instances: [{id: i-1, subnet: s-1, instanceProfile: p}]}]}]`, "instance profile p"},
		{"missing finding file", `accounts: [{id: "111111111111", regions: [{name: us-east-1, guardDuty: {findings: [{file: nope.json}]}}]}]`, "nope.json"},
		{"bad trust policy", `accounts: [{id: "111111111111", roles: [{name: r, trustPolicy: "{"}]}]`, "trust policy"},
		{"not yaml", `{{{`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := fakeaws.New().LoadScenario(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func FuzzParseScenario(f *testing.F) {
	f.Add([]byte(jsonScenario))
	f.Add([]byte(`accounts: [{id: "111111111111", regions: [{name: us-east-1, vpcs: [{id: v, subnets: [{id: s}]}], instances: [{subnet: s}]}]}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := fakeaws.New(fakeaws.WithSeed(1))
		_ = c.LoadScenario(strings.NewReader(string(b)))
	})
}

// FuzzQueryProtocol sends arbitrary form bodies to the query-protocol
// services: the emulator must answer, never panic.
func FuzzQueryProtocol(f *testing.F) {
	c := fakeaws.New(fakeaws.WithSeed(1))
	if err := c.LoadDefaultScenario(); err != nil {
		f.Fatal(err)
	}
	h := c.Handler()
	f.Add("ec2", "Action=ModifyInstanceAttribute&InstanceId=i-0a11111111111111b&GroupId.1=sg-0a11111111111111c")
	f.Add("ec2", "Action=AuthorizeSecurityGroupIngress&GroupId=sg-0a11111111111111a&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.IpRanges.1.CidrIp=1.2.3.4/32")
	f.Add("ec2", "Action=DescribeInstances&Filter.1.Name=tag:Name&Filter.1.Value.1=web*&MaxResults=5&NextToken=1")
	f.Add("iam", "Action=PutUserPolicy&UserName=alice&PolicyName=p&PolicyDocument=%7B%7D")
	f.Add("sts", "Action=AssumeRole&RoleArn=arn:aws:iam::111111111111:role/reflex-responder&RoleSessionName=xx")
	f.Add("autoscaling", "Action=DetachInstances&AutoScalingGroupName=web-asg&InstanceIds.member.1=i-0a11111111111111a&ShouldDecrementDesiredCapacity=false")
	f.Add("sns", "Action=Publish&TopicArn=arn:aws:sns:us-east-1:111111111111:reflex-alerts&Message=x&MessageAttributes.entry.1.Name=a")
	f.Fuzz(func(t *testing.T, svc, body string) {
		switch svc {
		case "ec2", "iam", "sts", "sns", "autoscaling", "elasticloadbalancing":
		default:
			svc = "ec2"
		}
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAFAKEPROD00000001/20260101/us-east-1/"+svc+"/aws4_request, SignedHeaders=host, Signature=0")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == 0 || rec.Code >= 500 && rec.Code != 500 {
			t.Fatalf("status %d", rec.Code)
		}
	})
}
