package policy

import (
	"strings"
	"testing"
)

// The length bounds moved out of the regular expressions (to keep them
// cheap to compile at start-up) must still hold at exactly the limits.
func TestNameAndRoleBounds(t *testing.T) {
	arn := func(path string) string { return "arn:aws:iam::123456789012:role/" + path }
	tests := []struct {
		name  string
		check func(string) bool
		in    string
		want  bool
	}{
		{"name 1", validName, "a", true},
		{"name 128", validName, "a" + strings.Repeat("b", 127), true},
		{"name 129", validName, "a" + strings.Repeat("b", 128), false},
		{"name empty", validName, "", false},
		{"name leading dash", validName, "-a", false},
		{"name inner dot dash underscore", validName, "a.b-c_d", true},
		{"role 64", validRoleName, strings.Repeat("r", 64), true},
		{"role 65", validRoleName, strings.Repeat("r", 65), false},
		{"role empty", validRoleName, "", false},
		{"role symbols", validRoleName, "a+=,.@-_", true},
		{"role slash", validRoleName, "a/b", false},
		{"arn 512", validRoleARN, arn(strings.Repeat("p", 512)), true},
		{"arn 513", validRoleARN, arn(strings.Repeat("p", 513)), false},
		{"arn path", validRoleARN, arn("team/reflex"), true},
		{"arn template", validRoleARN, "arn:aws:iam::{account}:role/reflex", true},
		{"arn gov partition", validRoleARN, "arn:aws-us-gov:iam::123456789012:role/reflex", true},
		{"arn empty name", validRoleARN, arn(""), false},
		{"arn user", validRoleARN, "arn:aws:iam::123456789012:user/reflex", false},
		{"arn short account", validRoleARN, "arn:aws:iam::12345678901:role/reflex", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.check(tt.in); got != tt.want {
				t.Errorf("%q: got %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
