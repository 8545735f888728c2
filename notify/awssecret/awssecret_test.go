package awssecret

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/reflexsec/reflex/notify"
)

type fakeSSM map[string]string

func (f fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	if !aws.ToBool(in.WithDecryption) {
		return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: "want decryption"}
	}
	v, ok := f[aws.ToString(in.Name)]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "ParameterNotFound", Message: ""}
	}
	return &ssm.GetParameterOutput{Parameter: &types.Parameter{Value: aws.String(v)}}, nil
}

type fakeSM map[string]string

func (f fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	v, ok := f[aws.ToString(in.SecretId)]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret."}
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

func TestResolvers(t *testing.T) {
	rs := notify.Resolvers{
		notify.SchemeSSM:            SSM(fakeSSM{"/reflex/slack": "https://hooks.slack.com/services/SECRET"}),
		notify.SchemeSecretsManager: SecretsManager(fakeSM{"reflex/pd": `{"routing_key":"RK-SECRET","n":1}`, "plain": "PLAIN-SECRET"}),
	}
	tests := []struct{ ref, want, wantErr string }{
		{"ssm:/reflex/slack", "https://hooks.slack.com/services/SECRET", ""},
		{"ssm:/missing", "", "ssm:/missing: ParameterNotFound"},
		{"secretsmanager:reflex/pd#routing_key", "RK-SECRET", ""},
		{"secretsmanager:plain", "PLAIN-SECRET", ""},
		{"secretsmanager:reflex/pd#n", "", `no string key "n"`},
		{"secretsmanager:plain#k", "", "not a JSON object"},
		{"secretsmanager:nope", "", "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		ref, err := notify.ParseRef(tt.ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rs.Resolve(context.Background(), ref)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "SECRET") {
				t.Errorf("%s: err %v", tt.ref, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %q, %v", tt.ref, got, err)
		}
	}
}
