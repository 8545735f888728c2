package cloud_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/reflexsec/reflex/cloud"
	"github.com/reflexsec/reflex/internal/fakeaws"
	"github.com/reflexsec/reflex/internal/sandbox"
)

func TestRoleARN(t *testing.T) {
	for _, tc := range []struct{ role, want string }{
		{"reflex-responder", "arn:aws:iam::111111111111:role/reflex-responder"},
		{"arn:aws:iam::{account}:role/ops/reflex", "arn:aws:iam::111111111111:role/ops/reflex"},
		{"", ""},
	} {
		if got := (cloud.Account{Role: tc.role}).RoleARN("111111111111", ""); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.role, got, tc.want)
		}
	}
}

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&smithy.GenericAPIError{Code: "RequestLimitExceeded"}, true},
		{&smithy.GenericAPIError{Code: "Throttling"}, true},
		{&smithy.GenericAPIError{Code: "InvalidInstanceID.NotFound"}, false},
		{context.DeadlineExceeded, true},
		{context.Canceled, false},
		{errors.New("x"), false},
		{nil, false},
	} {
		if got := cloud.Retryable(tc.err); got != tc.want {
			t.Errorf("%v: %v", tc.err, got)
		}
	}
}

// securityAccount starts the sandbox test cloud and returns it with the
// SDK configuration of its security account (where reflex runs).
func securityAccount(t *testing.T, opts ...fakeaws.Option) (*fakeaws.Cloud, aws.Config) {
	t.Helper()
	c, err := sandbox.Cloud(opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := fakeaws.NewTestServer(t, c)
	ak, sk, _ := c.Credentials(sandbox.Security)
	return c, srv.ConfigFor(ak, sk, "", sandbox.Region)
}

// TestAssumeRole: the member account is reached through its role with the
// external id; a wrong external id is refused with the role named; the
// credentials are cached (one AssumeRole for many clients).
func TestAssumeRole(t *testing.T) {
	c, base := securityAccount(t, fakeaws.WithSeed(1))
	ctx := context.Background()

	cl := cloud.FromConfig(base, sandbox.Accounts, cloud.Options{})
	cfg, err := cl.Config(ctx, sandbox.Prod, sandbox.Region)
	if err != nil {
		t.Fatal(err)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *id.Account != sandbox.Prod {
		t.Fatalf("identity %v %v", id, err)
	}
	for range 3 {
		if _, err := cl.EC2(ctx, sandbox.Prod, sandbox.Region); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.CallsTo("sts", "AssumeRole")); n != 1 {
		t.Errorf("%d AssumeRole calls, want 1 (cached)", n)
	}
	// the home account is used as it is
	home, err := cl.Config(ctx, sandbox.Security, sandbox.Region)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := sts.NewFromConfig(home).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); *id.Account != sandbox.Security {
		t.Errorf("home: %s", *id.Account)
	}
	bad := cloud.FromConfig(base, []cloud.Account{{ID: "*", Role: sandbox.ResponderRole, ExternalID: "wrong"}}, cloud.Options{})
	if _, err := bad.Config(ctx, sandbox.Prod, sandbox.Region); err == nil || !strings.Contains(err.Error(), "reflex-responder") {
		t.Errorf("wrong external id: %v", err)
	}
}

// TestObserveNamesEveryCall: Observe sees the service and operation of
// every client's calls, those generated on the newer runtime (Security
// Hub) as well as the others.
func TestObserveNamesEveryCall(t *testing.T) {
	_, base := securityAccount(t, fakeaws.WithSeed(1))
	var mu sync.Mutex
	var seen []string
	cl := cloud.FromConfig(base, sandbox.Accounts, cloud.Options{Observe: func(call cloud.Call) {
		mu.Lock()
		seen = append(seen, call.Service+":"+call.Operation)
		mu.Unlock()
	}})
	ctx := context.Background()
	hub, err := cl.SecurityHub(ctx, sandbox.Prod, sandbox.Region)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hub.GetFindings(ctx, &securityhub.GetFindingsInput{}); err != nil {
		t.Fatal(err)
	}
	e, err := cl.EC2(ctx, sandbox.Prod, sandbox.Region)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, []string{"SecurityHub:GetFindings", "EC2:DescribeInstances"}) {
		t.Errorf("observed %q", seen)
	}
}

// TestCredentialsPerAccount: one AssumeRole serves every region of an
// account; a failed AssumeRole is not cached (the next use tries again);
// Prewarm assumes the role before any client is asked for, and names the
// accounts it could not reach.
func TestCredentialsPerAccount(t *testing.T) {
	c, base := securityAccount(t, fakeaws.WithSeed(1))
	ctx := context.Background()

	c.InjectFault(fakeaws.Fault{Service: "sts", Operation: "AssumeRole", Nth: 1, Code: "AccessDenied", Status: 403})
	cl := cloud.FromConfig(base, sandbox.Accounts, cloud.Options{})
	if _, err := cl.EC2(ctx, sandbox.Prod, "us-east-1"); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("first AssumeRole refused: %v", err)
	}
	for _, region := range []string{"us-east-1", "eu-west-1", "us-east-1"} {
		if _, err := cl.EC2(ctx, sandbox.Prod, region); err != nil {
			t.Fatalf("%s after a refused AssumeRole: %v", region, err)
		}
	}
	if n := len(c.CallsTo("sts", "AssumeRole")); n != 2 {
		t.Errorf("%d AssumeRole calls, want 2 (the refused one, then one for both regions)", n)
	}

	c.ResetCalls()
	warm := cloud.FromConfig(base, sandbox.Accounts, cloud.Options{})
	if err := warm.Prewarm(ctx, sandbox.Prod); err != nil {
		t.Fatal(err)
	}
	if n := len(c.CallsTo("sts", "AssumeRole")); n != 1 {
		t.Fatalf("%d AssumeRole calls after Prewarm, want 1", n)
	}
	e, err := warm.EC2(ctx, sandbox.Prod, sandbox.Region)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
		t.Fatal(err)
	}
	if n := len(c.CallsTo("sts", "AssumeRole")); n != 1 {
		t.Errorf("%d AssumeRole calls after a prewarmed account's first call, want 1", n)
	}
	bad := cloud.FromConfig(base, []cloud.Account{{ID: "*", Role: sandbox.ResponderRole, ExternalID: "wrong"}}, cloud.Options{})
	if err := bad.Prewarm(ctx, sandbox.Prod); err == nil || !strings.Contains(err.Error(), sandbox.Prod) {
		t.Errorf("prewarm with a wrong external id: %v", err)
	}
}

// TestKeepWarmRenews: credentials close to expiry are renewed by KeepWarm
// in the background; fresh ones are left alone.
func TestKeepWarmRenews(t *testing.T) {
	for _, tc := range []struct {
		name    string
		skew    time.Duration // the test cloud's clock, behind: its credentials expire sooner
		renewed bool
	}{
		{"fresh credentials", 0, false},
		{"credentials about to expire", -57 * time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, base := securityAccount(t, fakeaws.WithSeed(1), fakeaws.WithClock(func() time.Time { return time.Now().Add(tc.skew) }))
			cl := cloud.FromConfig(base, sandbox.Accounts, cloud.Options{})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				cl.KeepWarm(ctx, []string{sandbox.Prod}, 5*time.Millisecond, func(err error) { t.Error(err) })
			}()
			wait := 100 * time.Millisecond // twenty intervals
			if tc.renewed {
				wait = 10 * time.Second // or until renewed twice
			}
			for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if tc.renewed && len(c.CallsTo("sts", "AssumeRole")) >= 3 {
					break
				}
			}
			cancel()
			<-done
			n := len(c.CallsTo("sts", "AssumeRole"))
			if tc.renewed && n < 3 {
				t.Errorf("%d AssumeRole calls: credentials about to expire were not renewed", n)
			}
			if !tc.renewed && n != 1 {
				t.Errorf("%d AssumeRole calls: fresh credentials were renewed", n)
			}
		})
	}
}
