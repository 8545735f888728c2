package fakeaws

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SNS (AWS query protocol). Publish delivers to SQS subscribers at once
// (the SNS JSON envelope, or the raw message with RawMessageDelivery);
// every publication is also kept on the topic for Published. CreateTopic
// takes attributes (KmsMasterKeyId, DisplayName, Policy …) and tags, and,
// as SNS does, returns an existing topic only when the attributes asked for
// match its own (else InvalidParameter); Get/SetTopicAttributes read and
// change them. Subscriptions that need confirmation (e-mail, HTTP) stay
// "PendingConfirmation" in listings.

type topic struct {
	Name, ARN string
	Attrs     map[string]string
	Tags      map[string]string
	Subs      []*subscription
	Published []Publication
}

type subscription struct {
	ARN, Protocol, Endpoint string
	Raw                     bool
	Pending                 bool // waits for the endpoint's confirmation
}

// Publication is a message published to a topic.
type Publication struct {
	MessageID, Subject, Message string
	Attributes                  map[string]string
	Time                        time.Time
}

const snsNS = "http://sns.amazonaws.com/doc/2010-03-31/"

func snsService() *service {
	s := &service{name: "sns", proto: protoQuery, xmlns: snsNS,
		throttleErr: &apiError{status: 400, code: "Throttling", msg: "Rate exceeded"}}
	s.query = map[string]queryHandler{
		"CreateTopic":              snsCreateTopic,
		"GetTopicAttributes":       snsGetTopicAttributes,
		"SetTopicAttributes":       snsSetTopicAttributes,
		"Subscribe":                snsSubscribe,
		"Publish":                  snsPublish,
		"ListSubscriptionsByTopic": snsListSubscriptions,
	}
	return s
}

func (c *Cloud) loadTopic(a *account, reg *region, ts TopicSpec) error {
	t := &topic{Name: ts.Name, ARN: "arn:aws:sns:" + reg.name + ":" + a.id + ":" + ts.Name}
	reg.topics[t.ARN] = t
	for _, ss := range ts.Subscriptions {
		ep := ss.Endpoint
		if ss.Protocol == "sqs" && !strings.HasPrefix(ep, "arn:") {
			q := reg.queues[ep]
			if q == nil {
				return errorf("subscription: no queue %s", ep)
			}
			ep = q.ARN
		}
		t.Subs = append(t.Subs, &subscription{ARN: t.ARN + ":" + c.uuid(), Protocol: ss.Protocol, Endpoint: ep, Raw: ss.Raw})
	}
	return nil
}

func (r *request) topic(arn string) (*topic, error) {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[2] != "sns" {
		return nil, badRequest("InvalidParameter", "Invalid parameter: TopicArn")
	}
	if p[4] != r.acct.id {
		return nil, newErr(403, "AuthorizationError", "User: %s is not authorized to perform: SNS:Publish on resource: %s", r.cred.ARN, arn)
	}
	t := r.acct.region(p[3]).topics[arn]
	if t == nil {
		return nil, notFound("NotFound", "Topic does not exist")
	}
	return t, nil
}

func snsCreateTopic(r *request) (string, error) {
	name := r.form.s("Name")
	if name == "" || len(name) > 256 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
		return "", badRequest("InvalidParameter", "Invalid parameter: Topic Name")
	}
	reg := r.reg()
	arn := "arn:aws:sns:" + reg.name + ":" + r.acct.id + ":" + name
	attrs := r.form.entries("Attributes", "key", "value")
	if t := reg.topics[arn]; t != nil {
		for k, v := range attrs {
			if t.Attrs[k] != v {
				return "", badRequest("InvalidParameter", "Invalid parameter: Attributes Reason: Topic already exists with different attributes")
			}
		}
		return (&xw{}).el("TopicArn", arn).String(), nil
	}
	t := &topic{Name: name, ARN: arn, Attrs: attrs, Tags: map[string]string{}}
	for _, m := range r.form.subs("Tags.member") {
		t.Tags[r.form.s(m+".Key")] = r.form.s(m + ".Value")
	}
	reg.topics[arn] = t
	return (&xw{}).el("TopicArn", arn).String(), nil
}

// topicAttributes are the attributes SetTopicAttributes may change.
var topicAttributes = []string{"DisplayName", "Policy", "DeliveryPolicy", "KmsMasterKeyId", "TracingConfig", "SignatureVersion", "DataProtectionPolicy"}

func snsGetTopicAttributes(r *request) (string, error) {
	t, err := r.topic(r.form.s("TopicArn"))
	if err != nil {
		return "", err
	}
	confirmed, pending := 0, 0
	for _, s := range t.Subs {
		if s.Pending {
			pending++
		} else {
			confirmed++
		}
	}
	all := map[string]string{"TopicArn": t.ARN, "Owner": r.acct.id, "DisplayName": "",
		"SubscriptionsConfirmed": strconv.Itoa(confirmed), "SubscriptionsPending": strconv.Itoa(pending), "SubscriptionsDeleted": "0"}
	for k, v := range t.Attrs {
		all[k] = v
	}
	var x xw
	x.open("Attributes")
	for _, k := range sortedKeys(all) {
		x.open("entry").el("key", k).el("value", all[k]).close("entry")
	}
	x.close("Attributes")
	return x.String(), nil
}

func snsSetTopicAttributes(r *request) (string, error) {
	t, err := r.topic(r.form.s("TopicArn"))
	if err != nil {
		return "", err
	}
	name := r.form.s("AttributeName")
	if !slices.Contains(topicAttributes, name) {
		return "", badRequest("InvalidParameter", "Invalid parameter: AttributeName")
	}
	if t.Attrs == nil {
		t.Attrs = map[string]string{}
	}
	t.Attrs[name] = r.form.s("AttributeValue")
	return "", nil
}

// entries reads a query-protocol map: prefix.entry.N.key / .value.
func (p params) entries(prefix, key, value string) map[string]string {
	m := map[string]string{}
	for _, e := range p.subs(prefix + ".entry") {
		m[p.s(e+"."+key)] = p.s(e + "." + value)
	}
	return m
}

func snsSubscribe(r *request) (string, error) {
	t, err := r.topic(r.form.s("TopicArn"))
	if err != nil {
		return "", err
	}
	proto, ep := r.form.s("Protocol"), r.form.s("Endpoint")
	attrs := r.form.entries("Attributes", "key", "value")
	switch proto {
	case "sqs":
		if r.c.queueByARN(ep) == nil {
			return "", badRequest("InvalidParameter", "Invalid parameter: SQS endpoint ARN")
		}
	case "email", "email-json", "http", "https", "lambda", "sms", "application", "firehose":
	default:
		return "", badRequest("InvalidParameter", "Invalid parameter: Amazon SNS does not support this protocol string: %s", proto)
	}
	for _, s := range t.Subs {
		if s.Protocol == proto && s.Endpoint == ep {
			return (&xw{}).el("SubscriptionArn", s.ARN).String(), nil
		}
	}
	s := &subscription{ARN: t.ARN + ":" + r.c.uuid(), Protocol: proto, Endpoint: ep, Raw: attrs["RawMessageDelivery"] == "true",
		Pending: proto != "sqs" && proto != "lambda" && proto != "firehose" && proto != "application"}
	t.Subs = append(t.Subs, s)
	arn := s.ARN
	if s.Pending && !r.form.b("ReturnSubscriptionArn") {
		arn = "pending confirmation"
	}
	return (&xw{}).el("SubscriptionArn", arn).String(), nil
}

func snsListSubscriptions(r *request) (string, error) {
	t, err := r.topic(r.form.s("TopicArn"))
	if err != nil {
		return "", err
	}
	var x xw
	x.open("Subscriptions")
	for _, s := range t.Subs {
		arn := s.ARN
		if s.Pending {
			arn = "PendingConfirmation"
		}
		x.open("member").el("SubscriptionArn", arn).el("Owner", r.acct.id).el("Protocol", s.Protocol).
			el("Endpoint", s.Endpoint).el("TopicArn", t.ARN).close("member")
	}
	x.close("Subscriptions")
	return x.String(), nil
}

func snsPublish(r *request) (string, error) {
	arn := r.form.s("TopicArn")
	if arn == "" {
		arn = r.form.s("TargetArn")
	}
	t, err := r.topic(arn)
	if err != nil {
		return "", err
	}
	msg, subject := r.form.s("Message"), r.form.s("Subject")
	if msg == "" {
		return "", badRequest("InvalidParameter", "Invalid parameter: Empty message")
	}
	if len(msg) > 256*1024 {
		return "", badRequest("InvalidParameter", "Invalid parameter: Message too long")
	}
	// MessageStructure=json: Message is an object of per-protocol messages;
	// "default" is required, and SQS subscribers get "sqs" or "default".
	perProtocol := map[string]string{}
	if r.form.s("MessageStructure") == "json" {
		if err := json.Unmarshal([]byte(msg), &perProtocol); err != nil {
			return "", badRequest("InvalidParameter", "Invalid parameter: Message Structure - JSON message body failed to parse")
		}
		if _, ok := perProtocol["default"]; !ok {
			return "", badRequest("InvalidParameter", "Invalid parameter: Message Structure - No default entry in JSON message body")
		}
	}
	attrs := map[string]string{}
	types := map[string]string{}
	for _, e := range r.form.subs("MessageAttributes.entry") {
		n := r.form.s(e + ".Name")
		attrs[n] = r.form.s(e + ".Value.StringValue")
		types[n] = r.form.s(e + ".Value.DataType")
	}
	now := r.c.clock()
	id := r.c.uuid()
	t.Published = append(t.Published, Publication{MessageID: id, Subject: subject, Message: msg, Attributes: attrs, Time: now})
	for _, s := range t.Subs {
		if s.Protocol != "sqs" {
			continue
		}
		q := r.c.queueByARN(s.Endpoint)
		if q == nil {
			continue
		}
		body := msg
		if len(perProtocol) > 0 {
			body = perProtocol["default"]
			if m, ok := perProtocol["sqs"]; ok {
				body = m
			}
		}
		var qattrs map[string]any
		if s.Raw {
			if len(attrs) > 0 {
				qattrs = map[string]any{}
				for k, v := range attrs {
					qattrs[k] = map[string]any{"DataType": types[k], "StringValue": v}
				}
			}
		} else {
			env := map[string]any{
				"Type": "Notification", "MessageId": id, "TopicArn": t.ARN, "Message": body,
				"Timestamp": isoTime(now), "SignatureVersion": "1", "Signature": "RkFLRQ==",
				"SigningCertURL": r.endpoint + "/SimpleNotificationService.pem",
				"UnsubscribeURL": r.endpoint + "/?Action=Unsubscribe&SubscriptionArn=" + s.ARN,
			}
			if subject != "" {
				env["Subject"] = subject
			}
			if len(attrs) > 0 {
				ma := map[string]any{}
				for k, v := range attrs {
					ma[k] = map[string]string{"Type": types[k], "Value": v}
				}
				env["MessageAttributes"] = ma
			}
			body = string(jsonMarshal(env))
		}
		r.c.enqueue(q, body, qattrs, q.Delay)
	}
	return (&xw{}).el("MessageId", id).String(), nil
}
