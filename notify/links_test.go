package notify

import (
	"net/url"
	"strings"
	"testing"
)

func TestLinks(t *testing.T) {
	good := Finding{ID: "60baffd3f9042e38640f2300d5c5a631", Region: "eu-west-3", Partition: "aws",
		Resource: Resource{Kind: "ec2-instance", ID: "i-0123456789abcdef0"}}
	got := Links(&good)
	want := []Link{
		{"GuardDuty finding", "https://eu-west-3.console.aws.amazon.com/guardduty/home?region=eu-west-3#/findings?macros=current&fId=60baffd3f9042e38640f2300d5c5a631"},
		{"EC2 instance", "https://eu-west-3.console.aws.amazon.com/ec2/home?region=eu-west-3#InstanceDetails:instanceId=i-0123456789abcdef0"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Links = %+v\nwant %+v", got, want)
	}
	user := Finding{ID: "a1", Region: "us-gov-west-1", Partition: "aws-us-gov", Resource: Resource{Kind: "iam-access-key", ID: "AKIAEXAMPLE", Name: "deploy+ci@corp"}}
	if l := Links(&user); len(l) != 2 || l[1].URL != "https://console.amazonaws-us-gov.com/iam/home#/users/details/deploy+ci@corp" {
		t.Fatalf("user links = %+v", l)
	}
	bucket := Finding{ID: "a1", Region: "us-east-1", Resource: Resource{Kind: "s3-bucket", Name: "my-logs.bucket"}}
	if l := Links(&bucket); len(l) != 2 || l[1].URL != "https://s3.console.aws.amazon.com/s3/buckets/my-logs.bucket?region=us-east-1" {
		t.Fatalf("bucket links = %+v", l)
	}
}

func TestLinksRefuseHostileIdentifiers(t *testing.T) {
	hostile := []Finding{
		{ID: "x/../../evil", Region: "us-east-1"},
		{ID: "abc&fId=other", Region: "us-east-1"},
		{ID: "abc#frag", Region: "us-east-1"},
		{ID: "ok", Region: "us-east-1.evil.example/"},
		{ID: "ok", Region: "evil.example#us-east-1"},
		{ID: "ok", Region: "us-east-1", Partition: "evil"},
		{ID: "ok", Region: "us-east-1", Resource: Resource{Kind: "ec2-instance", ID: "i-0abc/../../x"}},
		{ID: "ok", Region: "us-east-1", Resource: Resource{Kind: "iam-user", Name: "a/../../b"}},
		{ID: "ok", Region: "us-east-1", Resource: Resource{Kind: "iam-role", Name: "<script>"}},
		{ID: "ok", Region: "us-east-1", Resource: Resource{Kind: "s3-bucket", Name: "Bad_Bucket/../x"}},
	}
	for _, f := range hostile {
		for _, l := range Links(&f) {
			u, err := url.Parse(l.URL)
			if err != nil {
				t.Fatalf("%+v: bad URL %q", f, l.URL)
			}
			if !strings.HasSuffix(u.Host, ".console.aws.amazon.com") && u.Host != "console.aws.amazon.com" {
				t.Errorf("%+v: link to host %q", f, u.Host)
			}
			for _, bad := range []string{"..", "evil", "<", "&fId=other", "#frag"} {
				if strings.Contains(l.URL, bad) {
					t.Errorf("%+v: link %q contains %q", f, l.URL, bad)
				}
			}
		}
	}
	// the finding link alone survives when only the resource is hostile
	if l := Links(&hostile[6]); len(l) != 1 || l[0].Label != "GuardDuty finding" {
		t.Errorf("links = %+v", l)
	}
	if l := Links(&hostile[3]); l != nil {
		t.Errorf("a hostile region must give no link at all: %+v", l)
	}
}

// The length bounds live beside the expressions (cheap start-up); they
// must still hold at exactly the limits, as Links applies them.
func TestLinkIdentifierBounds(t *testing.T) {
	tests := []struct {
		name  string
		id    string
		res   Resource
		links int // the finding's link, and the resource's when it is valid
	}{
		{"finding id 128", strings.Repeat("a", 128), Resource{}, 1},
		{"finding id 129", strings.Repeat("a", 129), Resource{}, 0},
		{"instance 8 hex", "f1", Resource{Kind: "ec2-instance", ID: "i-" + strings.Repeat("f", 8)}, 2},
		{"instance 17 hex", "f1", Resource{Kind: "ec2-instance", ID: "i-" + strings.Repeat("f", 17)}, 2},
		{"instance 7 hex", "f1", Resource{Kind: "ec2-instance", ID: "i-" + strings.Repeat("f", 7)}, 1},
		{"instance 18 hex", "f1", Resource{Kind: "ec2-instance", ID: "i-" + strings.Repeat("f", 18)}, 1},
		{"iam user 128", "f1", Resource{Kind: "iam-user", Name: strings.Repeat("u", 128)}, 2},
		{"iam user 129", "f1", Resource{Kind: "iam-user", Name: strings.Repeat("u", 129)}, 1},
		{"iam role 128", "f1", Resource{Kind: "iam-role", Name: strings.Repeat("r", 128)}, 2},
		{"iam role 129", "f1", Resource{Kind: "iam-role", Name: strings.Repeat("r", 129)}, 1},
		{"bucket 3", "f1", Resource{Kind: "s3-bucket", Name: "abc"}, 2},
		{"bucket 2", "f1", Resource{Kind: "s3-bucket", Name: "ab"}, 1},
		{"bucket 63", "f1", Resource{Kind: "s3-bucket", Name: strings.Repeat("b", 63)}, 2},
		{"bucket 64", "f1", Resource{Kind: "s3-bucket", Name: strings.Repeat("b", 64)}, 1},
		{"bucket trailing dot", "f1", Resource{Kind: "s3-bucket", Name: "abc."}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Finding{ID: tt.id, Region: "us-east-1", Partition: "aws", Resource: tt.res}
			if got := Links(&f); len(got) != tt.links {
				t.Errorf("%d links, want %d: %+v", len(got), tt.links, got)
			}
		})
	}
}
