package notify

import (
	"net/url"
	"regexp"
)

// Link is a console link built from validated identifiers only: a hostile
// finding cannot forge a URL through its id, region or resource names.
type Link struct {
	Label string `json:"label"` // reflex's own text, never finding text
	URL   string `json:"url"`
}

// Length limits are checked beside the expressions, not inside them: Go
// compiles x{1,128} into 128 nested copies of x, which made these
// expressions cost 2 ms of every process start (GODEBUG=inittrace=1).
var (
	reRegion     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	reFindingID  = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	reInstanceID = regexp.MustCompile(`^i-[0-9a-f]+$`)
	reIAMName    = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]+$`)
	reBucket     = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`)
	reAccount    = regexp.MustCompile(`^[0-9]{12}$`)
)

// matchLen reports whether s has between min and max bytes and matches re.
func matchLen(re *regexp.Regexp, s string, min, max int) bool {
	return len(s) >= min && len(s) <= max && re.MatchString(s)
}

// ValidRegion reports whether s looks like an AWS region name.
func ValidRegion(s string) bool { return reRegion.MatchString(s) }

// ValidAccount reports whether s is a 12-digit account id.
func ValidAccount(s string) bool { return reAccount.MatchString(s) }

// consoleHost returns the console host of a partition and region, or "".
func consoleHost(partition, region string) string {
	if !reRegion.MatchString(region) {
		return ""
	}
	switch partition {
	case "", "aws":
		return region + ".console.aws.amazon.com"
	case "aws-us-gov":
		return "console.amazonaws-us-gov.com"
	case "aws-cn":
		return "console.amazonaws.cn"
	}
	return ""
}

// Links returns the console links of a finding: the GuardDuty finding and
// its resource (EC2 instance, IAM user or role, S3 bucket). An identifier
// that does not have the shape AWS gives it yields no link.
func Links(f *Finding) []Link {
	var out []Link
	host := consoleHost(f.Partition, f.Region)
	if host == "" {
		return nil
	}
	q := url.Values{"region": {f.Region}}.Encode()
	if matchLen(reFindingID, f.ID, 1, 128) {
		out = append(out, Link{Label: "GuardDuty finding",
			URL: "https://" + host + "/guardduty/home?" + q + "#/findings?macros=current&fId=" + url.QueryEscape(f.ID)})
	}
	r := f.Resource
	switch r.Kind {
	case "ec2-instance":
		if matchLen(reInstanceID, r.ID, 2+8, 2+17) {
			out = append(out, Link{Label: "EC2 instance",
				URL: "https://" + host + "/ec2/home?" + q + "#InstanceDetails:instanceId=" + url.QueryEscape(r.ID)})
		}
	case "iam-user", "iam-access-key":
		if matchLen(reIAMName, r.Name, 1, 128) {
			out = append(out, Link{Label: "IAM user",
				URL: "https://" + iamHost(f.Partition) + "/iam/home#/users/details/" + url.PathEscape(r.Name)})
		}
	case "iam-role":
		if matchLen(reIAMName, r.Name, 1, 128) {
			out = append(out, Link{Label: "IAM role",
				URL: "https://" + iamHost(f.Partition) + "/iam/home#/roles/details/" + url.PathEscape(r.Name)})
		}
	case "s3-bucket":
		if matchLen(reBucket, r.Name, 3, 63) && (f.Partition == "" || f.Partition == "aws") {
			out = append(out, Link{Label: "S3 bucket",
				URL: "https://s3.console.aws.amazon.com/s3/buckets/" + url.PathEscape(r.Name) + "?" + q})
		}
	}
	return out
}

func iamHost(partition string) string {
	switch partition {
	case "aws-us-gov":
		return "console.amazonaws-us-gov.com"
	case "aws-cn":
		return "console.amazonaws.cn"
	}
	return "console.aws.amazon.com"
}
