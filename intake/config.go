package intake

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// ConfigSources reads configurations stored in AWS.
type ConfigSources struct {
	S3 interface {
		GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	}
	SSM interface {
		GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	}
}

// MaxConfigSize caps a configuration read from anywhere.
const MaxConfigSize = 4 << 20

// ConfigLocation tells where a REFLEX_CONFIG value points: "s3" for
// s3://bucket/key, "ssm" for ssm:NAME or ssm://NAME (a parameter, may be
// SecureString), "file" otherwise.
func ConfigLocation(spec string) string {
	switch {
	case strings.HasPrefix(spec, "s3://"):
		return "s3"
	case strings.HasPrefix(spec, "ssm:"):
		return "ssm"
	}
	return "file"
}

// ReadConfig returns the configuration named by spec and a name for its
// messages. A relative file path is read from base when base is not ""
// (the Lambda package: $LAMBDA_TASK_ROOT).
func ReadConfig(ctx context.Context, spec, base string, src ConfigSources) (string, []byte, error) {
	switch ConfigLocation(spec) {
	case "s3":
		u, err := url.Parse(spec)
		if err != nil || u.Host == "" || len(u.Path) < 2 {
			return "", nil, fmt.Errorf("configuration %q: want s3://BUCKET/KEY", spec)
		}
		if src.S3 == nil {
			return "", nil, fmt.Errorf("configuration %s: no S3 client", spec)
		}
		out, err := src.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(u.Host), Key: aws.String(u.Path[1:])})
		if err != nil {
			return "", nil, fmt.Errorf("configuration %s: %w", spec, err)
		}
		defer out.Body.Close()
		data, err := io.ReadAll(io.LimitReader(out.Body, MaxConfigSize+1))
		if err != nil {
			return "", nil, fmt.Errorf("configuration %s: %w", spec, err)
		}
		if len(data) > MaxConfigSize {
			return "", nil, fmt.Errorf("configuration %s: larger than %d bytes", spec, MaxConfigSize)
		}
		return spec, data, nil
	case "ssm":
		name := strings.TrimPrefix(strings.TrimPrefix(spec, "ssm:"), "//")
		if name == "" {
			return "", nil, fmt.Errorf("configuration %q: want ssm:PARAMETER-NAME", spec)
		}
		if src.SSM == nil {
			return "", nil, fmt.Errorf("configuration %s: no SSM client", spec)
		}
		out, err := src.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
		if err != nil {
			return "", nil, fmt.Errorf("configuration %s: %w", spec, err)
		}
		if out.Parameter == nil || out.Parameter.Value == nil {
			return "", nil, fmt.Errorf("configuration %s: the parameter has no value", spec)
		}
		return spec, []byte(*out.Parameter.Value), nil
	}
	path := spec
	if base != "" && !filepath.IsAbs(path) {
		path = filepath.Join(base, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("configuration: %w", err)
	}
	return path, data, nil
}
