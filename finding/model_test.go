package finding

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

func TestBandOf(t *testing.T) {
	tests := []struct {
		sev  float64
		want Band
	}{
		{0, BandLow}, {1, BandLow}, {3.9, BandLow}, {3.95, BandLow}, {4, BandMedium}, {5.5, BandMedium},
		{6.99, BandMedium}, {7, BandHigh}, {8.9, BandHigh}, {8.99, BandHigh}, {9, BandCritical}, {10, BandCritical},
	}
	for _, tt := range tests {
		if got := BandOf(tt.sev); got != tt.want {
			t.Errorf("BandOf(%v) = %s, want %s", tt.sev, got, tt.want)
		}
	}
	if BandLow.Rank() >= BandMedium.Rank() || BandHigh.Rank() >= BandCritical.Rank() || Band("x").Rank() != 0 {
		t.Error("ranks out of order")
	}
}

func TestParseType(t *testing.T) {
	tests := []struct {
		in   string
		want TypeName
	}{
		{"Backdoor:EC2/C&CActivity.B!DNS", TypeName{"Backdoor", "EC2", "C&CActivity", "B", "DNS"}},
		{"Trojan:EC2/DropPoint", TypeName{"Trojan", "EC2", "DropPoint", "", ""}},
		{"Execution:Kubernetes/AnomalousBehavior.WorkloadDeployed", TypeName{"Execution", "Kubernetes", "AnomalousBehavior", "WorkloadDeployed", ""}},
		{"UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", TypeName{"UnauthorizedAccess", "IAMUser", "InstanceCredentialExfiltration", "OutsideAWS", ""}},
		{"PrivilegeEscalation:Kubernetes/AnomalousBehavior.WorkloadDeployed!ContainerWithSensitiveMount", TypeName{"PrivilegeEscalation", "Kubernetes", "AnomalousBehavior", "WorkloadDeployed", "ContainerWithSensitiveMount"}},
		{"AttackSequence:S3/CompromisedData", TypeName{"AttackSequence", "S3", "CompromisedData", "", ""}},
		{"Execution:EC2/MaliciousFile!Snapshot", TypeName{"Execution", "EC2", "MaliciousFile", "", "Snapshot"}},
		{"NotAType", TypeName{ThreatFamilyName: "NotAType"}},
		{"", TypeName{}},
	}
	for _, tt := range tests {
		if got := ParseType(tt.in); got != tt.want {
			t.Errorf("ParseType(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// TestCatalogueTypes parses every type of GuardDuty's catalogue.
func TestCatalogueTypes(t *testing.T) {
	f, err := os.Open("../testdata/finding-types.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	n := 0
	for sc.Scan() {
		typ := strings.SplitN(sc.Text(), "\t", 2)[0]
		tn := ParseType(typ)
		if tn.ThreatPurpose == "" || tn.ResourceTypeAffected == "" || tn.ThreatFamilyName == "" {
			t.Errorf("%s: %+v", typ, tn)
		}
		rebuilt := tn.ThreatPurpose + ":" + tn.ResourceTypeAffected + "/" + tn.ThreatFamilyName
		if tn.DetectionMechanism != "" {
			rebuilt += "." + tn.DetectionMechanism
		}
		if tn.Artifact != "" {
			rebuilt += "!" + tn.Artifact
		}
		if rebuilt != typ {
			t.Errorf("%s rebuilt as %s", typ, rebuilt)
		}
		n++
	}
	if n != 228 {
		t.Errorf("catalogue has %d types, want 228", n)
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		raw  string
	}{
		{`"2022-01-28T21:12:25.456Z"`, time.Date(2022, 1, 28, 21, 12, 25, 456e6, time.UTC), "2022-01-28T21:12:25.456Z"},
		{`"2016-08-02T02:05:06Z"`, time.Date(2016, 8, 2, 2, 5, 6, 0, time.UTC), "2016-08-02T02:05:06Z"},
		{`"2025-02-25 20:40:06.721"`, time.Date(2025, 2, 25, 20, 40, 6, 721e6, time.UTC), "2025-02-25 20:40:06.721"},
		{`"2025-02-25 20:40:06.000000000"`, time.Date(2025, 2, 25, 20, 40, 6, 0, time.UTC), "2025-02-25 20:40:06.000000000"},
		{`"2021-03-07T00:29:35+02:00"`, time.Date(2021, 3, 6, 22, 29, 35, 0, time.UTC), "2021-03-07T00:29:35+02:00"},
		{`1636625755`, time.Unix(1636625755, 0).UTC(), "1636625755"},
		{`1.639010703E9`, time.Unix(1639010703, 0).UTC(), "1.639010703E9"},
		{`"yesterday"`, time.Time{}, "yesterday"},
		{`null`, time.Time{}, ""},
	}
	for _, tt := range tests {
		var ts Timestamp
		if err := ts.UnmarshalJSON([]byte(tt.in)); err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if !ts.Time.Equal(tt.want) || ts.Raw != tt.raw {
			t.Errorf("%s: got %v %q, want %v %q", tt.in, ts.Time, ts.Raw, tt.want, tt.raw)
		}
		if out, _ := ts.MarshalJSON(); tt.in != "null" && string(out) != tt.in {
			t.Errorf("%s re-encoded as %s", tt.in, out)
		}
	}
	var ts Timestamp
	if err := ts.UnmarshalJSON([]byte(`{}`)); err == nil {
		t.Error("an object accepted as a time")
	}
}

func TestVersionNewer(t *testing.T) {
	t0 := time.Date(2022, 1, 12, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		v, old Version
		want   bool
	}{
		{Version{t0.Add(time.Hour), 1}, Version{t0, 4}, true},
		{Version{t0, 5}, Version{t0, 4}, true},
		{Version{t0, 4}, Version{t0, 4}, false},
		{Version{t0, 9}, Version{t0.Add(time.Hour), 4}, false},
	}
	for _, tt := range tests {
		if got := tt.v.Newer(tt.old); got != tt.want {
			t.Errorf("%+v.Newer(%+v) = %v", tt.v, tt.old, got)
		}
	}
}

func TestSampleDetection(t *testing.T) {
	base := `{"id":"a","type":"Recon:EC2/Portscan","accountId":"1","region":"r","severity":2,`
	tests := []struct {
		name string
		in   string
		want bool
		why  string
	}{
		{"marked", base + `"service":{"additionalInfo":{"sample":true}},"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-0abc"}}}`, true, "additionalInfo.sample"},
		{"marked as a string", base + `"service":{"additionalInfo":{"sample":"true"}},"resource":{}}`, true, "additionalInfo.sample"},
		{"marked inside value", base + `"service":{"additionalInfo":{"value":"{\"sample\":true}","type":"default"}},"resource":{}}`, true, "additionalInfo.sample"},
		{"placeholder instance", base + `"service":{},"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-99999999"}}}`, true, "placeholder i-99999999"},
		{"placeholder key", base + `"service":{},"resource":{"resourceType":"AccessKey","accessKeyDetails":{"accessKeyId":"GeneratedFindingAccessKeyId"}}}`, true, "placeholder GeneratedFindingAccessKeyId"},
		{"real", base + `"service":{"additionalInfo":{"sample":false}},"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-0abc"}}}`, false, ""},
	}
	for _, tt := range tests {
		fs, errs := ParseBytes("in", []byte(tt.in))
		if len(errs) > 0 {
			t.Fatalf("%s: %v", tt.name, errs)
		}
		got, why := fs[0].Sample()
		if got != tt.want || !strings.Contains(why, tt.why) {
			t.Errorf("%s: Sample() = %v %q", tt.name, got, why)
		}
	}
}
