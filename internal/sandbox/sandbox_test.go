package sandbox

import (
	"testing"

	"github.com/reflexsec/reflex/finding"
)

func TestSandboxLoads(t *testing.T) {
	c, err := Cloud()
	if err != nil {
		t.Fatal(err)
	}
	in, ok := c.Instance(Prod, Region, Instance)
	if !ok || len(in.Interfaces) != 2 || len(in.Volumes) != 3 {
		t.Fatalf("instance: %+v", in)
	}
	for _, n := range []string{"ec2", "iam-user", "assumed-role", "s3"} {
		f, err := Finding(n)
		if err != nil {
			t.Fatal(err)
		}
		if f.AccountID != Prod || f.Region != Region {
			t.Errorf("%s: %s/%s", n, f.AccountID, f.Region)
		}
		for _, r := range f.Resources() {
			t.Logf("%s: %s %s %s %v", n, r.Kind, r.ID, r.Name, r.Attrs)
			if finding.IsPlaceholder(r.ID) || finding.IsPlaceholder(r.Name) {
				t.Errorf("%s: placeholder %v", n, r)
			}
		}
	}
}
