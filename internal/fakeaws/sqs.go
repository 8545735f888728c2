package fakeaws

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SQS (awsJson 1.0, query-compatible: errors carry the legacy query code
// in X-Amzn-Query-Error). Kept: visibility timeouts (per queue and per
// receive, ChangeMessageVisibility), ApproximateReceiveCount, redrive to a
// dead-letter queue once a message has been received maxReceiveCount times,
// long polling (WaitTimeSeconds), MD5OfBody (the SDK checks it), receipt
// handles that change on every receive.

type message struct {
	ID, Body, MD5 string
	Attrs         map[string]any
	Sent          time.Time
	VisibleAt     time.Time
	ReceiveCount  int
	FirstReceive  time.Time
	Handle        string
}

type queue struct {
	Name, ARN, Account, Region string
	VisTimeout, Delay          int
	DLQ                        string // ARN
	MaxReceive                 int
	Msgs                       []*message
	Created                    time.Time
	Attrs                      map[string]string // other attributes as set
}

func sqsService() *service {
	s := &service{name: "sqs", proto: protoJSON, target: "AmazonSQS", jsonVersion: "1.0", errNS: "com.amazonaws.sqs#",
		throttleErr: &apiError{status: 400, code: "RequestThrottled", queryCode: "RequestThrottled", msg: "Rate exceeded"}}
	s.json = map[string]jsonHandler{
		"CreateQueue":             sqsCreateQueue,
		"GetQueueUrl":             sqsGetQueueURL,
		"GetQueueAttributes":      sqsGetQueueAttributes,
		"SetQueueAttributes":      sqsSetQueueAttributes,
		"SendMessage":             sqsSendMessage,
		"ReceiveMessage":          sqsReceiveMessage,
		"DeleteMessage":           sqsDeleteMessage,
		"DeleteMessageBatch":      sqsDeleteMessageBatch,
		"ChangeMessageVisibility": sqsChangeVisibility,
		"PurgeQueue":              sqsPurge,
	}
	return s
}

func sqsErr(code, queryCode, format string, a ...any) *apiError {
	e := badRequest(code, format, a...)
	e.queryCode = queryCode
	return e
}

func noQueue() error {
	return sqsErr("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
}

func (c *Cloud) loadQueue(a *account, reg *region, qs QueueSpec) *queue {
	q := &queue{Name: qs.Name, ARN: "arn:aws:sqs:" + reg.name + ":" + a.id + ":" + qs.Name, Account: a.id, Region: reg.name,
		VisTimeout: qs.VisibilityTimeout, Created: c.clock(), Attrs: map[string]string{}}
	if q.VisTimeout == 0 {
		q.VisTimeout = 30
	}
	reg.queues[q.Name] = q
	return q
}

func queueURL(endpoint string, q *queue) string { return endpoint + "/" + q.Account + "/" + q.Name }

// queueByURL finds a queue from its URL (…/{account}/{name}).
func (r *request) queueByURL(u string) (*queue, error) {
	pu, err := url.Parse(u)
	if err != nil || u == "" {
		return nil, noQueue()
	}
	segs := strings.Split(strings.Trim(pu.Path, "/"), "/")
	if len(segs) < 2 {
		return nil, noQueue()
	}
	owner, name := segs[len(segs)-2], segs[len(segs)-1]
	if owner != r.acct.id {
		if r.c.accounts[owner] == nil {
			return nil, noQueue()
		}
		return nil, newErr(403, "AccessDenied", "Access to the resource %s is denied.", u)
	}
	q := r.reg().queues[name]
	if q == nil {
		return nil, noQueue()
	}
	return q, nil
}

func (c *Cloud) queueByARN(arn string) *queue {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[2] != "sqs" {
		return nil
	}
	a := c.accounts[p[4]]
	if a == nil {
		return nil
	}
	return a.region(p[3]).queues[p[5]]
}

func sqsCreateQueue(r *request) (any, error) {
	name := jstr(r.in, "QueueName")
	if name == "" || len(name) > 80 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
		return nil, sqsErr("InvalidParameterValue", "InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	attrs := map[string]string{}
	for k, v := range jobj(r.in, "Attributes") {
		if s, ok := v.(string); ok {
			attrs[k] = s
		}
	}
	reg := r.reg()
	if q := reg.queues[name]; q != nil {
		if vt, ok := attrs["VisibilityTimeout"]; ok && vt != strconv.Itoa(q.VisTimeout) {
			return nil, sqsErr("QueueNameExists", "QueueAlreadyExists", "A queue already exists with the same name and a different value for attribute VisibilityTimeout")
		}
		return map[string]any{"QueueUrl": queueURL(r.endpoint, q)}, nil
	}
	q := r.c.loadQueue(r.acct, reg, QueueSpec{Name: name})
	if err := setQueueAttrs(r.c, q, attrs); err != nil {
		delete(reg.queues, name)
		return nil, err
	}
	return map[string]any{"QueueUrl": queueURL(r.endpoint, q)}, nil
}

func setQueueAttrs(c *Cloud, q *queue, attrs map[string]string) error {
	for k, v := range attrs {
		switch k {
		case "VisibilityTimeout", "DelaySeconds":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 43200 {
				return sqsErr("InvalidAttributeValue", "InvalidAttributeValue", "Invalid value for the parameter %s.", k)
			}
			if k == "VisibilityTimeout" {
				q.VisTimeout = n
			} else {
				q.Delay = n
			}
		case "RedrivePolicy":
			var rp struct {
				DeadLetterTargetArn string `json:"deadLetterTargetArn"`
				MaxReceiveCount     any    `json:"maxReceiveCount"`
			}
			if err := json.Unmarshal([]byte(v), &rp); err != nil {
				return sqsErr("InvalidAttributeValue", "InvalidAttributeValue", "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map.")
			}
			n, _ := strconv.Atoi(strings.Trim(string(jsonMarshal(rp.MaxReceiveCount)), `"`))
			if c.queueByARN(rp.DeadLetterTargetArn) == nil {
				return sqsErr("InvalidAttributeValue", "InvalidAttributeValue", "Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter target does not exist.", v)
			}
			if n < 1 || n > 1000 {
				return sqsErr("InvalidAttributeValue", "InvalidAttributeValue", "Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount.", v)
			}
			q.DLQ, q.MaxReceive = rp.DeadLetterTargetArn, n
		default:
			q.Attrs[k] = v
		}
	}
	return nil
}

func sqsGetQueueURL(r *request) (any, error) {
	owner := jstr(r.in, "QueueOwnerAWSAccountId")
	a := r.acct
	if owner != "" && owner != a.id {
		if a = r.c.accounts[owner]; a == nil {
			return nil, noQueue()
		}
		return nil, newErr(403, "AccessDenied", "Access to the queue is denied.")
	}
	q := a.region(r.region).queues[jstr(r.in, "QueueName")]
	if q == nil {
		return nil, noQueue()
	}
	return map[string]any{"QueueUrl": queueURL(r.endpoint, q)}, nil
}

func sqsSetQueueAttributes(r *request) (any, error) {
	q, err := r.queueByURL(jstr(r.in, "QueueUrl"))
	if err != nil {
		return nil, err
	}
	attrs := map[string]string{}
	for k, v := range jobj(r.in, "Attributes") {
		if s, ok := v.(string); ok {
			attrs[k] = s
		}
	}
	return map[string]any{}, setQueueAttrs(r.c, q, attrs)
}

func sqsGetQueueAttributes(r *request) (any, error) {
	q, err := r.queueByURL(jstr(r.in, "QueueUrl"))
	if err != nil {
		return nil, err
	}
	now := r.c.clock()
	visible, inflight, delayed := 0, 0, 0
	for _, m := range q.Msgs {
		switch {
		case m.ReceiveCount == 0 && m.VisibleAt.After(now):
			delayed++
		case m.VisibleAt.After(now):
			inflight++
		default:
			visible++
		}
	}
	all := map[string]string{
		"QueueArn":                              q.ARN,
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inflight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(delayed),
		"VisibilityTimeout":                     strconv.Itoa(q.VisTimeout),
		"DelaySeconds":                          strconv.Itoa(q.Delay),
		"CreatedTimestamp":                      strconv.FormatInt(q.Created.Unix(), 10),
	}
	if q.DLQ != "" {
		all["RedrivePolicy"] = `{"deadLetterTargetArn":"` + q.DLQ + `","maxReceiveCount":` + strconv.Itoa(q.MaxReceive) + `}`
	}
	for k, v := range q.Attrs {
		all[k] = v
	}
	want := jstrs(r.in, "AttributeNames")
	out := map[string]string{}
	for _, n := range want {
		if n == "All" {
			out = all
			break
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return map[string]any{"Attributes": out}, nil
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// enqueue adds a message (also used by SNS delivery).
func (c *Cloud) enqueue(q *queue, body string, attrs map[string]any, delay int) *message {
	now := c.clock()
	m := &message{ID: c.uuid(), Body: body, MD5: md5hex(body), Attrs: attrs, Sent: now,
		VisibleAt: now.Add(time.Duration(delay) * time.Second)}
	q.Msgs = append(q.Msgs, m)
	return m
}

func sqsSendMessage(r *request) (any, error) {
	q, err := r.queueByURL(jstr(r.in, "QueueUrl"))
	if err != nil {
		return nil, err
	}
	body := jstr(r.in, "MessageBody")
	if body == "" {
		return nil, sqsErr("MissingParameter", "MissingParameter", "The request must contain the parameter MessageBody.")
	}
	if len(body) > 1<<20 {
		return nil, sqsErr("InvalidParameterValue", "InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.")
	}
	m := r.c.enqueue(q, body, jobj(r.in, "MessageAttributes"), jint(r.in, "DelaySeconds", q.Delay))
	return map[string]any{"MessageId": m.ID, "MD5OfMessageBody": m.MD5}, nil
}

func sqsReceiveMessage(r *request) (any, error) {
	q, err := r.queueByURL(jstr(r.in, "QueueUrl"))
	if err != nil {
		return nil, err
	}
	n := jint(r.in, "MaxNumberOfMessages", 1)
	if n < 1 || n > 10 {
		return nil, sqsErr("InvalidParameterValue", "InvalidParameterValue", "Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", n)
	}
	vt := jint(r.in, "VisibilityTimeout", q.VisTimeout)
	wait := jint(r.in, "WaitTimeSeconds", 0)
	if wait < 0 || wait > 20 {
		return nil, sqsErr("InvalidParameterValue", "InvalidParameterValue", "Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", wait)
	}
	now := r.c.clock()
	wantAttrs := append(jstrs(r.in, "AttributeNames"), jstrs(r.in, "MessageSystemAttributeNames")...)
	wantMsgAttrs := jstrs(r.in, "MessageAttributeNames")
	var out []any
	for i := 0; i < len(q.Msgs) && len(out) < n; i++ {
		m := q.Msgs[i]
		if m.VisibleAt.After(now) {
			continue
		}
		// Redrive: a message already received maxReceiveCount times moves
		// to the dead-letter queue instead of being delivered again.
		if q.DLQ != "" && m.ReceiveCount >= q.MaxReceive {
			if dlq := r.c.queueByARN(q.DLQ); dlq != nil {
				q.Msgs = append(q.Msgs[:i], q.Msgs[i+1:]...)
				i--
				m.VisibleAt = now
				dlq.Msgs = append(dlq.Msgs, m)
				continue
			}
		}
		m.ReceiveCount++
		if m.FirstReceive.IsZero() {
			m.FirstReceive = now
		}
		m.VisibleAt = now.Add(time.Duration(vt) * time.Second)
		m.Handle = base64Handle(r.c, m.ID)
		msg := map[string]any{"MessageId": m.ID, "ReceiptHandle": m.Handle, "MD5OfBody": m.MD5, "Body": m.Body}
		attrs := map[string]string{}
		for _, a := range wantAttrs {
			if a == "All" || a == "ApproximateReceiveCount" {
				attrs["ApproximateReceiveCount"] = strconv.Itoa(m.ReceiveCount)
			}
			if a == "All" || a == "SentTimestamp" {
				attrs["SentTimestamp"] = strconv.FormatInt(m.Sent.UnixMilli(), 10)
			}
			if a == "All" || a == "ApproximateFirstReceiveTimestamp" {
				attrs["ApproximateFirstReceiveTimestamp"] = strconv.FormatInt(m.FirstReceive.UnixMilli(), 10)
			}
			if a == "All" || a == "SenderId" {
				attrs["SenderId"] = r.cred.UserID
			}
		}
		if len(attrs) > 0 {
			msg["Attributes"] = attrs
		}
		if len(wantMsgAttrs) > 0 && len(m.Attrs) > 0 {
			ma := map[string]any{}
			for k, v := range m.Attrs {
				for _, w := range wantMsgAttrs {
					if w == "All" || w == ".*" || w == k || (strings.HasSuffix(w, ".*") && strings.HasPrefix(k, strings.TrimSuffix(w, "*"))) {
						ma[k] = v
					}
				}
			}
			msg["MessageAttributes"] = ma
		}
		out = append(out, msg)
	}
	if len(out) == 0 && wait > 0 {
		if r.pollTill.IsZero() {
			r.pollTill = now.Add(time.Duration(wait) * time.Second)
		}
		return nil, errEmpty
	}
	if len(out) == 0 {
		return map[string]any{}, nil
	}
	return map[string]any{"Messages": out}, nil
}

func base64Handle(c *Cloud, id string) string {
	return strings.ReplaceAll(id, "-", "") + c.secret() + c.secret()
}

func (q *queue) byHandle(h string) (int, *message) {
	for i, m := range q.Msgs {
		if m.Handle != "" && m.Handle == h {
			return i, m
		}
	}
	return -1, nil
}

func invalidHandle(h string) error {
	return sqsErr("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "The input receipt handle \"%s\" is not a valid receipt handle.", h)
}

func sqsDeleteMessage(r *request) (any, error) {
	q, err := r.queueByURL(jstr(r.in, "QueueUrl"))
	if err != nil {
		return nil, err
	}
	h := jstr(r.in, "ReceiptHandle")
	i, _ := q.byHandle(h)
	if i < 0 {
		if len(h) < 40 {
			return nil, invalidHandle(h)
		}
		return map[string]any{}, nil // already deleted: SQS answers success
	}
	q.Msgs = append(q.Msgs[:i], q.Msgs[i+1:]...)
	return map[string]any{}, nil
}

func sqsDeleteMessageBatch(r *request) (any, error) {
	q, err := r.queueByURL(jstr(r.in, "QueueUrl"))
	if err != nil {
		return nil, err
	}
	entries := jlist(r.in, "Entries")
	if len(entries) == 0 {
		return nil, sqsErr("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one DeleteMessageBatchRequestEntry in the request.")
	}
	if len(entries) > 10 {
		return nil, sqsErr("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent %d.", len(entries))
	}
	seen := map[string]bool{}
	ok, failed := []any{}, []any{}
	for _, e := range entries {
		m, _ := e.(map[string]any)
		id, h := jstr(m, "Id"), jstr(m, "ReceiptHandle")
		if seen[id] {
			return nil, sqsErr("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id %s repeated.", id)
		}
		seen[id] = true
		if i, _ := q.byHandle(h); i >= 0 {
			q.Msgs = append(q.Msgs[:i], q.Msgs[i+1:]...)
			ok = append(ok, map[string]any{"Id": id})
		} else if len(h) >= 40 {
			ok = append(ok, map[string]any{"Id": id})
		} else {
			failed = append(failed, map[string]any{"Id": id, "Code": "ReceiptHandleIsInvalid", "SenderFault": true,
				"Message": "The input receipt handle is invalid."})
		}
	}
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}

func sqsChangeVisibility(r *request) (any, error) {
	q, err := r.queueByURL(jstr(r.in, "QueueUrl"))
	if err != nil {
		return nil, err
	}
	h := jstr(r.in, "ReceiptHandle")
	_, m := q.byHandle(h)
	if m == nil {
		return nil, invalidHandle(h)
	}
	now := r.c.clock()
	if !m.VisibleAt.After(now) {
		return nil, sqsErr("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", "Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.", h)
	}
	vt := jint(r.in, "VisibilityTimeout", -1)
	if vt < 0 || vt > 43200 {
		return nil, sqsErr("InvalidParameterValue", "InvalidParameterValue", "Value %d for parameter VisibilityTimeout is invalid.", vt)
	}
	m.VisibleAt = now.Add(time.Duration(vt) * time.Second)
	return map[string]any{}, nil
}

func sqsPurge(r *request) (any, error) {
	q, err := r.queueByURL(jstr(r.in, "QueueUrl"))
	if err != nil {
		return nil, err
	}
	q.Msgs = nil
	return map[string]any{}, nil
}
