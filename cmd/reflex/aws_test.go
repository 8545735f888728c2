package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reflexsec/reflex/internal/awstest"
	"github.com/reflexsec/reflex/internal/sandbox"
)

func TestDemo(t *testing.T) {
	code, out, errOut := runCLI(t, "", "demo")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"aws ec2          ModifyNetworkInterfaceAttribute",
		"ec2.contain", "iam.deactivate-key", "s3.block-public-access",
		"before → after:",
		"eni/eni-0a11111111111111b.Groups[sg-0a11111111111111b].GroupId: sg-0a11111111111111b → (absent)",
		"release (reflex release --finding ID)",
		"after release: identical to the state before",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

func TestIAMPolicy(t *testing.T) {
	code, out, errOut := runCLI(t, "", "iam-policy", "-c", "../../examples/reflex.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v struct {
		Steps      []string `json:"steps"`
		MemberRole struct {
			Name        string `json:"name"`
			Permissions struct {
				Statement []struct {
					Action []string `json:"Action"`
				} `json:"Statement"`
			} `json:"permissions_policy"`
			Trust struct {
				Statement []struct {
					Condition map[string]map[string]string `json:"Condition"`
				} `json:"Statement"`
			} `json:"trust_policy"`
		} `json:"member_role"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var actions []string
	for _, s := range v.MemberRole.Permissions.Statement {
		actions = append(actions, s.Action...)
	}
	all := strings.Join(actions, " ")
	for _, want := range []string{"ec2:ModifyNetworkInterfaceAttribute", "iam:UpdateAccessKey", "s3:PutBucketPublicAccessBlock", "autoscaling:DetachInstances"} {
		if !strings.Contains(all, want) {
			t.Errorf("policy lacks %s", want)
		}
	}
	for _, not := range []string{"ec2:StopInstances", "iam:DeleteLoginProfile", "ec2:ModifyInstanceAttribute\" \"ec2:TerminateInstances"} {
		if strings.Contains(all, not) {
			t.Errorf("policy has %s, which no step of the configuration needs", not)
		}
	}
	if v.MemberRole.Name != "reflex-responder" || v.MemberRole.Trust.Statement[0].Condition["StringEquals"]["sts:ExternalId"] != "reflex" {
		t.Errorf("trust: %+v", v.MemberRole)
	}
}

// TestRunAndReleaseCLI points the SDK's default chain at the sandbox
// (AWS_ENDPOINT_URL and the security account's key) and runs `reflex run`
// then `reflex release` as a user would.
func TestRunAndReleaseCLI(t *testing.T) {
	dir := t.TempDir()
	env, err := awstest.Start(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	ak, sk, _ := env.Cloud.Credentials(sandbox.Security)
	t.Setenv("AWS_ENDPOINT_URL", env.Server.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", ak)
	t.Setenv("AWS_SECRET_ACCESS_KEY", sk)
	t.Setenv("AWS_REGION", sandbox.Region)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_S3_USE_PATH_STYLE", "true")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ex, _ := os.ReadFile("../../examples/reflex.yaml")
	cfg := filepath.Join(dir, "reflex.yaml")
	os.WriteFile(cfg, awstest.EnforceConfig(ex, filepath.Join(dir, "ledger.db")), 0o600)
	raws, _, _ := sandbox.Raw()
	fpath := filepath.Join(dir, "ec2.json")
	os.WriteFile(fpath, raws["ec2"], 0o600)

	ctx := t.Context()
	before, err := env.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "run", "-c", cfg, fpath)
	if code != 0 {
		t.Fatalf("run: exit %d: %s\n%s", code, errOut, out)
	}
	if !strings.Contains(out, "ec2.contain") || strings.Contains(out, "failed") {
		t.Errorf("run output:\n%s", out)
	}
	in, _ := env.Cloud.Instance(sandbox.Prod, sandbox.Region, sandbox.Instance)
	if in.Interfaces[1].SecurityGroups[0] == sandbox.SGApp {
		t.Errorf("not isolated: %+v", in.Interfaces)
	}
	code, out, errOut = runCLI(t, "", "release", "-c", cfg, "--resource", sandbox.Instance)
	if code != 0 {
		t.Fatalf("release: exit %d: %s\n%s", code, errOut, out)
	}
	if !strings.Contains(out, "ec2.contain") || !strings.Contains(out, "undone") {
		t.Errorf("release output:\n%s", out)
	}
	after, _ := env.Snapshot(ctx)
	if d := awstest.Diff(before, after); len(d) > 0 {
		t.Errorf("after release:\n%s", strings.Join(d, "\n"))
	}
	code, out, _ = runCLI(t, "", "release", "-c", cfg, "--finding", "sandbox-ec2-tor-client")
	if code != 0 || strings.Contains(out, " undone") {
		t.Errorf("second release: exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI(t, "", "release", "-c", cfg); code != 2 {
		t.Errorf("release without selector: exit %d, want 2", code)
	}
}
