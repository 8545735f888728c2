// Package awssecret resolves ssm: and secretsmanager: secret references
// with the AWS SDK.
package awssecret

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/reflexsec/reflex/notify"
)

// SSMAPI is the part of the SSM client used.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// SecretsManagerAPI is the part of the Secrets Manager client used.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SSM resolves ssm: references (SecureString parameters are decrypted).
func SSM(c SSMAPI) notify.Resolver {
	return notify.ResolverFunc(func(ctx context.Context, ref notify.Ref) (string, error) {
		out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(ref.Name), WithDecryption: aws.Bool(true)})
		if err != nil {
			return "", fmt.Errorf("%s: %s", ref, describe(err))
		}
		if out.Parameter == nil || out.Parameter.Value == nil {
			return "", fmt.Errorf("%s: the parameter has no value", ref)
		}
		return *out.Parameter.Value, nil
	})
}

// SecretsManager resolves secretsmanager: references; with a #key, the
// secret is a JSON object and the key's string value is used.
func SecretsManager(c SecretsManagerAPI) notify.Resolver {
	return notify.ResolverFunc(func(ctx context.Context, ref notify.Ref) (string, error) {
		out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ref.Name)})
		if err != nil {
			return "", fmt.Errorf("%s: %s", ref, describe(err))
		}
		if out.SecretString == nil {
			return "", fmt.Errorf("%s: the secret has no string value", ref)
		}
		if ref.Key == "" {
			return *out.SecretString, nil
		}
		var m map[string]any
		if json.Unmarshal([]byte(*out.SecretString), &m) != nil {
			return "", fmt.Errorf("%s: the secret is not a JSON object, so #%s cannot be read", ref, ref.Key)
		}
		v, ok := m[ref.Key].(string)
		if !ok {
			return "", fmt.Errorf("%s: the secret has no string key %q", ref, ref.Key)
		}
		return v, nil
	})
}

// describe gives the AWS error code and message; neither holds the secret.
func describe(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

// Resolvers returns env, ssm and secretsmanager resolvers; cfg is the AWS
// configuration for the two AWS ones.
func Resolvers(cfg aws.Config) notify.Resolvers {
	return notify.Resolvers{
		notify.SchemeEnv:            notify.Env(nil),
		notify.SchemeSSM:            SSM(ssm.NewFromConfig(cfg)),
		notify.SchemeSecretsManager: SecretsManager(secretsmanager.NewFromConfig(cfg)),
	}
}
