package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		wantErr string
	}{
		{"env:SLACK_WEBHOOK_URL", Ref{Scheme: "env", Name: "SLACK_WEBHOOK_URL"}, ""},
		{"ssm:/reflex/slack", Ref{Scheme: "ssm", Name: "/reflex/slack"}, ""},
		{"ssm:reflex.slack-url_1", Ref{Scheme: "ssm", Name: "reflex.slack-url_1"}, ""},
		{"ssm:arn:aws:ssm:us-east-1:123456789012:parameter/reflex/slack", Ref{Scheme: "ssm", Name: "arn:aws:ssm:us-east-1:123456789012:parameter/reflex/slack"}, ""},
		{"secretsmanager:reflex/pagerduty", Ref{Scheme: "secretsmanager", Name: "reflex/pagerduty"}, ""},
		{"secretsmanager:reflex/pd#routing_key", Ref{Scheme: "secretsmanager", Name: "reflex/pd", Key: "routing_key"}, ""},
		{"secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:reflex-AbCdEf#token", Ref{Scheme: "secretsmanager", Name: "arn:aws:secretsmanager:us-east-1:123456789012:secret:reflex-AbCdEf", Key: "token"}, ""},
		{"https://hooks.slack.com/services/T000/B000/XXXXSECRET", Ref{}, "webhook URLs are secrets"},
		{"xoxb-1234-SECRET", Ref{}, "not a secret reference"},
		{"env:", Ref{}, "not a secret reference"},
		{"env:1ABC", Ref{}, "not an environment variable name"},
		{"env:A B", Ref{}, "space or control"},
		{"ssm:/bad path", Ref{}, "space or control"},
		{"ssm:bad*name", Ref{}, "parameter name"},
		{"secretsmanager:#key", Ref{}, "want a secret name"},
		{"vault:secret/x", Ref{}, `unknown secret scheme "vault"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRef(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRef(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Fatalf("error repeats the secret: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if back, err := ParseRef(got.String()); err != nil || back != got {
				t.Fatalf("round trip of %q: %+v, %v", got.String(), back, err)
			}
		})
	}
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"env:X", "ssm:/a/b", "secretsmanager:a#b", "secretsmanager:arn:aws:x:y#k", "https://x", "", ":", "env:\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if r != (Ref{}) {
				t.Fatalf("error with a non-zero ref: %+v", r)
			}
			return
		}
		back, err := ParseRef(r.String())
		if err != nil || back != r {
			t.Fatalf("round trip %q → %+v → %q → %+v, %v", s, r, r.String(), back, err)
		}
		for _, c := range r.String() {
			if c < 0x20 || c == ' ' {
				t.Fatalf("ref %q holds a control or space", r)
			}
		}
	})
}

const topSecret = "https://hooks.slack.com/services/T0/B0/TOPSECRETVALUE"

func TestSecretNeverPrinted(t *testing.T) {
	s := NewSecret(Ref{Scheme: "env", Name: "X"}, Env(func(string) (string, bool) { return topSecret, true }))
	v, err := s.Value(context.Background())
	if err != nil || v != topSecret {
		t.Fatalf("Value = %q, %v", v, err)
	}
	type holder struct {
		URL *Secret `json:"url"`
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("config", "secret", s, "holder", holder{s})
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "secret", s)
	js, _ := json.Marshal(holder{s})
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s),
		fmt.Sprintf("%+v %#v", holder{s}, holder{s}), string(js), logs.String(),
	}
	for _, o := range outs {
		if strings.Contains(o, "TOPSECRET") || strings.Contains(o, "hooks.slack.com") {
			t.Errorf("secret leaked: %s", o)
		}
		if !strings.Contains(o, Redacted) {
			t.Errorf("no %s in %s", Redacted, o)
		}
	}
}

func TestSecretResolveErrorsNameTheReference(t *testing.T) {
	s := NewSecret(Ref{Scheme: "env", Name: "MISSING_VAR"}, Env(func(string) (string, bool) { return "", false }))
	_, err := s.Value(context.Background())
	if err == nil || !strings.Contains(err.Error(), "env:MISSING_VAR") {
		t.Fatalf("err = %v", err)
	}
	_, err = Resolvers{}.Resolve(context.Background(), Ref{Scheme: "ssm", Name: "/x"})
	if err == nil || !strings.Contains(err.Error(), "ssm:/x") {
		t.Fatalf("err = %v", err)
	}
}

func TestSecretCacheAndRefresh(t *testing.T) {
	calls := 0
	vals := []string{"one", "two"}
	fail := false
	s := NewSecret(Ref{Scheme: "env", Name: "X"}, ResolverFunc(func(context.Context, Ref) (string, error) {
		calls++
		if fail {
			return "", errors.New("unavailable")
		}
		return vals[min(calls-1, 1)], nil
	}))
	clock := NewFakeClock(time.Unix(1000, 0))
	s.now = clock.Now
	ctx := context.Background()
	for range 3 {
		if v, _ := s.Value(ctx); v != "one" {
			t.Fatalf("v = %q", v)
		}
	}
	if calls != 1 {
		t.Fatalf("resolved %d times, want once (lazy, cached)", calls)
	}
	clock.Advance(DefaultSecretTTL)
	if v, _ := s.Value(ctx); v != "two" || calls != 2 {
		t.Fatalf("after the TTL: v = %q, calls %d", v, calls)
	}
	clock.Advance(DefaultSecretTTL)
	fail = true
	if v, err := s.Value(ctx); v != "two" || err != nil {
		t.Fatalf("a failed refresh keeps the last value: %q, %v", v, err)
	}
	s.Forget()
	if _, err := s.Value(ctx); err == nil {
		t.Fatal("after Forget a failing resolver must fail")
	}
}
