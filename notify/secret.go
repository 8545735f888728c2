package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Schemes of a secret reference.
const (
	SchemeEnv            = "env"            // env:NAME — an environment variable
	SchemeSSM            = "ssm"            // ssm:/path/name or ssm:arn:… — an SSM parameter (decrypted)
	SchemeSecretsManager = "secretsmanager" // secretsmanager:name-or-arn[#json-key] — a Secrets Manager secret
)

// Ref is a reference to a secret: where to read it, never the secret itself.
// It is safe to print and log.
type Ref struct {
	Scheme string // env | ssm | secretsmanager
	Name   string // variable name, parameter name or ARN, secret id or ARN
	Key    string // secretsmanager: the key of a JSON secret (after '#'), optional
}

func (r Ref) String() string {
	if r.Scheme == "" {
		return ""
	}
	s := r.Scheme + ":" + r.Name
	if r.Key != "" {
		s += "#" + r.Key
	}
	return s
}

// IsZero reports whether the reference is empty.
func (r Ref) IsZero() bool { return r.Scheme == "" }

// ParseRef reads a secret reference: env:NAME, ssm:/path (or ssm:arn:…),
// secretsmanager:ID[#key]. A value that is not a reference is refused, so a
// secret is never written in the configuration itself — and the error does
// not repeat the value, which may be a pasted secret.
func ParseRef(s string) (Ref, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" {
		return Ref{}, errors.New("not a secret reference: write env:NAME, ssm:/parameter/name or secretsmanager:secret-id (secrets are not written in the configuration)")
	}
	for _, r := range rest {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return Ref{}, fmt.Errorf("%s: reference contains a space or control character", scheme)
		}
	}
	if len(rest) > 2048 {
		return Ref{}, fmt.Errorf("%s: reference longer than 2048 characters", scheme)
	}
	switch scheme {
	case SchemeEnv:
		for i, r := range rest {
			if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
				return Ref{}, fmt.Errorf("env:%s: not an environment variable name (letters, digits, _)", rest)
			}
		}
		return Ref{Scheme: SchemeEnv, Name: rest}, nil
	case SchemeSSM:
		if !strings.HasPrefix(rest, "arn:") && !validSSMName(strings.TrimPrefix(rest, "/")) {
			return Ref{}, fmt.Errorf("ssm:%s: want a parameter name such as /reflex/slack (letters, digits, . - _ /) or a parameter ARN", rest)
		}
		return Ref{Scheme: SchemeSSM, Name: rest}, nil
	case SchemeSecretsManager:
		name, key, _ := strings.Cut(rest, "#")
		if name == "" {
			return Ref{}, errors.New("secretsmanager: want a secret name or ARN")
		}
		if strings.HasPrefix(rest, "arn:") {
			// ARNs contain ':'; a JSON key still follows '#'.
			name, key, _ = strings.Cut(rest, "#")
		}
		return Ref{Scheme: SchemeSecretsManager, Name: name, Key: key}, nil
	case "http", "https":
		return Ref{}, errors.New("a URL written in the configuration: webhook URLs are secrets, write env:NAME, ssm:/parameter/name or secretsmanager:secret-id")
	}
	return Ref{}, fmt.Errorf("unknown secret scheme %q: write env:NAME, ssm:/parameter/name or secretsmanager:secret-id", truncate(scheme, 20))
}

func validSSMName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/", r)) {
			return false
		}
	}
	return true
}

// Resolver reads the value of a secret reference.
type Resolver interface {
	Resolve(ctx context.Context, ref Ref) (string, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(ctx context.Context, ref Ref) (string, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(ctx context.Context, ref Ref) (string, error) { return f(ctx, ref) }

// Env resolves env: references with lookup (os.LookupEnv when nil).
func Env(lookup func(string) (string, bool)) Resolver {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return ResolverFunc(func(_ context.Context, ref Ref) (string, error) {
		v, ok := lookup(ref.Name)
		if !ok || v == "" {
			return "", fmt.Errorf("%s: the environment variable is not set", ref)
		}
		return v, nil
	})
}

// Resolvers picks a Resolver by scheme.
type Resolvers map[string]Resolver

// Resolve resolves ref with the resolver of its scheme.
func (rs Resolvers) Resolve(ctx context.Context, ref Ref) (string, error) {
	r, ok := rs[ref.Scheme]
	if !ok || r == nil {
		return "", fmt.Errorf("%s: no resolver for %s: references in this build", ref, ref.Scheme)
	}
	return r.Resolve(ctx, ref)
}

// Secret is a secret value read lazily from its reference and cached for a
// while (so a rotated secret is picked up). It prints, logs and marshals as
// [redacted]; only Value returns the secret.
type Secret struct {
	ref Ref
	res Resolver
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	value string
	at    time.Time
}

// Redacted is how a secret prints.
const Redacted = "[redacted]"

// DefaultSecretTTL is how long a resolved secret is kept before it is read again.
const DefaultSecretTTL = 15 * time.Minute

// NewSecret returns the secret ref names, resolved with res on first use.
func NewSecret(ref Ref, res Resolver) *Secret {
	return &Secret{ref: ref, res: res, ttl: DefaultSecretTTL, now: time.Now}
}

// Literal returns a secret holding v (tests, `reflex notify test` flags).
func Literal(v string) *Secret {
	return &Secret{ref: Ref{Scheme: "literal", Name: Redacted}, value: v, ttl: 1<<63 - 1, at: time.Now(), now: time.Now}
}

// Ref returns the secret's reference.
func (s *Secret) Ref() Ref {
	if s == nil {
		return Ref{}
	}
	return s.ref
}

// Value returns the secret, resolving it if it was never read or is stale.
// Errors name the reference, never the value.
func (s *Secret) Value(ctx context.Context) (string, error) {
	if s == nil {
		return "", errors.New("no secret configured")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.value != "" && s.now().Sub(s.at) < s.ttl {
		return s.value, nil
	}
	if s.res == nil {
		if s.value != "" {
			return s.value, nil
		}
		return "", fmt.Errorf("%s: no resolver", s.ref)
	}
	v, err := s.res.Resolve(ctx, s.ref)
	if err != nil {
		if s.value != "" {
			return s.value, nil // keep the last good value when a refresh fails
		}
		return "", err
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", fmt.Errorf("%s: the secret is empty", s.ref)
	}
	s.value, s.at = v, s.now()
	return v, nil
}

// Forget drops the cached value, so the next use reads the secret again
// (after the receiver refused it, for instance).
func (s *Secret) Forget() {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.res != nil {
		s.value = ""
	}
	s.mu.Unlock()
}

func (s *Secret) String() string { return Redacted }

// GoString keeps %#v from printing the value.
func (s *Secret) GoString() string { return Redacted }

// Format keeps every fmt verb from printing the value.
func (s *Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue keeps slog from printing the value.
func (s *Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON writes the reference, never the value.
func (s *Secret) MarshalJSON() ([]byte, error) {
	return []byte(`"` + Redacted + `"`), nil
}

// MarshalText writes [redacted].
func (s *Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
