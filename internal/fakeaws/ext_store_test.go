package fakeaws_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/reflexsec/reflex/internal/fakeaws"
)

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestS3Objects(t *testing.T) {
	srv := fakeaws.NewTestServer(t, nil)
	c := s3.NewFromConfig(srv.Config("111111111111"), func(o *s3.Options) { o.UsePathStyle = true })
	other := s3.NewFromConfig(srv.Config("222222222222"), func(o *s3.Options) { o.UsePathStyle = true })
	ctx := t.Context()
	const bucket = "prod-data-111111111111"
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("reflex/config.yaml"),
		Body: strings.NewReader("version: 1\n")}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		client   *s3.Client
		bucket   string
		key      string
		want     string
		wantCode string
	}{
		{"the object", c, bucket, "reflex/config.yaml", "version: 1\n", ""},
		{"a missing key", c, bucket, "reflex/none.yaml", "", "NoSuchKey"},
		{"a missing bucket", c, "no-such-bucket-x", "k", "", "NoSuchBucket"},
		{"another account's bucket", other, bucket, "reflex/config.yaml", "", "AccessDenied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(tc.bucket), Key: aws.String(tc.key)})
			if tc.wantCode != "" {
				if code := apiCode(err); code != tc.wantCode {
					t.Fatalf("error %v (code %q), want %s", err, code, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer out.Body.Close()
			b, _ := io.ReadAll(out.Body)
			if string(b) != tc.want {
				t.Errorf("body %q, want %q", b, tc.want)
			}
		})
	}
}

func TestSSMParameters(t *testing.T) {
	srv := fakeaws.NewTestServer(t, nil)
	c := ssm.NewFromConfig(srv.Config("111111111111"))
	ctx := t.Context()
	for _, p := range []struct{ name, value string }{{"/reflex/config", "plain"}, {"/reflex/secret", "s3cret"}} {
		typ := ssmtypes.ParameterTypeString
		if p.name == "/reflex/secret" {
			typ = ssmtypes.ParameterTypeSecureString
		}
		if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(p.name), Value: aws.String(p.value), Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/reflex/config"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeString})
	if code := apiCode(err); code != "ParameterAlreadyExists" {
		t.Errorf("a second put without Overwrite: %v, want ParameterAlreadyExists", err)
	}
	cases := []struct {
		name, param string
		decrypt     bool
		want        string
		wantCode    string
	}{
		{"a String", "/reflex/config", false, "plain", ""},
		{"a SecureString decrypted", "/reflex/secret", true, "s3cret", ""},
		{"a SecureString not decrypted", "/reflex/secret", false, "kms:encrypted:s3cret", ""},
		{"a missing parameter", "/reflex/none", true, "", "ParameterNotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(tc.param), WithDecryption: aws.Bool(tc.decrypt)})
			if tc.wantCode != "" {
				if code := apiCode(err); code != tc.wantCode {
					t.Fatalf("error %v (code %q), want %s", err, code, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(out.Parameter.Value); got != tc.want {
				t.Errorf("value %q, want %q", got, tc.want)
			}
		})
	}
}
