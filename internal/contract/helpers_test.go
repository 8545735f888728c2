package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

func iamClient(cfg aws.Config) *iam.Client     { return iam.NewFromConfig(cfg) }
func ec2Client(cfg aws.Config) *ec2.Client     { return ec2.NewFromConfig(cfg) }
func elbv2Client(cfg aws.Config) *elbv2.Client { return elbv2.NewFromConfig(cfg) }
func sqsClient(cfg aws.Config) *sqs.Client     { return sqs.NewFromConfig(cfg) }
func snsClient(cfg aws.Config) *sns.Client     { return sns.NewFromConfig(cfg) }
func stsClient(cfg aws.Config) *sts.Client     { return sts.NewFromConfig(cfg) }

// s3Client addresses buckets by path: neither emulator serves
// virtual-hosted bucket names on a loopback address.
func s3Client(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode JSON: %w", err)
	}
	return string(b), nil
}

// errorCode returns the AWS error code of err, "" for nil. An error that
// is not an AWS API error fails the check.
func errorCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an AWS API error: %v", err)
	}
	return ae.ErrorCode()
}

// wantCode fails unless err is an AWS API error with one of the codes.
func wantCode(t *testing.T, err error, codes ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded, want error %v", codes)
	}
	got := errorCode(t, err)
	for _, c := range codes {
		if got == c {
			return
		}
	}
	t.Fatalf("error code = %q, want one of %v (err: %v)", got, codes, err)
}

// wantAs fails unless err wraps the typed SDK error T.
func wantAs[T error](t *testing.T, err error) {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error = %v (%T), want %T", err, err, target)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// targetGroupARN looks a target group up by name.
func targetGroupARN(t *testing.T, cfg aws.Config, name string) string {
	t.Helper()
	out, err := elbv2Client(cfg).DescribeTargetGroups(t.Context(), &elbv2.DescribeTargetGroupsInput{Names: []string{name}})
	must(t, "DescribeTargetGroups", err)
	if len(out.TargetGroups) != 1 {
		t.Fatalf("DescribeTargetGroups(%s) returned %d groups, want 1", name, len(out.TargetGroups))
	}
	return aws.ToString(out.TargetGroups[0].TargetGroupArn)
}
