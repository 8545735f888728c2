package sns_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/notify/notifytest"
	"github.com/reflexsec/reflex/notify/sns"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const topicARN = "arn:aws:sns:us-east-1:123456789012:reflex"

// fakeSNS speaks the SNS query protocol for Publish: it records each call's
// form and answers from errs (by call), then with success.
type fakeSNS struct {
	mu    sync.Mutex
	calls []url.Values
	errs  []struct {
		status     int
		code, kind string
	}
}

func (f *fakeSNS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	f.mu.Lock()
	f.calls = append(f.calls, form)
	i := len(f.calls) - 1
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if form.Get("Action") != "Publish" || form.Get("Version") != "2010-03-31" {
		w.WriteHeader(400)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, form.Get("Action"))
		return
	}
	if i < len(f.errs) {
		e := f.errs[i]
		w.WriteHeader(e.status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>%s</Type><Code>%s</Code><Message>failed</Message></Error><RequestId>r</RequestId></ErrorResponse>`, e.kind, e.code)
		return
	}
	fmt.Fprintf(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-%d</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>`, i)
}

func client(t *testing.T, h http.Handler) *awssns.Client {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return awssns.New(awssns.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
		})})
}

func TestPublish(t *testing.T) {
	f := &fakeSNS{}
	n, err := sns.New(sns.Config{TopicARN: topicARN, Client: client(t, f)})
	if err != nil {
		t.Fatal(err)
	}
	ev := notifytest.Hostile(now)
	ev.Finding.Title = strings.Repeat("Ünïcödé\r\n<!channel> ", 20)
	if err := n.Notify(context.Background(), &notify.Notification{Channel: "audit", Route: "all", Events: []*notify.Event{ev}, Total: 1, At: now}); err != nil {
		t.Fatal(err)
	}
	form := f.calls[0]
	if form.Get("TopicArn") != topicARN || form.Get("MessageStructure") != "json" {
		t.Errorf("form %v", form)
	}
	subj := form.Get("Subject")
	if len(subj) == 0 || len(subj) > 100 {
		t.Errorf("subject of %d characters", len(subj))
	}
	for _, c := range subj {
		if c < 0x20 || c > 0x7e {
			t.Errorf("subject has %q: %q", c, subj)
		}
	}
	if !strings.HasPrefix(subj, "reflex: High UnauthorizedAccess:EC2/") {
		t.Errorf("subject %q", subj)
	}
	var msg map[string]string
	if err := json.Unmarshal([]byte(form.Get("Message")), &msg); err != nil {
		t.Fatalf("Message is not the JSON MessageStructure wants: %v", err)
	}
	var body sns.Body
	if err := json.Unmarshal([]byte(msg["default"]), &body); err != nil {
		t.Fatalf("default is not JSON: %v", err)
	}
	if body.Total != 1 || len(body.Events) != 1 || body.Events[0].Finding.Title != ev.Finding.Title || body.Events[0].Steps[2].Status != notify.StepFailed {
		t.Errorf("body %+v", body)
	}
	if !strings.Contains(msg["email"], "ec2.isolate (") || !strings.Contains(msg["email"], "To release: reflex release d-sample-0001") {
		t.Errorf("email text:\n%s", msg["email"])
	}
	attrs := map[string]string{}
	for i := 1; form.Get(fmt.Sprintf("MessageAttributes.entry.%d.Name", i)) != ""; i++ {
		attrs[form.Get(fmt.Sprintf("MessageAttributes.entry.%d.Name", i))] = form.Get(fmt.Sprintf("MessageAttributes.entry.%d.Value.StringValue", i))
	}
	if attrs["band"] != "High" || attrs["kind"] != "decision" || attrs["outcome"] != "test" {
		t.Errorf("attributes %v", attrs)
	}
	if _, ok := attrs["account"]; ok {
		t.Error("a hostile account id became an attribute")
	}
}

func TestMessageWithinLimit(t *testing.T) {
	n := &notify.Notification{GroupKey: "g", Total: 1000, At: now}
	for range notify.MaxShown {
		ev := notify.SampleEvent(now)
		ev.Finding.Title = strings.Repeat("x", 60_000)
		n.Events = append(n.Events, ev)
	}
	in, err := sns.Build(topicARN, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(*in.Message) > sns.MaxMessage {
		t.Fatalf("message of %d bytes", len(*in.Message))
	}
	var msg map[string]string
	_ = json.Unmarshal([]byte(*in.Message), &msg)
	var body sns.Body
	_ = json.Unmarshal([]byte(msg["default"]), &body)
	if body.Total != 1000 || body.More != 1000-len(body.Events) || len(body.Events) == 0 {
		t.Errorf("total %d more %d shown %d", body.Total, body.More, len(body.Events))
	}
}

func TestFIFO(t *testing.T) {
	in, err := sns.Build(topicARN+".fifo", notify.SampleNotification(now), nil)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(in.MessageGroupId) != "123456789012" || len(aws.ToString(in.MessageDeduplicationId)) != 64 {
		t.Errorf("group %v dedup %v", aws.ToString(in.MessageGroupId), aws.ToString(in.MessageDeduplicationId))
	}
}

func TestSubject(t *testing.T) {
	tests := map[string]string{
		"":                       "reflex notification",
		"a\nb\r\nc":              "a b c",
		"héllo":                  "h?llo",
		strings.Repeat("a", 150): strings.Repeat("a", 97) + "...",
		"  \t lead":              "lead",
		"x\x00y":                 "x?y",
	}
	for in, want := range tests {
		if got := sns.Subject(in); got != want {
			t.Errorf("Subject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorsAreClassified(t *testing.T) {
	tests := []struct {
		status     int
		code, kind string
		retry      bool
	}{
		{400, "Throttling", "Sender", true},
		{500, "InternalError", "Receiver", true},
		{503, "ServiceUnavailable", "Receiver", true},
		{404, "NotFound", "Sender", false},
		{403, "AuthorizationError", "Sender", false},
		{400, "InvalidParameter", "Sender", false},
	}
	for _, tt := range tests {
		f := &fakeSNS{errs: []struct {
			status     int
			code, kind string
		}{{tt.status, tt.code, tt.kind}}}
		n, _ := sns.New(sns.Config{TopicARN: topicARN, Client: client(t, f)})
		err := n.Notify(context.Background(), notify.SampleNotification(now))
		if retry, _ := notify.Retryable(err); err == nil || retry != tt.retry || !strings.Contains(err.Error(), tt.code) {
			t.Errorf("%s: err %v retryable %v, want %v", tt.code, err, retry, tt.retry)
		}
	}
}
