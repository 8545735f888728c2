package ec2

import (
	"strings"
	"testing"

	"github.com/reflexsec/reflex/action/internal/awsstep"
)

// Checkpoint tags are read back from AWS, where anyone with ec2:CreateTags
// can write them: their parsers must take any text.

func FuzzDecodeProtection(f *testing.F) {
	f.Add("t=false;s=terminate;d=/dev/xvda,/dev/xvdb")
	f.Add("t=true;s=stop;d=")
	f.Add(";;==;")
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := decodeProtection(s)
		if ok {
			q, ok2 := decodeProtection(p.encode())
			if !ok2 || q.DisableAPITermination != p.DisableAPITermination || q.ShutdownBehavior != p.ShutdownBehavior && !strings.ContainsAny(p.ShutdownBehavior, ";=") {
				t.Fatalf("round trip %q → %+v → %+v", s, p, q)
			}
		}
	})
}

func FuzzDecodeTargets(f *testing.F) {
	f.Add("targetgroup/web-tg/0123456789abcdef:443", "")
	f.Add(":", "x")
	f.Fuzz(func(t *testing.T, a, b string) {
		tags := map[string]string{TagTargetsPrior + ":1": a}
		if b != "" {
			tags[TagTargetsPrior+":2"] = b
		}
		ms := decodeTargets(tags, awsstep.Env{Account: "111111111111", Region: "us-east-1"})
		if len(ms) == 0 || len(ms) > 2 {
			t.Fatalf("%d memberships from %d tags", len(ms), len(tags))
		}
		for _, m := range ms {
			if !strings.HasPrefix(m.TargetGroupARN, "arn:aws:elasticloadbalancing:us-east-1:111111111111:") {
				t.Fatalf("arn %q", m.TargetGroupARN)
			}
		}
	})
}

func TestProtectionRoundTrip(t *testing.T) {
	p := protection{DisableAPITermination: false, ShutdownBehavior: "terminate", DeleteOnTermination: []string{"/dev/xvda", "/dev/xvdb"}}
	q, ok := decodeProtection(p.encode())
	if !ok || q.ShutdownBehavior != "terminate" || len(q.DeleteOnTermination) != 2 || q.DisableAPITermination {
		t.Fatalf("%+v", q)
	}
	if _, ok := decodeProtection("garbage"); ok {
		t.Fatal("garbage decoded")
	}
	ms := []Membership{{TargetGroupARN: "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/web-tg/abc", Port: 443}}
	got := decodeTargets(encodeTargets(ms), awsstep.Env{Account: "111111111111", Region: "us-east-1"})
	if len(got) != 1 || got[0] != ms[0] {
		t.Fatalf("%+v", got)
	}
}
