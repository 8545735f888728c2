package fakeaws_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/reflexsec/reflex/internal/fakeaws"
)

func TestFaultThrottlingIsRetried(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	tests := []struct {
		name      string
		fault     fakeaws.Fault
		call      func() error
		svc, op   string
		wantCalls int
		errCode   string // final error
		callCode  string // error code logged on the failed attempts
	}{
		{
			name:  "ec2 scripted throttling, then success",
			fault: fakeaws.Fault{Service: "ec2", Operation: "DescribeInstances", Nth: 1, Times: 2, Code: "RequestLimitExceeded", Status: 503},
			call: func() error {
				_, err := ec2.NewFromConfig(srv.Config(prod)).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
				return err
			},
			svc: "ec2", op: "DescribeInstances", wantCalls: 3, callCode: "RequestLimitExceeded",
		},
		{
			name:  "iam always throttled: SDK gives up after 3 attempts",
			fault: fakeaws.Fault{Service: "iam", Operation: "GetUser", ThrottleRate: 1},
			call: func() error {
				_, err := iam.NewFromConfig(srv.Config(prod)).GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
				return err
			},
			svc: "iam", op: "GetUser", wantCalls: 3, errCode: "Throttling", callCode: "Throttling",
		},
		{
			name:  "sqs throttled uses the query-compatible code",
			fault: fakeaws.Fault{Service: "sqs", Operation: "GetQueueUrl", ThrottleRate: 1},
			call: func() error {
				_, err := sqs.NewFromConfig(srv.Config(prod)).GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("reflex-findings")})
				return err
			},
			svc: "sqs", op: "GetQueueUrl", wantCalls: 3, errCode: "RequestThrottled", callCode: "RequestThrottled",
		},
		{
			name:  "guardduty 5xx then success",
			fault: fakeaws.Fault{Service: "guardduty", Operation: "ListDetectors", Nth: 1, Code: "InternalServerErrorException", Status: 500},
			call: func() error {
				_, err := guardduty.NewFromConfig(srv.Config(prod)).ListDetectors(ctx, &guardduty.ListDetectorsInput{})
				return err
			},
			svc: "guardduty", op: "ListDetectors", wantCalls: 2, callCode: "InternalServerErrorException",
		},
		{
			name:  "s3 server errors",
			fault: fakeaws.Fault{Service: "s3", ErrorRate: 1},
			call: func() error {
				_, err := s3.NewFromConfig(srv.Config(prod)).GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("prod-data-111111111111")})
				return err
			},
			svc: "s3", op: "GetPublicAccessBlock", wantCalls: 3, errCode: "InternalError", callCode: "InternalError",
		},
		{
			name:  "scripted AccessDenied is not retried",
			fault: fakeaws.Fault{Service: "iam", Operation: "UpdateAccessKey", Nth: 1, Code: "AccessDenied", Status: 403, Message: "not allowed"},
			call: func() error {
				_, err := iam.NewFromConfig(srv.Config(prod)).UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"),
					AccessKeyId: aws.String(aliceKey1), Status: iamtypes.StatusTypeInactive})
				return err
			},
			svc: "iam", op: "UpdateAccessKey", wantCalls: 1, errCode: "AccessDenied", callCode: "AccessDenied",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.Cloud.ResetCalls()
			remove := srv.Cloud.InjectFault(tc.fault)
			defer remove()
			wantCode(t, tc.call(), tc.errCode)
			calls := srv.Cloud.CallsTo(tc.svc, tc.op)
			if len(calls) != tc.wantCalls {
				t.Fatalf("%d calls logged, want %d: %+v", len(calls), tc.wantCalls, calls)
			}
			if calls[0].ErrorCode != tc.callCode || calls[0].Fault == "" || calls[0].Account != prod {
				t.Fatalf("first call = %+v", calls[0])
			}
			if tc.errCode == "" && calls[len(calls)-1].Status != http.StatusOK {
				t.Fatalf("last call = %+v", calls[len(calls)-1])
			}
		})
	}
	// The AccessDenied fault hit only the first call: the next one works.
	_, err := iam.NewFromConfig(srv.Config(prod)).UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"),
		AccessKeyId: aws.String(aliceKey1), Status: iamtypes.StatusTypeInactive})
	must(t, err)
}

func TestFaultLatencyAccountAndCallLog(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	srv.Cloud.InjectFault(fakeaws.Fault{Service: "ec2", Account: security, Latency: 60 * time.Millisecond})
	srv.Cloud.InjectFault(fakeaws.Fault{Service: "ec2", Account: security, Operation: "ModifyNetworkInterfaceAttribute", Code: "UnauthorizedOperation", Status: 403})

	// prod is untouched by the security account's faults.
	c := ec2.NewFromConfig(srv.Config(prod))
	_, err := c.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(eni2), Groups: []string{sgAdm, sgApp}})
	must(t, err)
	sec := ec2.NewFromConfig(srv.Config(security))
	start := time.Now()
	_, err = sec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	must(t, err)
	if time.Since(start) < 60*time.Millisecond {
		t.Fatalf("no latency: %v", time.Since(start))
	}
	_, err = sec.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String("eni-0b0"), Groups: []string{"sg-1"}})
	wantCode(t, err, "UnauthorizedOperation")

	calls := srv.Cloud.Calls()
	if len(calls) != 3 {
		t.Fatalf("calls = %+v", calls)
	}
	m := calls[0]
	if m.Operation != "ModifyNetworkInterfaceAttribute" || m.Service != "ec2" || m.Account != prod || m.Region != "us-east-1" ||
		m.Params["NetworkInterfaceId"] != eni2 || m.Params["SecurityGroupId.1"] != sgAdm || m.Params["SecurityGroupId.2"] != sgApp ||
		m.Principal != "arn:aws:iam::111111111111:root" || m.End.Before(m.Start) || m.Status != 200 {
		t.Fatalf("call = %+v", m)
	}
	if d := calls[1]; d.Account != security || d.End.Sub(d.Start) < 60*time.Millisecond || d.Fault != "latency" {
		t.Fatalf("latency call = %+v", d)
	}
	if f := calls[2]; f.Status != 403 || f.ErrorCode != "UnauthorizedOperation" || f.Fault != "scripted" {
		t.Fatalf("failed call = %+v", f)
	}

	// JSON parameters are flattened with 1-based indexes.
	srv.Cloud.ResetCalls()
	gd := guardduty.NewFromConfig(srv.Config(prod))
	_, _ = gd.GetFindings(ctx, &guardduty.GetFindingsInput{DetectorId: aws.String("12abc34d567e8fa901bc2d34e56789f0"), FindingIds: []string{"a", "b"}})
	g := srv.Cloud.Calls()[0]
	if g.Operation != "GetFindings" || g.Params["DetectorId"] != "12abc34d567e8fa901bc2d34e56789f0" || g.Params["findingIds.2"] != "b" {
		t.Fatalf("guardduty call = %+v", g)
	}
	srv.Cloud.ClearFaults()
	srv.Cloud.SetLatency(0)
	_, err = sec.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String("eni-0b0"), Groups: []string{"sg-1"}})
	wantCode(t, err, "InvalidNetworkInterfaceID.NotFound")
}

func TestMissingAuthAndUnknownAction(t *testing.T) {
	srv := newServer(t)
	resp, err := http.Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader("Action=GetUser&Version=2010-05-08"))
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("unauthenticated: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("Action=RunInstances&Version=2016-11-15"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAFAKEPROD00000001/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00")
	resp2, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp2.Body.Close()
	if resp2.StatusCode != 400 {
		t.Fatalf("unknown action: %d", resp2.StatusCode)
	}
	if c := srv.Cloud.Calls(); len(c) != 1 || c[0].ErrorCode != "InvalidAction" || c[0].Operation != "RunInstances" {
		t.Fatalf("calls = %+v", c)
	}
}

// Many clients at once: state stays consistent (run with -race).
func TestConcurrentCalls(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	c := ec2.NewFromConfig(srv.Config(prod))
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			var err error
			if i%2 == 0 {
				_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			} else {
				_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{web1},
					Tags: []types.Tag{{Key: aws.String("k" + string(rune('a'+i%26))), Value: aws.String("v")}}})
			}
			errs <- err
		}()
	}
	for range 40 {
		must(t, <-errs)
	}
	if n := len(srv.Cloud.Calls()); n != 40 {
		t.Fatalf("%d calls logged, want 40", n)
	}
}

// TestFaultHoldAppliesThenWithholdsTheAnswer: a call under a Hold fault is
// applied at once, and its answer held; a caller that gives up meanwhile
// (as a killed process would) never learns it succeeded, yet the change is
// made and the call log records it as a success.
func TestFaultHoldAppliesThenWithholdsTheAnswer(t *testing.T) {
	srv := newServer(t)
	srv.Cloud.InjectFault(fakeaws.Fault{Service: "ec2", Operation: "CreateTags", Hold: time.Minute})
	c := ec2.NewFromConfig(srv.Config(prod))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{web1}, Tags: []types.Tag{{Key: aws.String("held"), Value: aws.String("yes")}}},
		func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
	if err == nil {
		t.Fatal("the held answer arrived")
	}
	in, _ := srv.Cloud.Instance(prod, "", web1)
	if in.Tags["held"] != "yes" {
		t.Errorf("the held call was not applied: tags %v", in.Tags)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Cloud.CallsTo("ec2", "CreateTags")) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the handler ends when it sees the caller gone
	}
	calls := srv.Cloud.CallsTo("ec2", "CreateTags")
	if len(calls) != 1 || calls[0].ErrorCode != "" || calls[0].Status != http.StatusOK {
		t.Errorf("call log: %+v", calls)
	}
	// other operations answer at once
	if _, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{web1}}); err != nil {
		t.Fatal(err)
	}
}
