package fakeaws

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// DefaultRegion is the region used when a scenario or caller names none.
const DefaultRegion = "us-east-1"

// Cloud is one emulated AWS: accounts, their resources, credentials, faults
// and the call log. It is safe for concurrent use; create it with New.
type Cloud struct {
	mu       sync.Mutex
	rng      *rand.Rand
	now      func() time.Time
	accounts map[string]*account
	creds    map[string]*credential // by access key id
	buckets  map[string]*bucket     // S3 bucket names are global
	ext      ext                    // the services of ext_*.go files
	deploy   deployState            // lambda.go, logs.go, dynamodb.go

	faultMu sync.Mutex
	faults  []*faultRule
	frng    *rand.Rand
	latency time.Duration

	callMu sync.Mutex
	calls  []Call
}

// Option configures a Cloud.
type Option func(*Cloud)

// WithSeed makes generated ids and fault-rate decisions deterministic.
func WithSeed(seed uint64) Option {
	return func(c *Cloud) {
		c.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		c.frng = rand.New(rand.NewPCG(seed+1, seed^0x51ed27))
	}
}

// WithClock replaces time.Now, e.g. to step SQS visibility timeouts in tests.
func WithClock(now func() time.Time) Option { return func(c *Cloud) { c.now = now } }

// WithLatency adds d to every call (on top of per-operation fault latency).
func WithLatency(d time.Duration) Option { return func(c *Cloud) { c.latency = d } }

// New returns an empty cloud. Load a scenario, or add accounts with
// AddAccount, before serving requests.
func New(opts ...Option) *Cloud {
	c := &Cloud{
		now:      time.Now,
		accounts: map[string]*account{},
		creds:    map[string]*credential{},
		buckets:  map[string]*bucket{},
	}
	WithSeed(uint64(time.Now().UnixNano()))(c)
	for _, o := range opts {
		o(c)
	}
	return c
}

// credential is a key pair that maps to a principal in an account.
type credential struct {
	AccessKeyID  string
	Secret       string
	SessionToken string
	Account      string
	ARN          string // caller ARN (root, user or assumed-role session)
	UserID       string
	User         string // IAM user name when the key belongs to a user
	RoleARN      string // the role behind an assumed-role session
	Expires      time.Time
}

type account struct {
	id       string
	name     string
	users    map[string]*iamUser
	roles    map[string]*iamRole
	profiles map[string]*instanceProfile
	regions  map[string]*region
}

type region struct {
	name       string
	gdAdmins   []string // GuardDuty delegated administrator (set from the management account)
	vpcs       map[string]*vpc
	subnets    map[string]*subnet
	sgs        map[string]*securityGroup
	instances  map[string]*instance
	enis       map[string]*eni
	volumes    map[string]*volume
	snapshots  map[string]*snapshot
	addresses  map[string]*address // by allocation id
	assocs     map[string]*profileAssoc
	tags       map[string]map[string]string
	asgs       map[string]*asg
	tgs        map[string]*targetGroup // by ARN
	topics     map[string]*topic       // by ARN
	queues     map[string]*queue       // by name
	detectors  map[string]*detector
	hub        map[string]*hubFinding // by product ARN + "|" + id
	hubOrder   []string
	rules      map[string]*rule // by bus + "/" + name
	order      map[string]int   // creation order of ids, for stable listings
	orderCount int
}

func (c *Cloud) acct(id string) *account {
	a := c.accounts[id]
	if a == nil {
		a = &account{id: id, users: map[string]*iamUser{}, roles: map[string]*iamRole{},
			profiles: map[string]*instanceProfile{}, regions: map[string]*region{}}
		c.accounts[id] = a
	}
	return a
}

func (a *account) region(name string) *region {
	if name == "" {
		name = DefaultRegion
	}
	r := a.regions[name]
	if r == nil {
		r = &region{name: name, vpcs: map[string]*vpc{}, subnets: map[string]*subnet{},
			sgs: map[string]*securityGroup{}, instances: map[string]*instance{}, enis: map[string]*eni{},
			volumes: map[string]*volume{}, snapshots: map[string]*snapshot{}, addresses: map[string]*address{},
			assocs: map[string]*profileAssoc{}, tags: map[string]map[string]string{}, asgs: map[string]*asg{},
			tgs: map[string]*targetGroup{}, topics: map[string]*topic{}, queues: map[string]*queue{},
			detectors: map[string]*detector{}, hub: map[string]*hubFinding{}, rules: map[string]*rule{},
			order: map[string]int{}}
		a.regions[name] = r
	}
	return r
}

// seen records the creation order of an id so listings are stable.
func (r *region) seen(id string) {
	if _, ok := r.order[id]; !ok {
		r.orderCount++
		r.order[id] = r.orderCount
	}
}

// AddAccount declares an account with one root access key pair (the
// scenario's "credentials"). Calling it again adds a further key.
func (c *Cloud) AddAccount(id, accessKeyID, secret string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.acct(id)
	if accessKeyID != "" {
		c.creds[accessKeyID] = &credential{AccessKeyID: accessKeyID, Secret: secret, Account: id,
			ARN: "arn:aws:iam::" + id + ":root", UserID: id}
	}
}

// Credentials returns an access key pair of the account (its first root key
// in id order), or false if it has none.
func (c *Cloud) Credentials(accountID string) (accessKeyID, secret string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	best := ""
	for id, cr := range c.creds {
		if cr.Account == accountID && cr.User == "" && cr.RoleARN == "" && (best == "" || id < best) {
			best = id
		}
	}
	if best == "" {
		return "", "", false
	}
	return best, c.creds[best].Secret, true
}

// Accounts lists the account ids, sorted.
func (c *Cloud) Accounts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return sortedKeys(c.accounts)
}

const hexdigits = "0123456789abcdef"

// id returns prefix followed by n random hex digits.
func (c *Cloud) id(prefix string, n int) string {
	var b strings.Builder
	b.WriteString(prefix)
	for range n {
		b.WriteByte(hexdigits[c.rng.IntN(16)])
	}
	return b.String()
}

// upperID returns prefix followed by n random upper-case letters and digits
// (IAM ids and access keys).
func (c *Cloud) upperID(prefix string, n int) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var b strings.Builder
	b.WriteString(prefix)
	for range n {
		b.WriteByte(alpha[c.rng.IntN(len(alpha))])
	}
	return b.String()
}

func (c *Cloud) uuid() string {
	s := c.id("", 32)
	return fmt.Sprintf("%s-%s-%s-%s-%s", s[:8], s[8:12], s[12:16], s[16:20], s[20:])
}

func (c *Cloud) secret() string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, 40)
	for i := range b {
		b[i] = alpha[c.rng.IntN(len(alpha))]
	}
	return string(b)
}
