package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSandboxServesSDKClients(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "--listen", "127.0.0.1:0", "--latency", "1ms", "-o", "json"},
			streams{in: strings.NewReader(""), out: &out, err: &errb})
	}()

	var info sandboxInfo
	deadline := time.Now().Add(10 * time.Second)
	for json.Unmarshal([]byte(out.String()), &info) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("sandbox printed nothing usable: %q / %q", out.String(), errb.String())
		}
		select {
		case code := <-done:
			t.Fatalf("sandbox exited early with %d: %s", code, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !strings.HasPrefix(info.Endpoint, "http://127.0.0.1:") || len(info.Accounts) != 2 {
		t.Fatalf("info = %+v", info)
	}
	a := info.Accounts[0]
	cfg := aws.Config{Region: info.Region, BaseEndpoint: aws.String(info.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(a.AccessKeyID, a.SecretAccessKey, "")}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != a.ID {
		t.Fatalf("account = %s, want %s", aws.ToString(id.Account), a.ID)
	}
	di, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(di.Reservations) == 0 {
		t.Fatal("no instances in the default scenario")
	}

	// The SDK's default configuration chain, pointed at the sandbox with
	// AWS_ENDPOINT_URL, as a user of reflex (or of any SDK) would.
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": info.Endpoint, "AWS_REGION": info.Region,
		"AWS_ACCESS_KEY_ID": info.Accounts[1].AccessKeyID, "AWS_SECRET_ACCESS_KEY": info.Accounts[1].SecretAccessKey,
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PROFILE": "", "AWS_SESSION_TOKEN": ""} {
		t.Setenv(k, v)
	}
	envCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err = sts.NewFromConfig(envCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != info.Accounts[1].ID {
		t.Fatalf("AWS_ENDPOINT_URL account = %s", aws.ToString(id.Account))
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit code %d: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not stop")
	}
}

func TestSandboxTextOutput(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "--listen", "127.0.0.1:0"}, streams{in: strings.NewReader(""), out: &out, err: &out})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Ctrl-C") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	for _, want := range []string{"fakeaws listening on http://127.0.0.1:", "export AWS_ENDPOINT_URL=", "AWS_ACCESS_KEY_ID=AKIAFAKEPROD00000001"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSandboxBadUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad listen", []string{"sandbox", "--listen", "nope"}, "--listen"},
		{"missing scenario", []string{"sandbox", "--listen", "127.0.0.1:0", "--scenario", "/nonexistent/s.yaml"}, "scenario"},
		{"negative latency", []string{"sandbox", "--latency", "-1s"}, "--latency"},
		{"extra argument", []string{"sandbox", "x"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, streams{in: strings.NewReader(""), out: &out, err: &errb})
			if code != exitInvalid || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("code %d stderr %q", code, errb.String())
			}
		})
	}
}
