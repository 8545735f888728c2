package channels

import (
	"context"
	"fmt"
	"testing"

	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/notify/sns"
)

type nopSNS struct{}

func (nopSNS) Publish(context.Context, *awssns.PublishInput, ...func(*awssns.Options)) (*awssns.PublishOutput, error) {
	return &awssns.PublishOutput{}, nil
}

func TestBuildEveryType(t *testing.T) {
	cfg, err := notify.ParseConfig([]byte(`{"channels":{
		"a":{"type":"slack","webhook_url":"env:A"},
		"b":{"type":"slack","token":"ssm:/reflex/slack-token","channel":"C123"},
		"c":{"type":"teams","webhook_url":"secretsmanager:reflex/teams"},
		"d":{"type":"pagerduty","routing_key":"env:PD"},
		"e":{"type":"webhook","url":"env:U","signing_secret":"env:S"},
		"f":{"type":"sns","topic_arn":"arn:aws:sns:eu-west-1:123456789012:reflex"}},
		"routes":[{"channels":["a","b","c","d","e","f"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var regions []string
	ns, err := Build(cfg, Deps{Resolver: notify.Env(nil), HTTP: &notify.HTTP{}, SNS: func(r string) sns.API {
		regions = append(regions, r)
		return nopSNS{}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 6 || fmt.Sprint(regions) != "[eu-west-1]" {
		t.Fatalf("%d notifiers, SNS regions %v", len(ns), regions)
	}
	if _, err := notify.NewDispatcher(cfg, ns, notify.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(cfg, Deps{}); err == nil {
		t.Error("SNS without AWS configuration built")
	}
}

func TestDefaultNeedsNoAWSForEnvSecrets(t *testing.T) {
	t.Setenv("REFLEX_TEST_SECRET", "v")
	d := Default(context.Background(), &notify.HTTP{})
	v, err := d.Resolver.Resolve(context.Background(), notify.Ref{Scheme: "env", Name: "REFLEX_TEST_SECRET"})
	if err != nil || v != "v" {
		t.Fatalf("%q %v", v, err)
	}
}
