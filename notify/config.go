package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Channel types.
const (
	TypeSNS       = "sns"
	TypeSlack     = "slack"
	TypeTeams     = "teams"
	TypePagerDuty = "pagerduty"
	TypeWebhook   = "webhook"
)

// Duration is a time.Duration written as Go duration text (30s, 5m, 1h).
type Duration time.Duration

// UnmarshalJSON reads "30s" (or a number of seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n float64
		if json.Unmarshal(b, &n) != nil {
			return errors.New("want a duration such as 30s, 5m or 1h")
		}
		*d = Duration(n * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration: write 30s, 5m, 1h30m", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Config is the notifications section of the configuration.
//
//	notifications:
//	  channels:
//	    soc:   {type: slack, webhook_url: env:SLACK_WEBHOOK_URL}
//	    pager: {type: pagerduty, routing_key: ssm:/reflex/pagerduty}
//	  routes:
//	    - {name: all, channels: [soc]}
//	    - {name: urgent, channels: [pager], match: {bands: [High, Critical]}}
type Config struct {
	Channels map[string]*ChannelConfig `json:"channels"`
	Routes   []*Route                  `json:"routes"`
	// Queue bounds the events waiting to be routed (default 1000); when it
	// is full an event is dropped and the drop reported, never waited on.
	Queue int `json:"queue,omitempty"`
}

// ChannelConfig configures one channel. Which fields apply depends on Type;
// secrets are references (env:, ssm:, secretsmanager:), never values.
type ChannelConfig struct {
	Type string `json:"type"`

	// slack, teams: the incoming/workflow webhook URL (secret).
	WebhookURL string `json:"webhook_url,omitempty"`
	// slack: a bot token (secret) and the channel for chat.postMessage.
	Token   string `json:"token,omitempty"`
	Channel string `json:"channel,omitempty"`
	// pagerduty: the integration's routing key (secret).
	RoutingKey string `json:"routing_key,omitempty"`
	// sns: the topic, and its region when not the topic ARN's.
	TopicARN string `json:"topic_arn,omitempty"`
	// webhook: the URL (secret) and the HMAC signing secret.
	URL           string `json:"url,omitempty"`
	SigningSecret string `json:"signing_secret,omitempty"`
	// Endpoint overrides the API URL (pagerduty's EU endpoint, slack's API
	// base, an SNS endpoint for tests). Not a secret.
	Endpoint string `json:"endpoint,omitempty"`

	Templates Templates    `json:"templates,omitzero"`
	RateLimit *RateLimit   `json:"rate_limit,omitempty"`
	Retry     *RetryPolicy `json:"retry,omitempty"`
	Timeout   Duration     `json:"timeout,omitempty"` // per attempt (default 10s)

	// Name is the channel's key in the channels map.
	Name string `json:"-"`
	// Template is the parsed Templates.
	Template *Template `json:"-"`
}

// Route sends matching events to channels.
type Route struct {
	Name     string   `json:"name"`
	Channels []string `json:"channels"`
	Match    Match    `json:"match,omitzero"`
	// GroupBy lists the fields events of one message share (default rule,
	// type, account): rule, type, account, region, band, outcome, resource,
	// finding, kind.
	GroupBy []string `json:"group_by,omitempty"`
	// GroupWindow: the first event of a group goes at once, the ones that
	// follow within the window go together at its end (default 1m; 0s sends
	// each event alone).
	GroupWindow *Duration `json:"group_window,omitempty"`
	// RepeatInterval: an unchanged re-sent finding is not announced again
	// within it (default 4h; 0s announces every time).
	RepeatInterval *Duration `json:"repeat_interval,omitempty"`
	// Continue: later routes still apply after this one matched (default true).
	Continue *bool `json:"continue,omitempty"`
}

// Match selects events. Empty lists match everything; all non-empty lists
// must match.
type Match struct {
	Rules    []string `json:"rules,omitempty"`    // rule names (* wildcards)
	Bands    []string `json:"bands,omitempty"`    // Low, Medium, High, Critical
	MinBand  string   `json:"min_band,omitempty"` // this band and above
	Accounts []string `json:"accounts,omitempty"`
	Regions  []string `json:"regions,omitempty"`
	Types    []string `json:"types,omitempty"`    // finding types (* wildcards)
	Kinds    []string `json:"kinds,omitempty"`    // decision, release, test
	Outcomes []string `json:"outcomes,omitempty"` // e.g. failed, waiting-approval
	Modes    []string `json:"modes,omitempty"`    // dry-run, approve, enforce
	Samples  *bool    `json:"samples,omitempty"`  // sample findings (default: match them too)
}

// Defaults of a route.
const (
	DefaultGroupWindow    = time.Minute
	DefaultRepeatInterval = 4 * time.Hour
	DefaultQueue          = 1000
)

// DefaultGroupBy is the grouping of a route without group_by.
var DefaultGroupBy = []string{"rule", "type", "account"}

var bands = []string{"Low", "Medium", "High", "Critical"}

// ParseConfig reads the notifications section from JSON (the policy
// package converts its YAML node to JSON), applies defaults and validates.
// Errors name the offending key path.
func ParseConfig(data []byte) (*Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("notifications: %s", jsonError(err))
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func jsonError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	if strings.HasPrefix(msg, "unknown field ") {
		return "unknown key " + strings.TrimPrefix(msg, "unknown field ")
	}
	return msg
}

// required lists the fields of each channel type: required, optional.
var channelFields = map[string]struct{ required, optional []string }{
	TypeSNS:       {[]string{"topic_arn"}, []string{"endpoint"}},
	TypeSlack:     {nil, []string{"webhook_url", "token", "channel", "endpoint"}},
	TypeTeams:     {[]string{"webhook_url"}, nil},
	TypePagerDuty: {[]string{"routing_key"}, []string{"endpoint"}},
	TypeWebhook:   {[]string{"url", "signing_secret"}, nil},
}

var secretFields = map[string]bool{"webhook_url": true, "token": true, "routing_key": true, "url": true, "signing_secret": true}

func (ch *ChannelConfig) fields() map[string]string {
	return map[string]string{
		"webhook_url": ch.WebhookURL, "token": ch.Token, "channel": ch.Channel,
		"routing_key": ch.RoutingKey, "topic_arn": ch.TopicARN, "url": ch.URL,
		"signing_secret": ch.SigningSecret, "endpoint": ch.Endpoint,
	}
}

// Validate applies defaults and checks the configuration; it reports every
// problem, each with its key path.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Queue < 0 {
		add("notifications.queue: must not be negative")
	}
	if c.Queue == 0 {
		c.Queue = DefaultQueue
	}
	names := make([]string, 0, len(c.Channels))
	for n := range c.Channels {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		ch := c.Channels[name]
		at := "notifications.channels." + name
		if ch == nil {
			add("%s: empty channel: give at least its type", at)
			continue
		}
		ch.Name = name
		spec, ok := channelFields[ch.Type]
		if !ok {
			add("%s.type: %q: want one of sns, slack, teams, pagerduty, webhook", at, ch.Type)
			continue
		}
		allowed := append(append([]string{}, spec.required...), spec.optional...)
		fs := ch.fields()
		keys := make([]string, 0, len(fs))
		for k := range fs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := fs[k]
			if v == "" {
				if slices.Contains(spec.required, k) {
					add("%s.%s: required for a %s channel", at, k, ch.Type)
				}
				continue
			}
			if !slices.Contains(allowed, k) {
				add("%s.%s: not a setting of a %s channel (it has %s)", at, k, ch.Type, strings.Join(allowed, ", "))
				continue
			}
			if secretFields[k] {
				if _, err := ParseRef(v); err != nil {
					add("%s.%s: %v", at, k, err)
				}
			}
		}
		switch ch.Type {
		case TypeSlack:
			if (ch.WebhookURL == "") == (ch.Token == "") {
				add("%s: give either webhook_url (incoming webhook) or token and channel (chat.postMessage)", at)
			}
			if ch.Token != "" && ch.Channel == "" {
				add("%s.channel: required with token (the channel id or name chat.postMessage posts to)", at)
			}
		case TypeSNS:
			if !strings.HasPrefix(ch.TopicARN, "arn:") || strings.Count(ch.TopicARN, ":") != 5 {
				add("%s.topic_arn: %q is not a topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", at, ch.TopicARN)
			}
		}
		if ch.Endpoint != "" && !strings.HasPrefix(ch.Endpoint, "https://") && !strings.HasPrefix(ch.Endpoint, "http://") {
			add("%s.endpoint: want an http(s) URL", at)
		}
		if rl := ch.RateLimit; rl != nil && (rl.Messages <= 0 || rl.Per <= 0) {
			add("%s.rate_limit: give messages (> 0) and per (a duration such as 1m)", at)
		}
		if r := ch.Retry; r != nil && r.Attempts < 0 {
			add("%s.retry.attempts: must not be negative", at)
		}
		t, err := ParseTemplates(ch.Templates)
		if err != nil {
			add("%s.templates: %v", at, err)
		}
		ch.Template = t
	}
	if len(c.Channels) > 0 && len(c.Routes) == 0 {
		add("notifications.routes: no route: add one, e.g. {name: all, channels: [%s]}", names[0])
	}
	seen := map[string]bool{}
	for i, r := range c.Routes {
		at := fmt.Sprintf("notifications.routes[%d]", i+1)
		if r == nil {
			add("%s: empty route", at)
			continue
		}
		if r.Name == "" {
			r.Name = fmt.Sprintf("route-%d", i+1)
		} else {
			at += " (" + r.Name + ")"
		}
		if seen[r.Name] {
			add("%s.name: %q is used by another route", at, r.Name)
		}
		seen[r.Name] = true
		if len(r.Channels) == 0 {
			add("%s.channels: list at least one channel", at)
		}
		for _, cn := range r.Channels {
			if c.Channels[cn] == nil {
				add("%s.channels: no channel named %q (have %s)", at, cn, strings.Join(names, ", "))
			}
		}
		if r.GroupBy == nil {
			r.GroupBy = DefaultGroupBy
		}
		for _, f := range r.GroupBy {
			if !slices.Contains(groupFields, f) {
				add("%s.group_by: %q: want some of %s", at, f, strings.Join(groupFields, ", "))
			}
		}
		if r.GroupWindow == nil {
			d := Duration(DefaultGroupWindow)
			r.GroupWindow = &d
		}
		if r.RepeatInterval == nil {
			d := Duration(DefaultRepeatInterval)
			r.RepeatInterval = &d
		}
		m := &r.Match
		for _, b := range m.Bands {
			if !slices.Contains(bands, b) {
				add("%s.match.bands: %q: want Low, Medium, High or Critical", at, b)
			}
		}
		if m.MinBand != "" && !slices.Contains(bands, m.MinBand) {
			add("%s.match.min_band: %q: want Low, Medium, High or Critical", at, m.MinBand)
		}
		for _, a := range m.Accounts {
			if !ValidAccount(a) {
				add("%s.match.accounts: %q is not a 12-digit account id", at, a)
			}
		}
		for _, k := range m.Kinds {
			if k != KindDecision && k != KindRelease && k != KindTest {
				add("%s.match.kinds: %q: want decision, release or test", at, k)
			}
		}
	}
	return errors.Join(errs...)
}
