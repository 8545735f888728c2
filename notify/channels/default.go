package channels

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/notify/awssecret"
	"github.com/reflexsec/reflex/notify/sns"
)

// Default returns the dependencies of a real run: secrets from the
// environment, SSM and Secrets Manager, SNS clients from the SDK's default
// configuration (which honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_SNS …).
// The AWS configuration is loaded on first use only, so a configuration
// with env: secrets and no SNS channel needs no AWS credentials.
func Default(ctx context.Context, h *notify.HTTP) Deps {
	var once sync.Once
	var cfg aws.Config
	var cfgErr error
	load := func() (aws.Config, error) {
		once.Do(func() { cfg, cfgErr = config.LoadDefaultConfig(context.WithoutCancel(ctx)) })
		return cfg, cfgErr
	}
	lazy := func(mk func(aws.Config) notify.Resolver) notify.Resolver {
		return notify.ResolverFunc(func(ctx context.Context, ref notify.Ref) (string, error) {
			c, err := load()
			if err != nil {
				return "", err
			}
			return mk(c).Resolve(ctx, ref)
		})
	}
	return Deps{
		HTTP: h,
		Resolver: notify.Resolvers{
			notify.SchemeEnv:            notify.Env(nil),
			notify.SchemeSSM:            lazy(func(c aws.Config) notify.Resolver { return awssecret.SSM(ssm.NewFromConfig(c)) }),
			notify.SchemeSecretsManager: lazy(func(c aws.Config) notify.Resolver { return awssecret.SecretsManager(secretsmanager.NewFromConfig(c)) }),
		},
		SNS: func(region string) sns.API { return &lazySNS{load: load, region: region} },
	}
}

// lazySNS creates its client on the first Publish.
type lazySNS struct {
	load   func() (aws.Config, error)
	region string
	once   sync.Once
	c      *awssns.Client
	err    error
}

func (l *lazySNS) Publish(ctx context.Context, in *awssns.PublishInput, opts ...func(*awssns.Options)) (*awssns.PublishOutput, error) {
	l.once.Do(func() {
		cfg, err := l.load()
		if err != nil {
			l.err = err
			return
		}
		cfg = cfg.Copy()
		if l.region != "" {
			cfg.Region = l.region
		}
		l.c = awssns.NewFromConfig(cfg, func(o *awssns.Options) { o.RetryMaxAttempts = 1 }) // notify retries
	})
	if l.err != nil {
		return nil, l.err
	}
	return l.c.Publish(ctx, in, opts...)
}
