package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/reflexsec/reflex/internal/fakeaws"
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

	code, out, errOut := runCLI(t, "", append(args, "--dry-run")...)
	if code != 0 || !strings.Contains(out, "+ guardduty:CreateDetector detector") || !strings.Contains(out, "+ events:PutRule reflex-findings-00") ||
		!strings.Contains(out, "3 would change (dry run: nothing was changed)") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := len(srv.Cloud.CallsTo("guardduty", "CreateDetector")); n != 0 {
		t.Fatalf("dry run created %d detectors", n)
	}
	code, out, errOut = runCLI(t, "", args...)
	if code != 0 || !strings.Contains(out, "3 changed") {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", append(args, "-o", "json")...)
	var rep struct {
		Changes   []any
		Unchanged []string
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Changes) != 0 || len(rep.Unchanged) != 3 {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
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
