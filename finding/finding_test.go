package finding

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const findingsDir = "../testdata/findings"

// provenanceRow is one row of testdata/findings/PROVENANCE.md: what the
// person who collected the file recorded about it, independently of this
// parser.
type provenanceRow struct {
	file, typ, resourceType, action, sample string
}

func provenance(t *testing.T) []provenanceRow {
	t.Helper()
	f, err := os.Open(filepath.Join(findingsDir, "PROVENANCE.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []provenanceRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, " | ")
		if len(cells) < 5 {
			continue
		}
		unq := func(s string) string { return strings.Trim(strings.TrimSpace(s), "|` ") }
		rows = append(rows, provenanceRow{file: unq(cells[0]), typ: unq(cells[1]), resourceType: unq(cells[2]), action: unq(cells[3]), sample: unq(cells[4])})
	}
	if len(rows) != 38 {
		t.Fatalf("PROVENANCE.md lists %d files, want 38", len(rows))
	}
	return rows
}

func parseFile(t *testing.T, path string) ([]*Finding, []error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return ParseBytes(path, b)
}

// TestBundledFindings parses every bundled file and checks it against what
// PROVENANCE.md records: type, resource type, action type and sample flag.
func TestBundledFindings(t *testing.T) {
	for _, row := range provenance(t) {
		t.Run(row.file, func(t *testing.T) {
			fs, errs := parseFile(t, filepath.Join(findingsDir, row.file))
			if strings.HasPrefix(row.file, "non-finding-events/") {
				if len(fs) != 0 || len(errs) != 1 {
					t.Fatalf("got %d findings, %d errors; want 0, 1", len(fs), len(errs))
				}
				var re *RecordError
				if !errors.As(errs[0], &re) || !re.NotFinding || !strings.Contains(re.Msg, "not a GuardDuty finding") {
					t.Fatalf("error = %v, want a not-a-finding RecordError", errs[0])
				}
				return
			}
			if len(errs) != 0 || len(fs) != 1 {
				t.Fatalf("got %d findings, errors %v", len(fs), errs)
			}
			f := fs[0]
			if f.Type != row.typ {
				t.Errorf("type = %q, want %q", f.Type, row.typ)
			}
			wantRT := row.resourceType
			if wantRT == "-" {
				wantRT = ""
			}
			if f.Resource.ResourceType != wantRT {
				t.Errorf("resourceType = %q, want %q", f.Resource.ResourceType, wantRT)
			}
			action := ""
			if f.Service.Action != nil {
				action = f.Service.Action.ActionType
			}
			if strings.HasPrefix(row.action, "(none") {
				if action != "" {
					t.Errorf("action = %q, want none", action)
				}
			} else if action != row.action {
				t.Errorf("action = %q, want %q", action, row.action)
			}
			if sample, why := f.Sample(); sample != (row.sample == "yes") {
				t.Errorf("sample = %v (%s), want %s", sample, why, row.sample)
			}
			if f.ID == "" || f.AccountID == "" || f.Region == "" || f.Severity < 1 {
				t.Errorf("identity incomplete: %+v", f.Key())
			}
			if !json.Valid(f.Raw) || !json.Valid(f.Event()) {
				t.Error("Raw or Event is not valid JSON")
			}
			if f.UpdatedAt.Time.IsZero() {
				t.Errorf("updatedAt %q not read", f.UpdatedAt.Raw)
			}
		})
	}
}

// TestFindingFields checks real values of the bundled findings, read off the
// files by hand.
func TestFindingFields(t *testing.T) {
	get := func(t *testing.T, name string) *Finding {
		fs, errs := parseFile(t, filepath.Join(findingsDir, name))
		if len(errs) > 0 || len(fs) != 1 {
			t.Fatalf("%s: %v", name, errs)
		}
		return fs[0]
	}
	tests := []struct {
		file  string
		check func(t *testing.T, f *Finding)
	}{
		{"Backdoor_EC2_Spambot__o7conseils.json", func(t *testing.T, f *Finding) {
			want := Key{AccountID: "303697492861", Region: "ca-central-1", ID: "7ebc050b71c556086b524045c9067feb"}
			if f.Key() != want {
				t.Errorf("key = %+v", f.Key())
			}
			if f.Origin.Shape != ShapeEvent || f.Severity != 5 || f.Band() != BandMedium || f.Service.Count != 1 {
				t.Errorf("shape %s severity %v band %s count %d", f.Origin.Shape, f.Severity, f.Band(), f.Service.Count)
			}
			if got := f.CreatedAt.Time; !got.Equal(time.Date(2021, 3, 7, 0, 29, 35, 498e6, time.UTC)) {
				t.Errorf("createdAt = %v", got)
			}
			d := f.Resource.InstanceDetails
			if d == nil || d.InstanceID != "i-99999999" || len(d.NetworkInterfaces) != 1 || d.NetworkInterfaces[0].NetworkInterfaceID != "eni-bfcffe88" {
				t.Fatalf("instance details = %+v", d)
			}
			if d.LaunchTime.Time.IsZero() || d.IAMInstanceProfile == nil || d.IAMInstanceProfile.ID != "GeneratedFindingInstanceProfileId" {
				t.Errorf("launchTime %v profile %+v", d.LaunchTime, d.IAMInstanceProfile)
			}
			nc := f.Service.Action.NetworkConnectionAction
			if nc == nil || nc.RemotePortDetails == nil || nc.RemotePortDetails.Port != 25 {
				t.Errorf("network connection = %+v", nc)
			}
			// The event is the original bytes: its envelope id is the delivery's, not the finding's.
			if !bytes.Contains(f.Event(), []byte(`"860d8fdd-3d43-d844-370b-0fb08d1b661d"`)) {
				t.Error("Event() is not the original event")
			}
			refs := f.Resources()
			if len(refs) != 1 || refs[0].Kind != KindInstance || refs[0].ARN != "arn:aws:ec2:ca-central-1:303697492861:instance/i-99999999" {
				t.Errorf("resources = %+v", refs)
			}
		}},
		{"Recon_EC2_Portscan__elastic.json", func(t *testing.T, f *Finding) {
			if f.Origin.Shape != ShapeFinding || f.Service.Count != 4 || f.AccountID != "973743533182" || f.Region != "us-east-2" {
				t.Errorf("shape %s count %d account %s region %s", f.Origin.Shape, f.Service.Count, f.AccountID, f.Region)
			}
			if !f.Service.EventFirstSeen.Time.Equal(time.Date(2022, 1, 12, 19, 22, 44, 0, time.UTC)) {
				t.Errorf("firstSeen = %v", f.Service.EventFirstSeen)
			}
			if !f.Service.EventLastSeen.Time.After(f.Service.EventFirstSeen.Time) {
				t.Error("lastSeen not after firstSeen")
			}
			nc := f.Service.Action.NetworkConnectionAction
			if nc.RemoteIPDetails.IP() != "81.2.69.144" || nc.LocalIPDetails.IPAddressV4 != "10.0.0.23" {
				t.Errorf("ips = %s %s", nc.RemoteIPDetails.IP(), nc.LocalIPDetails.IPAddressV4)
			}
			// A bare finding gets an envelope like EventBridge's.
			var ev struct {
				Source     string          `json:"source"`
				DetailType string          `json:"detail-type"`
				Account    string          `json:"account"`
				Region     string          `json:"region"`
				Detail     json.RawMessage `json:"detail"`
			}
			if err := json.Unmarshal(f.Event(), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Source != "aws.guardduty" || ev.DetailType != "GuardDuty Finding" || ev.Account != f.AccountID || ev.Region != f.Region || !bytes.Equal(ev.Detail, f.Raw) {
				t.Errorf("envelope = %s %s %s %s", ev.Source, ev.DetailType, ev.Account, ev.Region)
			}
		}},
		{"Discovery_S3_TorIPCaller__elastic.json", func(t *testing.T, f *Finding) {
			refs := f.Resources()
			if len(refs) < 3 || refs[0].Kind != KindBucket || refs[0].Name != "bucketName" || refs[0].ARN != "arn:aws:s3:::bucketName" {
				t.Fatalf("resources = %+v", refs)
			}
			if refs[0].Tags["foo"] != "bar" || refs[0].Attrs["effectivePermission"] != "NOT_PUBLIC" {
				t.Errorf("bucket = %+v", refs[0])
			}
			if refs[1].Kind != KindAccessKey || refs[1].ID != "GeneratedFindingAccessKeyId" || refs[2].Kind != KindUser || refs[2].ARN != "arn:aws:iam::973743533182:user/GeneratedFindingUserName" {
				t.Errorf("principal = %+v %+v", refs[1], refs[2])
			}
			api := f.Service.Action.AWSAPICallAction
			if api == nil || api.API != "GeneratedFindingAPIName" || api.RemoteIPDetails.IP() != "81.2.69.144" {
				t.Errorf("api call = %+v", api)
			}
			if got := f.Resource.S3BucketDetails[0].CreatedAt.Time; got.IsZero() || got.Year() != 2017 {
				t.Error("bucket createdAt (epoch seconds) not read")
			}
		}},
		{"UnauthorizedAccess_IAMUser_MaliciousIPCaller__sekoia.json", func(t *testing.T, f *Finding) {
			ak := f.Resource.AccessKeyDetails
			if ak == nil || ak.AccessKeyID != "GeneratedFindingAccessKeyId" || ak.UserType != "IAMUser" || ak.UserName != "GeneratedFindingUserName" {
				t.Errorf("access key = %+v", ak)
			}
			if f.AccountID != "111111111111" {
				t.Errorf("account = %s", f.AccountID)
			}
		}},
		{"Discovery_Kubernetes_TorIPCaller__elastic.json", func(t *testing.T, f *Finding) {
			if f.Resource.EKSClusterDetails == nil || f.Resource.EKSClusterDetails.Name != "GeneratedFindingEKSClusterName" {
				t.Errorf("eks = %+v", f.Resource.EKSClusterDetails)
			}
			k := f.Service.Action.KubernetesAPICallAction
			if k == nil || k.Verb == "" || len(k.SourceIPs) == 0 {
				t.Errorf("k8s call = %+v", k)
			}
			if f.Resource.KubernetesDetails == nil || f.Resource.KubernetesDetails.KubernetesUserDetails == nil {
				t.Error("kubernetes user missing")
			}
		}},
		{"PrivilegeEscalation_Runtime_DockerSocketAccessed__elastic.json", func(t *testing.T, f *Finding) {
			if f.Resource.ContainerDetails == nil || f.Service.RuntimeDetails == nil || f.Service.RuntimeDetails.Process == nil {
				t.Fatal("container or runtime details missing")
			}
			refs := f.Resources()
			if refs[0].Kind != KindContainer {
				t.Errorf("first resource = %+v", refs[0])
			}
			if s, _ := f.Sample(); s {
				t.Error("a real (non-sample) runtime finding reported as sample")
			}
		}},
		{"Execution_Container_SuspiciousFile__sekoia.json", func(t *testing.T, f *Finding) {
			if len(f.Service.EBSVolumeScanDetails) == 0 || f.Resource.EBSVolumeDetails == nil {
				t.Error("malware scan details missing")
			}
		}},
		{"partial/AttackSequence_IAM_CompromisedCredentials__panther.json", func(t *testing.T, f *Finding) {
			if f.Band() != BandCritical || f.Service.FeatureName != "Correlation" {
				t.Errorf("band %s feature %s", f.Band(), f.Service.FeatureName)
			}
			// Panther's normalised "2025-02-25 20:40:06.721" timestamps.
			if !f.UpdatedAt.Time.Equal(time.Date(2025, 2, 25, 20, 40, 6, 721e6, time.UTC)) {
				t.Errorf("updatedAt = %v", f.UpdatedAt.Time)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) { tt.check(t, get(t, tt.file)) })
	}
}

// TestRawIsByteExact checks that Raw is the finding exactly as received.
func TestRawIsByteExact(t *testing.T) {
	bare, err := os.ReadFile(filepath.Join(findingsDir, "Recon_EC2_Portscan__elastic.json"))
	if err != nil {
		t.Fatal(err)
	}
	fs, errs := ParseBytes("bare", bare)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if !bytes.Equal(fs[0].Raw, bytes.TrimSpace(bare)) {
		t.Error("bare finding: Raw differs from the input")
	}
	event, err := os.ReadFile(filepath.Join(findingsDir, "Backdoor_EC2_Spambot__o7conseils.json"))
	if err != nil {
		t.Fatal(err)
	}
	fs, errs = ParseBytes("event", event)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var env struct{ Detail json.RawMessage }
	if err := json.Unmarshal(event, &env); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fs[0].Raw, env.Detail) || !bytes.Equal(fs[0].Event(), bytes.TrimSpace(event)) {
		t.Error("event: Raw is not the detail bytes or Event is not the event bytes")
	}
}
