// Package cloud holds reflex's AWS configuration: an aws.Config per
// (account, region) — the SDK's default chain for the home credentials,
// an assumed role (with external id and cached credentials) in member
// accounts — the retry policy (throttling backoff without a retry quota, so
// a burst of throttling does not turn into failures) and the service
// clients built from them.
//
// Clients are values passed to the response steps (through the context,
// see NewContext), never package-level singletons, so a test points every
// step at the test cloud by building a Clients from its aws.Config.
package cloud

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Account says how reflex reaches an account: the role it assumes there.
type Account struct {
	// ID is a 12-digit account id, or "*" for every account not listed.
	ID string
	// Role is a role name (assumed in the target account) or an ARN
	// template where {account} is the target account. Empty: the home
	// credentials are used as they are.
	Role       string
	ExternalID string
}

// RoleARN returns the role to assume in account, "" when none.
func (a Account) RoleARN(account, partition string) string {
	if a.Role == "" {
		return ""
	}
	if strings.HasPrefix(a.Role, "arn:") {
		return strings.ReplaceAll(a.Role, "{account}", account)
	}
	if partition == "" {
		partition = "aws"
	}
	return "arn:" + partition + ":iam::" + account + ":role/" + a.Role
}

// Options tune the retry policy.
type Options struct {
	// MaxAttempts per API call (default 10). Throttling and 5xx answers
	// are retried with exponential backoff and jitter.
	MaxAttempts int
	// MaxBackoff caps one retry delay (default 20s).
	MaxBackoff time.Duration
	// Backoff, when set, replaces the SDK's exponential jitter (tests).
	Backoff func(attempt int, err error) (time.Duration, error)
	// SessionName of assumed roles (default "reflex").
	SessionName string
	// Observe, when set, is called after every API call attempt with the
	// service, operation and error (the demo prints calls as they happen).
	Observe func(Call)
}

// Call is one API call as Options.Observe sees it.
type Call struct {
	Account, Region    string
	Service, Operation string
	Err                error
	Duration           time.Duration
}

// Clients builds and caches per-(account, region) configurations and
// service clients, and per-account assumed-role credentials (one
// AssumeRole serves every region of an account). The zero value is not
// usable: see New and FromConfig.
type Clients struct {
	base     aws.Config
	home     string // account of the base credentials, "" when unknown
	accounts []Account
	opt      Options

	mu    sync.Mutex
	cfgs  map[key]*entry
	creds map[string]*credEntry
	homeO sync.Once
}

type key struct{ account, region string }

type entry struct {
	mu  sync.Mutex // held while the configuration is built
	ok  bool
	cfg aws.Config

	svcMu sync.Mutex
	svc   map[string]any
}

// credEntry is an account's credentials: the assumed role's cache, or nil
// when the home credentials are used there.
type credEntry struct {
	mu   sync.Mutex // held while the role is assumed
	ok   bool
	prov aws.CredentialsProvider
}

// New loads the SDK's default configuration (environment, profiles, SSO,
// IMDS; AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> honoured) with
// reflex's retry policy.
func New(ctx context.Context, accounts []Account, opt Options) (*Clients, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	return FromConfig(cfg, accounts, opt), nil
}

// FromConfig uses base as the home configuration (tests pass the test
// cloud's), with reflex's retry policy.
func FromConfig(base aws.Config, accounts []Account, opt Options) *Clients {
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 10
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 20 * time.Second
	}
	if opt.SessionName == "" {
		opt.SessionName = "reflex"
	}
	base = base.Copy()
	base.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = opt.MaxAttempts
			o.MaxBackoff = opt.MaxBackoff
			// No client-side retry quota: under a burst of throttling the
			// quota would run dry and turn throttles into failures.
			o.RateLimiter = ratelimit.None
			if opt.Backoff != nil {
				o.Backoff = retry.BackoffDelayerFunc(opt.Backoff)
			}
		})
	}
	return &Clients{base: base, accounts: accounts, opt: opt, cfgs: map[key]*entry{}, creds: map[string]*credEntry{}}
}

// HomeAccount returns the account of the home credentials (sts
// GetCallerIdentity, asked once), "" when it cannot be known.
func (c *Clients) HomeAccount(ctx context.Context) string {
	c.homeO.Do(func() {
		out, err := sts.NewFromConfig(c.base).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err == nil && out.Account != nil {
			c.home = *out.Account
		}
	})
	return c.home
}

// accountFor returns the configured entry for account: the exact id, else
// "*", else none.
func (c *Clients) accountFor(account string) (Account, bool) {
	var star *Account
	for i := range c.accounts {
		switch c.accounts[i].ID {
		case account:
			return c.accounts[i], true
		case "*":
			star = &c.accounts[i]
		}
	}
	if star != nil {
		return *star, true
	}
	return Account{}, false
}

// Config returns the configuration to act in account and region: the
// home credentials when the account is the home account or no role is
// configured for it, else the configured role assumed there (credentials
// cached and refreshed before they expire). A failure is not cached: the
// next call tries again.
func (c *Clients) Config(ctx context.Context, account, region string) (aws.Config, error) {
	if region == "" {
		region = c.base.Region
	}
	c.mu.Lock()
	e := c.cfgs[key{account, region}]
	if e == nil {
		e = &entry{svc: map[string]any{}}
		c.cfgs[key{account, region}] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ok {
		return e.cfg, nil
	}
	cfg := c.base.Copy()
	cfg.Region = region
	if c.opt.Observe != nil {
		cfg.APIOptions = append(cfg.APIOptions, observer(account, region, c.opt.Observe))
	}
	prov, err := c.credentials(ctx, account, region)
	if err != nil {
		return aws.Config{}, err
	}
	if prov != nil {
		cfg.Credentials = prov
	}
	e.cfg, e.ok = cfg, true
	return cfg, nil
}

// credentials returns the credentials to act in account: nil for the home
// credentials, else the configured role's, assumed now unless cached (STS
// is asked in the home region, else in region).
func (c *Clients) credentials(ctx context.Context, account, region string) (aws.CredentialsProvider, error) {
	a, ok := c.accountFor(account)
	if !ok || a.Role == "" || account == "" {
		return nil, nil
	}
	c.mu.Lock()
	ce := c.creds[account]
	if ce == nil {
		ce = &credEntry{}
		c.creds[account] = ce
	}
	c.mu.Unlock()
	ce.mu.Lock()
	defer ce.mu.Unlock()
	if ce.ok {
		return ce.prov, nil
	}
	stsRegion := c.base.Region
	if stsRegion == "" {
		stsRegion = region
	}
	arn := a.RoleARN(account, "")
	stsc := sts.NewFromConfig(c.base, func(o *sts.Options) { o.Region = stsRegion })
	prov := stscreds.NewAssumeRoleProvider(stsc, arn, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = c.opt.SessionName
		if a.ExternalID != "" {
			o.ExternalID = aws.String(a.ExternalID)
		}
	})
	// refreshed in the background (KeepWarm) before they expire
	creds := aws.NewCredentialsCache(prov, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = refreshBefore })
	// Whether reflex runs in this account (then no role is assumed) is
	// asked while the role is assumed, so a cold start costs one round
	// trip, not two.
	home := make(chan string, 1)
	if a.ID == "*" {
		go func() { home <- c.HomeAccount(ctx) }()
	} else {
		home <- ""
	}
	_, err := creds.Retrieve(ctx)
	if h := <-home; h != "" && h == account {
		ce.ok = true
		return nil, nil // reflex runs in this account: no role to assume
	}
	// Fail here, with the role named, rather than in the first step.
	if err != nil {
		return nil, fmt.Errorf("assume %s (external id %q) for account %s: %w", arn, a.ExternalID, account, err)
	}
	ce.ok, ce.prov = true, creds
	return creds, nil
}

// refreshBefore is how long before they expire assumed-role credentials
// are renewed when asked for (KeepWarm asks more often than that).
const refreshBefore = 5 * time.Minute

// Prewarm assumes the configured role in each account now (unless its
// credentials are cached and fresh), so that the first finding about the
// account does not wait for AssumeRole. Accounts whose role fails are
// reported together; the others are warm.
func (c *Clients) Prewarm(ctx context.Context, accounts ...string) error {
	errs := make([]error, len(accounts))
	var wg sync.WaitGroup
	for i, account := range accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prov, err := c.credentials(ctx, account, "")
			if err == nil && prov != nil {
				_, err = prov.Retrieve(ctx) // renews credentials close to expiry
			}
			if err != nil {
				errs[i] = fmt.Errorf("prewarm %s: %w", account, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// KeepWarm prewarms accounts now and then every interval (default one
// minute) until ctx is done, so assumed-role credentials are renewed
// before they expire rather than when a finding needs them; failures go to
// report (may be nil). For long-running modes (reflex serve).
func (c *Clients) KeepWarm(ctx context.Context, accounts []string, interval time.Duration, report func(error)) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := c.Prewarm(ctx, accounts...); err != nil && report != nil && ctx.Err() == nil {
			report(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func client[T any](c *Clients, ctx context.Context, account, region, name string, mk func(aws.Config) T) (T, error) {
	var zero T
	cfg, err := c.Config(ctx, account, region)
	if err != nil {
		return zero, err
	}
	if region == "" {
		region = c.base.Region
	}
	c.mu.Lock()
	e := c.cfgs[key{account, region}]
	c.mu.Unlock()
	e.svcMu.Lock()
	defer e.svcMu.Unlock()
	if v, ok := e.svc[name]; ok {
		return v.(T), nil
	}
	v := mk(cfg)
	e.svc[name] = v
	return v, nil
}

// EC2 returns an EC2 client for account and region.
func (c *Clients) EC2(ctx context.Context, account, region string) (*ec2.Client, error) {
	return client(c, ctx, account, region, "ec2", func(cfg aws.Config) *ec2.Client { return ec2.NewFromConfig(cfg) })
}

// AutoScaling returns an Auto Scaling client.
func (c *Clients) AutoScaling(ctx context.Context, account, region string) (*autoscaling.Client, error) {
	return client(c, ctx, account, region, "autoscaling", func(cfg aws.Config) *autoscaling.Client { return autoscaling.NewFromConfig(cfg) })
}

// ELBv2 returns an Elastic Load Balancing v2 client.
func (c *Clients) ELBv2(ctx context.Context, account, region string) (*elasticloadbalancingv2.Client, error) {
	return client(c, ctx, account, region, "elbv2", func(cfg aws.Config) *elasticloadbalancingv2.Client {
		return elasticloadbalancingv2.NewFromConfig(cfg)
	})
}

// IAM returns an IAM client (IAM is global; region picks the endpoint's
// signing region only).
func (c *Clients) IAM(ctx context.Context, account, region string) (*iam.Client, error) {
	return client(c, ctx, account, region, "iam", func(cfg aws.Config) *iam.Client { return iam.NewFromConfig(cfg) })
}

// S3 returns an S3 client (path-style addressing, so endpoint overrides work).
func (c *Clients) S3(ctx context.Context, account, region string) (*s3.Client, error) {
	return client(c, ctx, account, region, "s3", func(cfg aws.Config) *s3.Client {
		return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	})
}

// GuardDuty returns a GuardDuty client.
func (c *Clients) GuardDuty(ctx context.Context, account, region string) (*guardduty.Client, error) {
	return client(c, ctx, account, region, "guardduty", func(cfg aws.Config) *guardduty.Client { return guardduty.NewFromConfig(cfg) })
}

// SecurityHub returns a Security Hub client.
func (c *Clients) SecurityHub(ctx context.Context, account, region string) (*securityhub.Client, error) {
	return client(c, ctx, account, region, "securityhub", func(cfg aws.Config) *securityhub.Client { return securityhub.NewFromConfig(cfg) })
}

type ctxKey struct{}

type lazy struct {
	once sync.Once
	fn   func(context.Context) (*Clients, error)
	c    *Clients
	err  error
}

// NewContext returns ctx carrying c: the response steps take their
// clients from it.
func NewContext(ctx context.Context, c *Clients) context.Context {
	return context.WithValue(ctx, ctxKey{}, &lazy{c: c, fn: func(context.Context) (*Clients, error) { return c, nil }})
}

// NewLazyContext returns ctx carrying clients made by fn on first use (a
// command that acts on nothing never loads AWS configuration).
func NewLazyContext(ctx context.Context, fn func(context.Context) (*Clients, error)) context.Context {
	return context.WithValue(ctx, ctxKey{}, &lazy{fn: fn})
}

// HasClients reports whether ctx carries clients (made or to be made).
func HasClients(ctx context.Context) bool {
	_, ok := ctx.Value(ctxKey{}).(*lazy)
	return ok
}

// ErrNoClients is returned by FromContext when the context carries none.
var ErrNoClients = errors.New("no AWS clients in this context (reflex was started without AWS configuration)")

// FromContext returns the clients ctx carries.
func FromContext(ctx context.Context) (*Clients, error) {
	l, _ := ctx.Value(ctxKey{}).(*lazy)
	if l == nil {
		return nil, ErrNoClients
	}
	l.once.Do(func() {
		if l.c == nil {
			l.c, l.err = l.fn(ctx)
		}
	})
	return l.c, l.err
}
