package fakeaws_test

import (
	"errors"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/reflexsec/reflex/internal/fakeaws"
)

const (
	prod     = "111111111111"
	security = "222222222222"

	web1   = "i-0a11111111111111a" // two interfaces
	web2   = "i-0a11111111111111b"
	bast   = "i-0a11111111111111c"
	eni1   = "eni-0a11111111111111a"
	eni2   = "eni-0a11111111111111b"
	sgWeb  = "sg-0a11111111111111a"
	sgApp  = "sg-0a11111111111111b"
	sgAdm  = "sg-0a11111111111111c"
	vpc1   = "vpc-0a11111111111111a"
	volW1  = "vol-0a11111111111111a"
	volW1b = "vol-0a11111111111111b"
)

// newServer starts the default scenario on an httptest server.
func newServer(t *testing.T, opts ...fakeaws.Option) *fakeaws.Server {
	t.Helper()
	c := fakeaws.New(append([]fakeaws.Option{fakeaws.WithSeed(1)}, opts...)...)
	if err := c.LoadDefaultScenario(); err != nil {
		t.Fatal(err)
	}
	return fakeaws.NewTestServer(t, c)
}

// code returns the AWS error code of err ("" for nil).
func code(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	return ae.ErrorCode()
}

func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := code(t, err); got != want {
		t.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
