package finding

import "strings"

// TypeName is a finding type split into the parts of GuardDuty's format
// ThreatPurpose:ResourceTypeAffected/ThreatFamilyName.DetectionMechanism!Artifact
// (guardduty_finding-format). Parts a type does not have are empty.
//
// ResourceTypeAffected is the token in the name ("IAMUser", "Runtime",
// "Kubernetes"), which is not the JSON resource.resourceType ("AccessKey",
// "Instance", "EKSCluster").
type TypeName struct {
	ThreatPurpose        string `json:"threatPurpose"`
	ResourceTypeAffected string `json:"resourceTypeAffected"`
	ThreatFamilyName     string `json:"threatFamilyName"`
	DetectionMechanism   string `json:"detectionMechanism,omitempty"`
	Artifact             string `json:"artifact,omitempty"`
}

// ParseType splits a finding type name. It never fails: a name that does not
// follow the format (GuardDuty adds types over time) yields what could be
// recognised, with the unrecognised rest as the family name.
//
// The detection mechanism is what follows the first dot of the family part:
// "C&CActivity.B" is family "C&CActivity", mechanism "B";
// "AnomalousBehavior.WorkloadDeployed" is family "AnomalousBehavior",
// mechanism "WorkloadDeployed". The artifact follows the last "!".
func ParseType(s string) TypeName {
	var t TypeName
	rest := s
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		t.ThreatPurpose, rest = rest[:i], rest[i+1:]
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		t.ResourceTypeAffected, rest = rest[:i], rest[i+1:]
	}
	if i := strings.LastIndexByte(rest, '!'); i >= 0 {
		rest, t.Artifact = rest[:i], rest[i+1:]
	}
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		rest, t.DetectionMechanism = rest[:i], rest[i+1:]
	}
	t.ThreatFamilyName = rest
	return t
}
