package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/internal/fakeaws"
	"github.com/reflexsec/reflex/internal/lambdazip"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/setup"
)

// awsEnv points the SDK's default chain at the test cloud, as a user points
// it at any endpoint with AWS_ENDPOINT_URL.
func awsEnv(t *testing.T, srv *fakeaws.Server, account, region string) {
	t.Helper()
	ak, sk, _ := srv.Cloud.Credentials(account)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": srv.URL, "AWS_ACCESS_KEY_ID": ak, "AWS_SECRET_ACCESS_KEY": sk, "AWS_REGION": region,
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PROFILE": "", "AWS_SESSION_TOKEN": "",
	} {
		t.Setenv(k, v)
	}
}

func TestSetupCommand(t *testing.T) {
	srv := fakeaws.NewTestServer(t, nil)
	awsEnv(t, srv, "111111111111", "eu-west-1")
	target := "arn:aws:sqs:eu-west-1:111111111111:reflex-findings"
	args := []string{"setup", "-c", "../../examples/reflex.yaml", "--target-arn", target}

	// examples/reflex.yaml contains with ec2.contain, through reflex's
	// groups, in the finding's account, "*": the groups are made in this
	// account's one VPC of eu-west-1 (5 calls), and "*" is told.
	groups := "reflex-untrack in vpc-0a22222222222222a (111111111111 eu-west-1)"
	code, out, errOut := runCLI(t, "", append(args, "--dry-run")...)
	if code != 0 || !strings.Contains(out, "+ guardduty:CreateDetector detector") || !strings.Contains(out, "+ events:PutRule reflex-findings-00") ||
		!strings.Contains(out, "+ ec2:CreateSecurityGroup "+groups) || !strings.Contains(out, "+ ec2:AuthorizeSecurityGroupIngress "+groups) ||
		!strings.Contains(out, `! accounts: "*" (role reflex-responder) stands for accounts setup cannot list`) ||
		!strings.Contains(out, "8 would change (dry run: nothing was changed)") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := len(srv.Cloud.CallsTo("guardduty", "CreateDetector")) + len(srv.Cloud.CallsTo("ec2", "CreateSecurityGroup")); n != 0 {
		t.Fatalf("dry run created %d detectors or groups", n)
	}
	code, out, errOut = runCLI(t, "", args...)
	if code != 0 || !strings.Contains(out, "8 changed") {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", append(args, "-o", "json")...)
	var rep struct {
		Changes   []any
		Unchanged []string
		Notes     []string
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Changes) != 0 || len(rep.Unchanged) != 5 || len(rep.Notes) != 1 {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
	// --no-isolation-groups: the VPCs are left alone.
	other := fakeaws.NewTestServer(t, nil)
	awsEnv(t, other, "111111111111", "eu-west-1")
	code, out, errOut = runCLI(t, "", append(args, "--no-isolation-groups")...)
	if code != 0 || !strings.Contains(out, "3 changed") || strings.Contains(out, "ec2:") || len(other.Cloud.CallsTo("ec2", "DescribeVpcs")) != 0 {
		t.Fatalf("--no-isolation-groups: exit %d\n%s\n%s", code, out, errOut)
	}
	awsEnv(t, srv, "111111111111", "eu-west-1")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"setup", "-c", "../../examples/reflex.yaml"}, "--target-arn"},
		{append(args, "--features", "s3,dns"), `"dns" is not a protection plan`},
		{append(args, "--frequency", "HOURLY"), "want FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS"},
		{[]string{"setup", "org"}, "give --admin-account ID"},
	}
	for _, tt := range tests {
		if code, _, errOut := runCLI(t, "", tt.args...); code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, %s", tt.args, code, errOut)
		}
	}
	code, out, errOut = runCLI(t, "", "setup", "org", "--admin-account", "222222222222", "--auto-enable", "ALL", "--features", "s3,eks")
	if code != 0 || !strings.Contains(out, "EnableOrganizationAdminAccount 222222222222") || !strings.Contains(out, "2 changed") {
		t.Errorf("org: exit %d\n%s\n%s", code, out, errOut)
	}
}

// fakeBootstrap is the headers of a static linux/arm64 executable: enough
// for setup's checks of a package (the test cloud does not run it).
func fakeBootstrap() []byte {
	var b bytes.Buffer
	b.Write([]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT), 0, 0, 0, 0, 0, 0, 0, 0, 0})
	for _, v := range []any{uint16(elf.ET_EXEC), uint16(elf.EM_AARCH64), uint32(elf.EV_CURRENT), uint64(0x400000), uint64(64), uint64(0),
		uint32(0), uint16(64), uint16(56), uint16(0), uint16(64), uint16(0), uint16(0)} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	return b.Bytes()
}

// lambdaZip writes a package like scripts/build-lambda.sh's, with config.
func lambdaZip(t *testing.T, config string) string {
	t.Helper()
	dir := t.TempDir()
	boot := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(boot, fakeBootstrap(), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "reflex-lambda-arm64.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := lambdazip.Write(f, boot, lambdazip.File{Name: "reflex.yaml", Path: config}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func mutatingCalls(srv *fakeaws.Server) []string {
	var out []string
	for _, c := range srv.Cloud.Calls() {
		if !strings.HasPrefix(c.Operation, "Get") && !strings.HasPrefix(c.Operation, "List") && !strings.HasPrefix(c.Operation, "Describe") {
			out = append(out, c.Service+":"+c.Operation)
		}
	}
	return out
}

// TestSetupLambdaCommand: `reflex setup --runtime lambda` deploys reflex
// from reflex.yaml and a package, once; its dry run calls nothing that
// changes anything; the second run changes nothing.
func TestSetupLambdaCommand(t *testing.T) {
	srv := fakeaws.NewTestServer(t, nil)
	awsEnv(t, srv, "111111111111", "eu-west-1")
	cfg := "../../examples/reflex.yaml"
	args := []string{"setup", "-c", cfg, "--runtime", "lambda", "--lambda-zip", lambdaZip(t, cfg), "--notify-email", "soc@example.com"}

	code, out, errOut := runCLI(t, "", append(args, "--dry-run")...)
	if code != 0 || !strings.Contains(out, "+ lambda:CreateFunction reflex") || !strings.Contains(out, "+ iam:PutRolePolicy reflex/reflex-response") ||
		!strings.Contains(out, "would change (dry run: nothing was changed)") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	if got := mutatingCalls(srv); len(got) != 0 {
		t.Fatalf("dry run made mutating calls: %v", got)
	}
	var rep struct {
		DryRun    bool
		Changes   []setup.Change
		Unchanged []string
	}
	code, out, errOut = runCLI(t, "", append(args, "-o", "json")...)
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Changes) < 18 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	first := len(rep.Changes)
	if got := len(mutatingCalls(srv)); got != first {
		t.Errorf("%d mutating calls for %d changes", got, first)
	}
	lc := lambda.NewFromConfig(srv.Config("111111111111"), func(o *lambda.Options) { o.Region = "eu-west-1" })
	fn, err := lc.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("reflex")})
	if err != nil || fn.Configuration.Environment.Variables["REFLEX_CONFIG"] != "reflex.yaml" ||
		fn.Configuration.Environment.Variables["REFLEX_LEDGER"] != "dynamodb://reflex-ledger" || fn.Configuration.Architectures[0] != "arm64" {
		t.Fatalf("function = %+v, %v", fn, err)
	}
	srv.Cloud.ResetCalls()
	code, out, errOut = runCLI(t, "", append(args, "-o", "json")...)
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Changes) != 0 || len(mutatingCalls(srv)) != 0 {
		t.Fatalf("second run: exit %d, calls %v\n%s\n%s", code, mutatingCalls(srv), out, errOut)
	}
	t.Logf("first run: %d changes; second run: %d calls, none mutating", first, len(srv.Cloud.Calls()))

	// A package of another configuration.
	orig, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "reflex.yaml")
	if err := os.WriteFile(other, append(orig, "# edited\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"setup", "-c", cfg, "--runtime", "lambda", "--lambda-zip", "missing.zip"}, "--lambda-zip missing.zip: no such file (build it: scripts/build-lambda.sh"},
		{[]string{"setup", "-c", cfg, "--runtime", "lambda", "--lambda-zip", lambdaZip(t, other)}, "differs from"},
		{append(args, "--architecture", "x86_64"), "not --architecture x86_64"},
		{append(args, "--log-retention-days", "10"), "log retention 10 days"},
		{append(args, "--target-arn", "arn:aws:sqs:eu-west-1:111111111111:q"), "not both"},
	}
	for _, tt := range tests {
		if code, _, errOut := runCLI(t, "", tt.args...); code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, %s", tt.args[4:], code, errOut)
		}
	}
}

// TestSetupFromItsOwnBinary: the release-like static binary packages itself
// with the configuration; the function's code is that package, and a second
// run uploads nothing.
func TestSetupFromItsOwnBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := reflexBinary(t)
	srv := fakeaws.NewTestServer(t, nil)
	awsEnv(t, srv, "111111111111", "eu-west-1")
	cfg, err := filepath.Abs("../../examples/reflex.yaml")
	if err != nil {
		t.Fatal(err)
	}
	run := func() (int, []setup.Change) {
		cmd := exec.Command(bin, "setup", "-c", cfg, "--runtime", "lambda", "--architecture", map[string]string{"amd64": "x86_64", "arm64": "arm64"}[runtime.GOARCH], "-o", "json")
		out, err := cmd.Output()
		var rep struct{ Changes []setup.Change }
		if err != nil || json.Unmarshal(out, &rep) != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("reflex setup: %v\n%s\n%s", err, out, ee.Stderr)
			}
			t.Fatalf("reflex setup: %v\n%s", err, out)
		}
		return cmd.ProcessState.ExitCode(), rep.Changes
	}
	if code, changes := run(); code != 0 || len(changes) < 17 {
		t.Fatalf("first run: exit %d, %d changes", code, len(changes))
	}
	zip, _, _, err := setup.Package(setup.PackageFrom{Executable: bin, GOOS: "linux", GOARCH: runtime.GOARCH, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	lc := lambda.NewFromConfig(srv.Config("111111111111"), func(o *lambda.Options) { o.Region = "eu-west-1" })
	fn, err := lc.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("reflex")})
	if err != nil || aws.ToString(fn.Configuration.CodeSha256) != setup.CodeSha256(zip) {
		t.Fatalf("function code = %v, want the binary's package %s (%v)", aws.ToString(fn.Configuration.CodeSha256), setup.CodeSha256(zip), err)
	}
	srv.Cloud.ResetCalls()
	if code, changes := run(); code != 0 || len(changes) != 0 || len(mutatingCalls(srv)) != 0 {
		t.Fatalf("second run: exit %d, changes %v, calls %v", code, changes, mutatingCalls(srv))
	}
}

// TestIsolationGroupsOfTheConfiguration: setup makes the groups the
// configuration's steps put on interfaces, where reflex acts.
func TestIsolationGroupsOfTheConfiguration(t *testing.T) {
	tests := []struct {
		name     string
		steps    string
		accounts string
		want     string // kinds, then accounts with their regions
	}{
		{"ec2.contain", "[{step: ec2.contain}]", "", "untrack,isolate"},
		{"ec2.isolate with its own isolation group", "[{step: ec2.isolate, params: {isolation_group: sg-0123456789abcdef0}}]", "", "untrack"},
		{"no pass through the untrack group", "[{step: ec2.contain, params: {untrack_first: false}}]", "", "isolate"},
		{"own group and no untrack: none", "[{step: ec2.isolate, params: {isolation_group: sg-0123456789abcdef0, untrack_first: false}}]", "", ""},
		{"no isolating step", "[{step: ec2.protect}, {step: notify}]", "", ""},
		{"the accounts", "[{step: ec2.contain}]",
			`[{id: "*", role: reflex-responder, external_id: x}, {id: "333333333333", role: r, regions: [eu-west-1, us-east-1]}]`,
			"untrack,isolate * reflex-responder x; 333333333333 r  eu-west-1,us-east-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := "rules:\n  - name: r\n    pattern: {source: [aws.guardduty]}\n    steps: " + tc.steps + "\n  - name: off\n    disabled: true\n    pattern: {source: [x]}\n    steps: [{step: ec2.isolate}]\n"
			if tc.accounts != "" {
				cfg += "accounts: " + tc.accounts + "\n"
			}
			path := filepath.Join(t.TempDir(), "reflex.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := policy.Load(path, action.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if g := isolationGroups(p); g != nil {
				got = strings.Join(g.Kinds, ",")
				var as []string
				for _, a := range g.Accounts {
					as = append(as, strings.TrimSpace(a.ID+" "+a.Role+" "+a.ExternalID+" "+strings.Join(a.Regions, ",")))
				}
				if len(as) > 0 {
					got += " " + strings.Join(as, "; ")
				}
			}
			if got != tc.want {
				t.Errorf("isolation groups = %q, want %q", got, tc.want)
			}
		})
	}
}
