package contract

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/sivchari/kumo"

	"github.com/reflexsec/reflex/internal/fakeaws"
)

const region = "us-east-1"

// env is what one check runs in: SDK configuration for one account of one
// backend, and a way to create the resources the check needs.
type env struct {
	backend string
	account string // the caller's account id
	cfg     aws.Config
	fix     fixtures
}

// fixtures create starting state. AWS has no API to create, say, an
// instance with a chosen id, and the two emulators seed state differently
// (fakeaws from scenario files, kumo through its Create* APIs), so seeding
// is the one part of a check that is not shared.
type fixtures interface {
	// user creates an IAM user with n active access keys and returns
	// their ids.
	user(t *testing.T, name string, n int) []string
	// role creates an IAM role with the trust policy.
	role(t *testing.T, name, trust string)
	// bucket creates an S3 bucket in the env's region.
	bucket(t *testing.T, name string)
	// network creates a VPC with one subnet.
	network(t *testing.T) (vpcID, subnetID string)
	// instance creates a running instance in the subnet.
	instance(t *testing.T, subnetID string) string
	// targetGroup creates an HTTP:80 instance target group in the VPC with
	// the instances registered, and returns its ARN.
	targetGroup(t *testing.T, name, vpcID string, instances []string) string
}

// backend is one emulator under test.
type backend struct {
	name string
	env  func(t *testing.T) *env
	// deviates reports whether a check is skipped on this backend because
	// the backend departs from AWS's documented behaviour (the reason is
	// in the check's table entry). CONTRACT_KUMO_ALL=1 runs them anyway, to
	// see whether a newer kumo still departs.
	deviates func(c check) bool
}

func backends() []backend {
	return []backend{
		{name: "fakeaws", env: fakeawsEnv, deviates: func(check) bool { return false }},
		{name: "kumo", env: kumoEnv, deviates: func(c check) bool { return c.kumo != "" && os.Getenv("CONTRACT_KUMO_ALL") == "" }},
	}
}

// seq makes names and ids unique within the test process. kumo keeps its
// state in package variables shared by every kumo.NewServer, so names must
// not repeat across checks.
var seq atomic.Int64

// unique returns prefix followed by a process-unique number.
func unique(prefix string) string { return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), seq.Add(1)) }

// fastRetryer retries like the SDK's standard retryer but backs off only a
// millisecond, as fakeaws.Server.Config does.
func fastRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
	})
}

// ---- fakeaws: a fresh cloud per check, seeded with scenario fragments.

const fakeawsAccount = "111111111111"

func fakeawsEnv(t *testing.T) *env {
	t.Helper()
	cloud := fakeaws.New(fakeaws.WithSeed(1))
	cloud.AddAccount(fakeawsAccount, "AKIACONTRACT00000001", "contract/secret/000000000000000000000001")
	srv := fakeaws.NewTestServer(t, cloud)
	cfg := srv.Config(fakeawsAccount)
	return &env{backend: "fakeaws", account: fakeawsAccount, cfg: cfg, fix: &fakeawsFixtures{cloud: cloud, cfg: cfg}}
}

type fakeawsFixtures struct {
	cloud *fakeaws.Cloud
	cfg   aws.Config
}

// load adds one account fragment (users, roles, buckets, or one region's
// resources) to the cloud through a scenario document.
func (f *fakeawsFixtures) load(t *testing.T, account map[string]any) {
	t.Helper()
	account["id"] = fakeawsAccount
	doc, err := jsonString(map[string]any{"accounts": []any{account}})
	if err != nil {
		t.Fatalf("fakeaws fixture: %v", err)
	}
	if err := f.cloud.LoadScenario(strings.NewReader(doc)); err != nil {
		t.Fatalf("fakeaws fixture: %v", err)
	}
}

func (f *fakeawsFixtures) regional(t *testing.T, r map[string]any) {
	t.Helper()
	r["name"] = region
	f.load(t, map[string]any{"regions": []any{r}})
}

// hexID returns an id like AWS's: prefix and 17 hex digits.
func hexID(prefix string) string { return fmt.Sprintf("%s%017x", prefix, seq.Add(1)) }

func (f *fakeawsFixtures) user(t *testing.T, name string, n int) []string {
	t.Helper()
	var ids []string
	var keys []any
	for range n {
		id := fmt.Sprintf("AKIACONTRACT%08d", seq.Add(1))
		ids = append(ids, id)
		keys = append(keys, map[string]any{"accessKeyId": id, "secretAccessKey": "contract/secret/" + id})
	}
	f.load(t, map[string]any{"users": []any{map[string]any{"name": name, "accessKeys": keys}}})
	return ids
}

func (f *fakeawsFixtures) role(t *testing.T, name, trust string) {
	t.Helper()
	f.load(t, map[string]any{"roles": []any{map[string]any{"name": name, "trustPolicy": trust}}})
}

func (f *fakeawsFixtures) bucket(t *testing.T, name string) {
	t.Helper()
	f.load(t, map[string]any{"buckets": []any{map[string]any{"name": name, "region": region}}})
}

func (f *fakeawsFixtures) network(t *testing.T) (string, string) {
	t.Helper()
	vpc, subnet := hexID("vpc-"), hexID("subnet-")
	f.regional(t, map[string]any{"vpcs": []any{map[string]any{"id": vpc, "cidr": "10.0.0.0/16",
		"subnets": []any{map[string]any{"id": subnet, "cidr": "10.0.1.0/24"}}}}})
	return vpc, subnet
}

func (f *fakeawsFixtures) instance(t *testing.T, subnetID string) string {
	t.Helper()
	id := hexID("i-")
	f.regional(t, map[string]any{"instances": []any{map[string]any{"id": id, "subnet": subnetID}}})
	return id
}

func (f *fakeawsFixtures) targetGroup(t *testing.T, name, vpcID string, instances []string) string {
	t.Helper()
	var targets []any
	for _, id := range instances {
		targets = append(targets, map[string]any{"id": id})
	}
	f.regional(t, map[string]any{"targetGroups": []any{map[string]any{"name": name, "protocol": "HTTP", "port": 80,
		"vpc": vpcID, "targets": targets}}})
	return targetGroupARN(t, f.cfg, name)
}

// ---- kumo: one in-process server for the whole test binary (its state is
// process-wide anyway), seeded through its APIs.

// kumoAccount is the account kumo's STS, SQS, SNS, EC2 and ELBv2 put in
// their answers and ARNs; kumo has a single account and does not map
// credentials to accounts.
const kumoAccount = "000000000000"

var kumoServer struct {
	once sync.Once
	srv  *kumo.Server
}

// closeKumo stops the shared kumo server if a check started it.
func closeKumo() {
	if s := kumoServer.srv; s != nil {
		s.Close()
	}
}

func kumoEnv(t *testing.T) *env {
	t.Helper()
	kumoServer.once.Do(func() { kumoServer.srv = kumo.NewServer() })
	cfg := aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAKUMOCONTRACT0001", "contract/kumo/secret", ""),
		BaseEndpoint: aws.String(kumoServer.srv.URL),
		HTTPClient:   fakeaws.HTTPClient(),
		Retryer:      fastRetryer,
	}
	return &env{backend: "kumo", account: kumoAccount, cfg: cfg, fix: &kumoFixtures{cfg: cfg}}
}

type kumoFixtures struct{ cfg aws.Config }

func (f *kumoFixtures) user(t *testing.T, name string, n int) []string {
	t.Helper()
	c := iamClient(f.cfg)
	if _, err := c.CreateUser(t.Context(), &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatalf("kumo fixture: CreateUser: %v", err)
	}
	var ids []string
	for range n {
		out, err := c.CreateAccessKey(t.Context(), &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		if err != nil {
			t.Fatalf("kumo fixture: CreateAccessKey: %v", err)
		}
		ids = append(ids, aws.ToString(out.AccessKey.AccessKeyId))
	}
	return ids
}

func (f *kumoFixtures) role(t *testing.T, name, trust string) {
	t.Helper()
	_, err := iamClient(f.cfg).CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatalf("kumo fixture: CreateRole: %v", err)
	}
}

func (f *kumoFixtures) bucket(t *testing.T, name string) {
	t.Helper()
	if _, err := s3Client(f.cfg).CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("kumo fixture: CreateBucket: %v", err)
	}
}

func (f *kumoFixtures) network(t *testing.T) (string, string) {
	t.Helper()
	c := ec2Client(f.cfg)
	v, err := c.CreateVpc(t.Context(), &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("kumo fixture: CreateVpc: %v", err)
	}
	vpc := aws.ToString(v.Vpc.VpcId)
	s, err := c.CreateSubnet(t.Context(), &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String("10.0.1.0/24")})
	if err != nil {
		t.Fatalf("kumo fixture: CreateSubnet: %v", err)
	}
	return vpc, aws.ToString(s.Subnet.SubnetId)
}

func (f *kumoFixtures) instance(t *testing.T, subnetID string) string {
	t.Helper()
	out, err := ec2Client(f.cfg).RunInstances(t.Context(), &ec2.RunInstancesInput{ImageId: aws.String("ami-0abcdef1234567890"),
		InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnetID)})
	if err != nil {
		t.Fatalf("kumo fixture: RunInstances: %v", err)
	}
	if len(out.Instances) != 1 {
		t.Fatalf("kumo fixture: RunInstances returned %d instances, want 1", len(out.Instances))
	}
	return aws.ToString(out.Instances[0].InstanceId)
}

func (f *kumoFixtures) targetGroup(t *testing.T, name, vpcID string, instances []string) string {
	t.Helper()
	c := elbv2Client(f.cfg)
	out, err := c.CreateTargetGroup(t.Context(), &elbv2.CreateTargetGroupInput{Name: aws.String(name), Protocol: elbv2types.ProtocolEnumHttp,
		Port: aws.Int32(80), VpcId: aws.String(vpcID), TargetType: elbv2types.TargetTypeEnumInstance})
	if err != nil {
		t.Fatalf("kumo fixture: CreateTargetGroup: %v", err)
	}
	if len(out.TargetGroups) != 1 {
		t.Fatalf("kumo fixture: CreateTargetGroup returned %d groups, want 1", len(out.TargetGroups))
	}
	arn := aws.ToString(out.TargetGroups[0].TargetGroupArn)
	if len(instances) > 0 {
		var targets []elbv2types.TargetDescription
		for _, id := range instances {
			targets = append(targets, elbv2types.TargetDescription{Id: aws.String(id)})
		}
		if _, err := c.RegisterTargets(t.Context(), &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: targets}); err != nil {
			t.Fatalf("kumo fixture: RegisterTargets: %v", err)
		}
	}
	return arn
}
