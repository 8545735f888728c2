package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/reflexsec/reflex/internal/fakeaws"
)

// TestRuntimeConfigFromS3AndSSM loads the runtimes' configuration
// (REFLEX_CONFIG) from S3 and from SSM in the test cloud, through the SDK
// clients the Lambda builds.
func TestRuntimeConfigFromS3AndSSM(t *testing.T) {
	srv := fakeaws.NewTestServer(t, nil)
	cfg := srv.Config("111111111111")
	old := awsCfg
	awsCfg = func(context.Context) (aws.Config, error) { return cfg, nil }
	t.Cleanup(func() { awsCfg = old })
	ctx := t.Context()
	const good = `version: 1
rules:
  - name: from-aws
    pattern: {source: [aws.guardduty]}
    steps: [{step: record}]
`
	const bad = "version: 1\nrules:\n  - name: x\n    pattern: {source: 7}\n"
	if _, err := s3.NewFromConfig(cfg).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("prod-data-111111111111"),
		Key: aws.String("reflex/reflex.yaml"), Body: strings.NewReader(good)}); err != nil {
		t.Fatal(err)
	}
	c := ssm.NewFromConfig(cfg)
	for name, v := range map[string]string{"/reflex/config": good, "/reflex/bad": bad} {
		if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(v),
			Type: ssmtypes.ParameterTypeSecureString}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		spec    string
		wantErr string // "" for a valid configuration
	}{
		{"s3://prod-data-111111111111/reflex/reflex.yaml", ""},
		{"ssm:/reflex/config", ""},
		{"ssm:///reflex/config", ""},
		{"s3://prod-data-111111111111/reflex/missing.yaml", "NoSuchKey"},
		{"s3://no-such-bucket-x/reflex.yaml", "NoSuchBucket"},
		{"s3://prod-data-111111111111", "want s3://BUCKET/KEY"},
		{"ssm:/reflex/none", "ParameterNotFound"},
		{"ssm:/reflex/bad", "invalid configuration"},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			p, err := loadRuntimePolicy(ctx, runtimeOpts{config: tc.spec})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Rules) != 1 || p.Rules[0].Name != "from-aws" {
				t.Errorf("rules %+v, want the one rule from-aws", p.Rules)
			}
			if p.File != tc.spec {
				t.Errorf("File %q: want the location %q, for messages", p.File, tc.spec)
			}
		})
	}
}
