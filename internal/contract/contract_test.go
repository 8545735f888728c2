package contract

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// check is one behavioural check, written once and run against every
// backend.
type check struct {
	name string // service/behaviour
	// doc is the AWS documentation the expected behaviour comes from.
	doc string
	// kumo, when set, says how kumo departs from doc; the check is then
	// skipped on kumo with that reason (README.md lists these).
	kumo string
	run  func(t *testing.T, e *env)
}

func checks() []check {
	var all []check
	for _, group := range [][]check{sqsChecks(), snsChecks(), stsChecks(), iamChecks(), s3Checks(), elbv2Checks(), ec2Checks(), eventsChecks()} {
		all = append(all, group...)
	}
	return all
}

func TestMain(m *testing.M) {
	code := m.Run()
	closeKumo()
	os.Exit(code)
}

// TestContract runs every check against every backend.
func TestContract(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range checks() {
				t.Run(c.name, func(t *testing.T) {
					if b.deviates(c) {
						t.Skipf("%s departs from AWS (%s): %s", b.name, c.doc, c.kumo)
					}
					c.run(t, b.env(t))
				})
			}
		})
	}
}

// TestChecksCiteDocs keeps the table honest: every check names the AWS
// documentation it follows, and names are unique.
func TestChecksCiteDocs(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range checks() {
		if c.doc == "" {
			t.Errorf("%s: no AWS documentation cited", c.name)
		}
		if seen[c.name] {
			t.Errorf("%s: name used twice", c.name)
		}
		seen[c.name] = true
	}
}

// TestKumoDeviationsHold keeps the list of kumo's deviations true: it runs
// every check against kumo in a child test process with CONTRACT_KUMO_ALL=1
// and wants exactly the checks marked as deviating to fail. When a newer
// kumo follows AWS in one of them, this test says which note to remove.
func TestKumoDeviationsHold(t *testing.T) {
	if os.Getenv("CONTRACT_KUMO_ALL") != "" {
		t.Skip("already running every check against kumo")
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestContract$/^kumo$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "CONTRACT_KUMO_ALL=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run the checks against kumo: %v", err)
	}
	result := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(strings.TrimSpace(line))
		if len(f) >= 3 && f[0] == "---" && (f[1] == "PASS:" || f[1] == "FAIL:") {
			result[f[2]] = f[1]
		}
	}
	for _, c := range checks() {
		name := "TestContract/kumo/" + strings.ReplaceAll(c.name, " ", "_")
		want := "PASS:"
		if c.kumo != "" {
			want = "FAIL:"
		}
		switch got := result[name]; {
		case got == "":
			t.Errorf("%s: no result in the child's output", c.name)
		case got != want && c.kumo != "":
			t.Errorf("%s: kumo now passes; remove its deviation note (%q) here and in README.md", c.name, c.kumo)
		case got != want:
			t.Errorf("%s: fails against kumo without a deviation note", c.name)
		}
	}
	if t.Failed() {
		t.Logf("child output:\n%s", out)
	}
}
