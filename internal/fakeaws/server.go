package fakeaws

import (
	"context"
	"errors"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

type protocol int

const (
	protoEC2 protocol = iota
	protoQuery
	protoJSON
	protoRestJSON
	protoRestXML
)

type (
	queryHandler func(*request) (string, error)
	jsonHandler  func(*request) (any, error)
)

type route struct {
	method, pattern, op string
	h                   jsonHandler
}

// service is one emulated AWS service: its protocol and operations.
type service struct {
	name        string // SigV4 signing name
	proto       protocol
	xmlns       string // query protocols
	target      string // JSON: X-Amz-Target prefix
	jsonVersion string // JSON: 1.0 or 1.1
	errNS       string // JSON: __type namespace
	query       map[string]queryHandler
	json        map[string]jsonHandler
	routes      []route
	s3          func(*request) (*s3Response, error)
	throttleErr *apiError
	global      bool // IAM: resources are not regional
}

func (s *service) throttle() *apiError {
	e := *s.throttleErr
	return &e
}

func (s *service) internal() *apiError {
	code := "InternalFailure"
	if s.proto == protoEC2 || s.proto == protoRestXML {
		code = "InternalError"
	}
	return &apiError{status: http.StatusInternalServerError, code: code, queryCode: code,
		msg: "We encountered an internal error. Please try again.", server: true}
}

// services are built once per Cloud (they are stateless tables).
func (c *Cloud) services() map[string]*service {
	m := map[string]*service{}
	for _, s := range []*service{ec2Service(), iamService(), stsService(), snsService(), sqsService(),
		guarddutyService(), securityhubService(), s3Service(), autoscalingService(), elbv2Service(), eventsService(), ssmService(),
		lambdaService(), logsService(), dynamodbService()} {
		m[s.name] = s
	}
	return m
}

// request is one call being served.
type request struct {
	c        *Cloud
	svc      *service
	op       string
	http     *http.Request
	body     []byte
	form     params
	in       map[string]any // JSON body
	labels   map[string]string
	cred     *credential
	acct     *account
	region   string
	endpoint string
	pollTill time.Time // long polling: retry the handler until then while it returns errEmpty
}

// reg is the caller's region state.
func (r *request) reg() *region { return r.acct.region(r.region) }

var errEmpty = errors.New("nothing yet")

// Handler returns the http.Handler that serves every emulated service.
func (c *Cloud) Handler() http.Handler {
	svcs := c.services()
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) { c.serve(svcs, w, hr) })
}

func (c *Cloud) serve(svcs map[string]*service, w http.ResponseWriter, hr *http.Request) {
	start := c.clock()
	body, err := io.ReadAll(io.LimitReader(hr.Body, 32<<20))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	akid, scopeRegion, svcName := parseAuth(hr)
	svc := svcs[svcName]
	if svc == nil {
		svc = guessService(svcs, hr)
		if svcName == "" {
			writeError(w, svc, "", "", &apiError{status: http.StatusForbidden, code: missingAuthCode(svc),
				msg: "Request is missing Authentication Token"})
			return
		}
		writeError(w, svc, "", "", badRequest("UnknownService", "service %q is not emulated", svcName))
		return
	}
	req := &request{c: c, svc: svc, http: hr, body: body, region: scopeRegion,
		endpoint: "http://" + hr.Host, labels: map[string]string{}}
	if req.region == "" {
		req.region = DefaultRegion
	}
	reqID := ""
	c.mu.Lock()
	reqID = c.uuid()
	c.mu.Unlock()

	call := Call{Service: svc.name, Region: req.region, Start: start}
	logParams := map[string]string{}
	finish := func(status int, e *apiError) {
		call.End = c.clock()
		call.Status = status
		if e != nil {
			call.ErrorCode = e.code
			if e.queryCode != "" && svc.proto == protoJSON {
				call.ErrorCode = e.queryCode
			}
		}
		call.Params = logParams
		c.logCall(call)
	}
	fail := func(e *apiError) {
		writeError(w, svc, req.op, reqID, e)
		finish(e.status, e)
	}

	// Decode the request and find the operation.
	decodeErr := req.decode()
	call.Operation = req.op
	logParams = req.logParams()
	if decodeErr != nil {
		fail(decodeErr)
		return
	}

	// Authenticate: a known, active, unexpired key (signatures are not
	// checked: see the package documentation).
	c.mu.Lock()
	cred, e := c.authenticate(hr, akid)
	if e == nil {
		req.cred = cred
		req.acct = c.acct(cred.Account)
	}
	c.mu.Unlock()
	if e != nil {
		fail(authError(svc, e))
		return
	}
	call.Account, call.Principal = cred.Account, cred.ARN
	if svc.global {
		req.region = DefaultRegion
	}

	delay, ferr, kind := c.decideFault(svc, req.op, cred.Account)
	call.Fault = kind
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-hr.Context().Done():
			t.Stop()
		}
	}
	if ferr != nil {
		fail(ferr)
		return
	}
	// EC2's DryRun only checks permissions, and identity policies are not
	// evaluated here, so a dry run always "would have succeeded" and
	// changes nothing.
	if svc.proto == protoEC2 && req.form.s("DryRun") == "true" {
		fail(&apiError{status: http.StatusPreconditionFailed, code: "DryRunOperation",
			msg: "Request would have succeeded, but DryRun flag is set."})
		return
	}

	var out any
	for {
		c.mu.Lock()
		out, err = req.dispatch()
		c.mu.Unlock()
		if err != errEmpty {
			break
		}
		if !c.clock().Before(req.pollTill) || hr.Context().Err() != nil {
			out, err = req.emptyResult()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		fail(asAPIError(err))
		return
	}
	if hold := c.holdFor(svc, req.op, cred.Account); hold > 0 {
		t := time.NewTimer(hold)
		select {
		case <-t.C:
		case <-hr.Context().Done():
			t.Stop()
		}
	}
	status := writeResult(w, svc, req.op, reqID, out)
	finish(status, nil)
}

func (c *Cloud) clock() time.Time { return c.now() }

// decode parses the request according to the service's protocol and sets
// the operation name.
func (r *request) decode() *apiError {
	hr := r.http
	switch r.svc.proto {
	case protoEC2, protoQuery:
		form, err := url.ParseQuery(string(r.body))
		if err != nil {
			return badRequest("MalformedQueryString", "the request body is not a valid query string")
		}
		for k, v := range hr.URL.Query() {
			if _, ok := form[k]; !ok {
				form[k] = v
			}
		}
		r.form = params(form)
		r.op = r.form.s("Action")
		if r.op == "" {
			return badRequest("MissingAction", "the request must contain the parameter Action")
		}
		known := r.svc.query[r.op] != nil
		if !known {
			code := "InvalidAction"
			return badRequest(code, "The action %s is not valid for this web service.", r.op)
		}
	case protoJSON:
		target := hr.Header.Get("X-Amz-Target")
		pre, op, ok := strings.Cut(target, ".")
		if !ok || pre != r.svc.target {
			return &apiError{status: 400, code: "UnknownOperationException", queryCode: "InvalidAction",
				msg: "unknown target " + target}
		}
		r.op = op
		if r.svc.json[op] == nil {
			return &apiError{status: 400, code: "UnknownOperationException", queryCode: "InvalidAction",
				msg: "the operation " + op + " is not supported"}
		}
		if e := r.decodeJSON(); e != nil {
			return e
		}
	case protoRestJSON:
		for _, rt := range r.svc.routes {
			if rt.method == hr.Method && matchPath(rt.pattern, hr.URL.Path, r.labels) {
				r.op = rt.op
				break
			}
			clear(r.labels)
		}
		if r.op == "" {
			return notFound("UnknownOperationException", "no operation for %s %s", hr.Method, hr.URL.Path)
		}
		if e := r.decodeJSON(); e != nil {
			return e
		}
	case protoRestXML:
		return r.decodeS3()
	}
	return nil
}

func (r *request) decodeJSON() *apiError {
	r.in = map[string]any{}
	if len(strings.TrimSpace(string(r.body))) == 0 {
		return nil
	}
	if err := jsonUnmarshal(r.body, &r.in); err != nil {
		return &apiError{status: 400, code: "SerializationException", queryCode: "InvalidParameterValue",
			msg: "invalid JSON body: " + err.Error()}
	}
	return nil
}

func (r *request) logParams() map[string]string {
	m := map[string]string{}
	switch {
	case r.form != nil:
		m = r.form.flatten()
		delete(m, "Action")
		delete(m, "Version")
	case r.in != nil:
		flattenJSON("", r.in, m)
	}
	for k, v := range r.labels {
		m[k] = v
	}
	return m
}

func (r *request) dispatch() (any, error) {
	switch r.svc.proto {
	case protoEC2, protoQuery:
		return r.svc.query[r.op](r)
	case protoJSON:
		return r.svc.json[r.op](r)
	case protoRestJSON:
		for _, rt := range r.svc.routes {
			if rt.op == r.op {
				return rt.h(r)
			}
		}
	case protoRestXML:
		return r.svc.s3(r)
	}
	return nil, newErr(500, "InternalFailure", "no handler for %s", r.op)
}

// emptyResult is called when long polling times out.
func (r *request) emptyResult() (any, error) {
	return map[string]any{}, nil
}

func matchPath(pattern, path string, labels map[string]string) bool {
	pp := strings.Split(strings.Trim(pattern, "/"), "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	if len(pp) != len(ps) {
		return false
	}
	for i, seg := range pp {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			v, err := url.PathUnescape(ps[i])
			if err != nil || v == "" {
				return false
			}
			labels[seg[1:len(seg)-1]] = v
			continue
		}
		if seg != ps[i] {
			return false
		}
	}
	return true
}

// parseAuth reads the access key id, region and service from the SigV4
// Authorization header (or a presigned URL's X-Amz-Credential).
func parseAuth(hr *http.Request) (akid, region, svc string) {
	cred := ""
	if h := hr.Header.Get("Authorization"); h != "" {
		if i := strings.Index(h, "Credential="); i >= 0 {
			cred = h[i+len("Credential="):]
			if j := strings.IndexAny(cred, ", "); j >= 0 {
				cred = cred[:j]
			}
		}
	} else {
		cred = hr.URL.Query().Get("X-Amz-Credential")
	}
	parts := strings.Split(cred, "/")
	if len(parts) < 5 {
		return "", "", ""
	}
	return parts[0], parts[2], parts[3]
}

func guessService(svcs map[string]*service, hr *http.Request) *service {
	if t := hr.Header.Get("X-Amz-Target"); t != "" {
		for _, s := range svcs {
			if s.proto == protoJSON && strings.HasPrefix(t, s.target+".") {
				return s
			}
		}
		return svcs["sqs"]
	}
	if strings.HasPrefix(hr.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return svcs["iam"]
	}
	return svcs["s3"]
}

type authErr struct{ kind string } // "unknown", "expired", "token"

func (c *Cloud) authenticate(hr *http.Request, akid string) (*credential, *authErr) {
	cr := c.creds[akid]
	if cr == nil {
		return nil, &authErr{"unknown"}
	}
	if cr.User != "" {
		u := c.acct(cr.Account).users[cr.User]
		if u == nil {
			return nil, &authErr{"unknown"}
		}
		k := u.key(akid)
		if k == nil || k.Status != "Active" {
			return nil, &authErr{"unknown"}
		}
	}
	if !cr.Expires.IsZero() && c.clock().After(cr.Expires) {
		return nil, &authErr{"expired"}
	}
	if cr.SessionToken != "" {
		tok := hr.Header.Get("X-Amz-Security-Token")
		if tok == "" {
			tok = hr.URL.Query().Get("X-Amz-Security-Token")
		}
		if tok != cr.SessionToken {
			return nil, &authErr{"token"}
		}
	}
	return cr, nil
}

func missingAuthCode(svc *service) string {
	switch svc.proto {
	case protoEC2:
		return "AuthFailure"
	case protoRestXML:
		return "AccessDenied"
	case protoJSON, protoRestJSON:
		return "MissingAuthenticationTokenException"
	}
	return "MissingAuthenticationToken"
}

func authError(svc *service, a *authErr) *apiError {
	if a.kind == "expired" {
		code := "ExpiredToken"
		if svc.proto == protoJSON || svc.proto == protoRestJSON {
			code = "ExpiredTokenException"
		}
		return &apiError{status: 400, code: code, queryCode: "ExpiredToken", msg: "The security token included in the request is expired"}
	}
	switch svc.proto {
	case protoEC2:
		return &apiError{status: 401, code: "AuthFailure", msg: "AWS was not able to validate the provided access credentials"}
	case protoRestXML:
		return &apiError{status: 403, code: "InvalidAccessKeyId", msg: "The AWS Access Key Id you provided does not exist in our records."}
	case protoJSON:
		return &apiError{status: 400, code: "UnrecognizedClientException", queryCode: "InvalidClientTokenId",
			msg: "The security token included in the request is invalid."}
	case protoRestJSON:
		return &apiError{status: 403, code: "UnrecognizedClientException", msg: "The security token included in the request is invalid."}
	}
	return &apiError{status: 403, code: "InvalidClientTokenId", msg: "The security token included in the request is invalid."}
}

const ec2NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

// Responses carry a Content-Length, as AWS's do, rather than being chunked.
func writeXML(w http.ResponseWriter, status int, body string) {
	body = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + body
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func writeJSONBody(w http.ResponseWriter, contentType string, status int, v any) {
	b := jsonMarshal(v)
	if contentType == "application/x-amz-json-1.0" {
		// DynamoDB (and the other JSON 1.0 services) sign the body with
		// its CRC32, which the SDK checks.
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeResult(w http.ResponseWriter, svc *service, op, reqID string, out any) int {
	switch svc.proto {
	case protoEC2:
		s, _ := out.(string)
		writeXML(w, 200, "<"+op+"Response xmlns=\""+ec2NS+"\"><requestId>"+reqID+"</requestId>"+s+"</"+op+"Response>")
	case protoQuery:
		s, _ := out.(string)
		writeXML(w, 200, "<"+op+"Response xmlns=\""+svc.xmlns+"\"><"+op+"Result>"+s+"</"+op+"Result>"+
			"<ResponseMetadata><RequestId>"+reqID+"</RequestId></ResponseMetadata></"+op+"Response>")
	case protoJSON:
		w.Header().Set("x-amzn-RequestId", reqID)
		writeJSONBody(w, "application/x-amz-json-"+svc.jsonVersion, 200, out)
	case protoRestJSON:
		w.Header().Set("x-amzn-RequestId", reqID)
		if rs, ok := out.(restStatus); ok {
			if rs.body == nil {
				w.WriteHeader(rs.status)
				return rs.status
			}
			writeJSONBody(w, "application/json", rs.status, rs.body)
			return rs.status
		}
		writeJSONBody(w, "application/json", 200, out)
	case protoRestXML:
		resp, _ := out.(*s3Response)
		if resp == nil {
			resp = &s3Response{status: 200}
		}
		w.Header().Set("x-amz-request-id", reqID)
		if resp.body == "" {
			w.WriteHeader(resp.status)
			return resp.status
		}
		if resp.object { // ext_store.go
			w.Header().Set("Content-Type", "application/octet-stream")
			w.WriteHeader(resp.status)
			io.WriteString(w, resp.body)
			return resp.status
		}
		writeXML(w, resp.status, resp.body)
		return resp.status
	}
	return 200
}

func writeError(w http.ResponseWriter, svc *service, op, reqID string, e *apiError) {
	status := e.status
	if status == 0 {
		status = 400
	}
	var x xw
	switch svc.proto {
	case protoEC2:
		x.open("Response").open("Errors").open("Error").el("Code", e.code).el("Message", e.msg).
			close("Error").close("Errors").el("RequestID", reqID).close("Response")
		writeXML(w, status, x.String())
	case protoQuery:
		typ := "Sender"
		if e.server || status >= 500 {
			typ = "Receiver"
		}
		x.b.WriteString(`<ErrorResponse xmlns="` + svc.xmlns + `">`)
		x.open("Error").el("Type", typ).el("Code", e.code).el("Message", e.msg).close("Error").
			el("RequestId", reqID).close("ErrorResponse")
		writeXML(w, status, x.String())
	case protoJSON:
		w.Header().Set("x-amzn-RequestId", reqID)
		if e.queryCode != "" {
			typ := "Sender"
			if e.server || status >= 500 {
				typ = "Receiver"
			}
			w.Header().Set("X-Amzn-Query-Error", e.queryCode+";"+typ)
		}
		writeJSONBody(w, "application/x-amz-json-"+svc.jsonVersion, status,
			map[string]string{"__type": svc.errNS + e.code, "message": e.msg})
	case protoRestJSON:
		w.Header().Set("x-amzn-RequestId", reqID)
		w.Header().Set("X-Amzn-ErrorType", e.code)
		writeJSONBody(w, "application/json", status, map[string]string{"__type": e.code, "message": e.msg, "Message": e.msg})
	case protoRestXML:
		w.Header().Set("x-amz-request-id", reqID)
		x.open("Error").el("Code", e.code).el("Message", e.msg).el("RequestId", reqID).close("Error")
		writeXML(w, status, x.String())
	}
}

// Server is the cloud served over HTTP on a loopback address.
type Server struct {
	Cloud *Cloud
	URL   string // the endpoint, e.g. http://127.0.0.1:4566
	close func()
}

// Close stops the server.
func (s *Server) Close() { s.close() }

// Config returns an aws.Config for the account's first root key in the
// default region, pointed at the server, with a retryer that backs off only
// a few milliseconds (so tests of throttling stay fast). It panics if the
// account has no key.
func (s *Server) Config(accountID string) aws.Config {
	ak, sk, ok := s.Cloud.Credentials(accountID)
	if !ok {
		panic("fakeaws: account " + accountID + " has no credentials")
	}
	return s.ConfigFor(ak, sk, "", DefaultRegion)
}

// ConfigFor returns an aws.Config with the given credentials and region.
func (s *Server) ConfigFor(accessKeyID, secret, sessionToken, region string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secret, sessionToken),
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   HTTPClient(),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		},
	}
}

// NewTestServer serves the cloud on an httptest server (127.0.0.1) stopped
// when the test ends. A nil cloud is a new one with the default scenario.
func NewTestServer(t testing.TB, c *Cloud) *Server {
	t.Helper()
	if c == nil {
		c = New()
		if err := c.LoadDefaultScenario(); err != nil {
			t.Fatalf("fakeaws: default scenario: %v", err)
		}
	}
	ts := httptest.NewServer(c.Handler())
	t.Cleanup(ts.Close)
	return &Server{Cloud: c, URL: ts.URL, close: ts.Close}
}

// Start serves the cloud on addr (e.g. "127.0.0.1:4566"; port 0 picks one)
// until Close is called.
func (c *Cloud) Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		_ = hs.Serve(ln)
		close(done)
	}()
	return &Server{Cloud: c, URL: "http://" + ln.Addr().String(), close: func() {
		// A connection a cancelled caller opened but never used counts as
		// active for five seconds: after a short grace, close it anyway.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if hs.Shutdown(ctx) != nil {
			_ = hs.Close()
		}
		<-done
	}}, nil
}
