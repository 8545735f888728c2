package fakeaws

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Lambda (REST-JSON): the control plane of the functions `reflex setup`
// deploys — CreateFunction, GetFunction, GetFunctionConfiguration,
// UpdateFunctionCode, UpdateFunctionConfiguration, Put/Get/Delete
// FunctionConcurrency, AddPermission, GetPolicy, RemovePermission and
// Put/GetFunctionEventInvokeConfig. Functions are not run.
//
// Rules kept: an existing name is ResourceConflictException (409), an
// unknown function ResourceNotFoundException (404), both with the
// X-Amzn-ErrorType header; the code must be a zip (else
// InvalidParameterValueException), and CodeSha256 is the base64 SHA-256 of
// it; the role must exist and trust lambda.amazonaws.com ("The role defined
// for the function cannot be assumed by Lambda."); a new function is
// Pending and an updated one InProgress, and while it is, a further update
// is a ResourceConflictException, as on AWS. Here the work completes as
// soon as the function is read (GetFunction, GetFunctionConfiguration), so
// a client that waits for it — as it must on AWS — passes, and one that
// does not fails as it would. Reserved concurrency keeps the account's
// unreserved pool at 100 or more (of 1000). A permission's statement id is
// unique in the function's policy (ResourceConflictException).

type lambdaFunction struct {
	Name, ARN, Runtime, Role, Handler, Desc, Arch string
	Memory, Timeout                               int
	Env                                           map[string]string
	DLQ                                           string
	Code                                          []byte
	Sha                                           string
	LastModified                                  time.Time
	Revision                                      string
	State, LastUpdate                             string // Pending/Active, InProgress/Successful
	Reserved                                      *int
	Policy                                        []map[string]any
	PolicyRev                                     string
	Invoke                                        map[string]any
	Tags                                          map[string]string
}

// deployState holds the resources of lambda.go, logs.go and dynamodb.go,
// keyed by "account|region|name".
type deployState struct {
	functions map[string]*lambdaFunction
	logGroups map[string]*logGroup
	tables    map[string]*ddbTable
}

func (r *request) deployKey(name string) string { return r.acct.id + "|" + r.region + "|" + name }

// restStatus is a REST-JSON result with a status other than 200 (Lambda
// answers 201 to a create and 204, with no body, to a delete).
type restStatus struct {
	status int
	body   any
}

const (
	lambdaAccountConcurrency = 1000
	lambdaMinUnreserved      = 100
)

func lambdaService() *service {
	s := &service{name: "lambda", proto: protoRestJSON,
		throttleErr: &apiError{status: 429, code: "TooManyRequestsException", msg: "Rate exceeded"}}
	s.routes = []route{
		{"POST", "/2015-03-31/functions", "CreateFunction", lambdaCreateFunction},
		{"GET", "/2015-03-31/functions/{FunctionName}", "GetFunction", lambdaGetFunction},
		{"GET", "/2015-03-31/functions/{FunctionName}/configuration", "GetFunctionConfiguration", lambdaGetConfiguration},
		{"PUT", "/2015-03-31/functions/{FunctionName}/code", "UpdateFunctionCode", lambdaUpdateCode},
		{"PUT", "/2015-03-31/functions/{FunctionName}/configuration", "UpdateFunctionConfiguration", lambdaUpdateConfiguration},
		{"PUT", "/2017-10-31/functions/{FunctionName}/concurrency", "PutFunctionConcurrency", lambdaPutConcurrency},
		{"GET", "/2019-09-30/functions/{FunctionName}/concurrency", "GetFunctionConcurrency", lambdaGetConcurrency},
		{"DELETE", "/2017-10-31/functions/{FunctionName}/concurrency", "DeleteFunctionConcurrency", lambdaDeleteConcurrency},
		{"POST", "/2015-03-31/functions/{FunctionName}/policy", "AddPermission", lambdaAddPermission},
		{"GET", "/2015-03-31/functions/{FunctionName}/policy", "GetPolicy", lambdaGetPolicy},
		{"DELETE", "/2015-03-31/functions/{FunctionName}/policy/{StatementId}", "RemovePermission", lambdaRemovePermission},
		{"PUT", "/2019-09-25/functions/{FunctionName}/event-invoke-config", "PutFunctionEventInvokeConfig", lambdaPutInvokeConfig},
		{"GET", "/2019-09-25/functions/{FunctionName}/event-invoke-config", "GetFunctionEventInvokeConfig", lambdaGetInvokeConfig},
	}
	return s
}

// Compiled on first use: the test cloud is linked into every reflex binary
// (demo, sandbox), and bounded repetitions such as {1,512} compile into that
// many nested copies, which cost milliseconds of every process start.
var (
	functionName  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`) })
	roleARN       = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/([\w+=,.@/-]+/)?([\w+=,.@-]+)$`)
	statementID   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,100}$`) })
	envKey        = regexp.MustCompile(`^[a-zA-Z]\w+$`)
	lambdaRuntime = []string{"provided.al2023", "provided.al2", "python3.12", "python3.13", "nodejs20.x", "nodejs22.x", "java21", "dotnet8", "ruby3.3"}
	reservedEnv   = []string{"_HANDLER", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"}
)

func lambdaValidation(format string, a ...any) error {
	return badRequest("ValidationException", format, a...)
}

func lambdaInvalid(format string, a ...any) error {
	return badRequest("InvalidParameterValueException", format, a...)
}

func lambdaConflict(format string, a ...any) error {
	return newErr(http.StatusConflict, "ResourceConflictException", format, a...)
}

// nameOf reads a FunctionName: a name, a partial ARN (ACCOUNT:function:NAME)
// or an ARN.
func nameOf(s string) string {
	if i := strings.LastIndex(s, "function:"); i >= 0 {
		return s[i+len("function:"):]
	}
	return s
}

func (r *request) function() (*lambdaFunction, error) {
	raw := r.labels["FunctionName"]
	name := nameOf(raw)
	f := r.c.deploy.functions[r.deployKey(name)]
	if f == nil {
		return nil, notFound("ResourceNotFoundException", "Function not found: arn:aws:lambda:%s:%s:function:%s", r.region, r.acct.id, name)
	}
	return f, nil
}

// busy refuses a change while the function is being created or updated.
func (f *lambdaFunction) busy() error {
	if f.State == "Pending" {
		return lambdaConflict("The operation cannot be performed at this time. The function is currently in the following state: Pending")
	}
	if f.LastUpdate == "InProgress" {
		return lambdaConflict("The operation cannot be performed at this time. An update is in progress for resource: %s", f.ARN)
	}
	return nil
}

// settle completes pending work: the function has been looked at.
func (f *lambdaFunction) settle() {
	f.State = "Active"
	f.LastUpdate = "Successful"
}

func (r *request) touch(f *lambdaFunction) {
	f.LastModified = r.c.clock()
	f.Revision = r.c.uuid()
}

func (f *lambdaFunction) config() map[string]any {
	m := map[string]any{
		"FunctionName": f.Name, "FunctionArn": f.ARN, "Runtime": f.Runtime, "Role": f.Role, "Handler": f.Handler,
		"CodeSize": len(f.Code), "Description": f.Desc, "Timeout": f.Timeout, "MemorySize": f.Memory,
		"LastModified": f.LastModified.UTC().Format("2006-01-02T15:04:05.000-0700"), "CodeSha256": f.Sha,
		"Version": "$LATEST", "TracingConfig": map[string]any{"Mode": "PassThrough"}, "RevisionId": f.Revision,
		"State": f.State, "LastUpdateStatus": f.LastUpdate, "PackageType": "Zip", "Architectures": []string{f.Arch},
		"EphemeralStorage": map[string]any{"Size": 512},
		"LoggingConfig":    map[string]any{"LogFormat": "Text", "LogGroup": "/aws/lambda/" + f.Name},
	}
	if f.State == "Pending" {
		m["StateReason"] = "The function is being created."
		m["StateReasonCode"] = "Creating"
	}
	if f.LastUpdate == "InProgress" {
		m["LastUpdateStatusReason"] = "The function is being updated."
		m["LastUpdateStatusReasonCode"] = "Updating"
	}
	if f.Env != nil {
		m["Environment"] = map[string]any{"Variables": f.Env}
	}
	if f.DLQ != "" {
		m["DeadLetterConfig"] = map[string]any{"TargetArn": f.DLQ}
	}
	return m
}

// setCode checks and stores a deployment package.
func (f *lambdaFunction) setCode(zipB64 string) error {
	if zipB64 == "" {
		return lambdaInvalid("Please provide a source for function code.")
	}
	b, err := base64.StdEncoding.DecodeString(zipB64)
	if err != nil {
		return lambdaInvalid("Could not unzip uploaded file. Please check your file, then try to upload again.")
	}
	if _, err := zip.NewReader(bytes.NewReader(b), int64(len(b))); err != nil {
		return lambdaInvalid("Could not unzip uploaded file. Please check your file, then try to upload again.")
	}
	sum := sha256.Sum256(b)
	f.Code, f.Sha = b, base64.StdEncoding.EncodeToString(sum[:])
	return nil
}

func setArch(f *lambdaFunction, in map[string]any) error {
	archs, ok := in["Architectures"]
	if !ok {
		return nil
	}
	list := jstrs(in, "Architectures")
	if len(list) != 1 || (list[0] != "x86_64" && list[0] != "arm64") {
		return lambdaValidation("1 validation error detected: Value '%v' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1, and member must satisfy enum value set: [x86_64, arm64]", archs)
	}
	f.Arch = list[0]
	return nil
}

// applyConfig applies the configuration fields present in in.
func (r *request) applyConfig(f *lambdaFunction, in map[string]any) error {
	if _, ok := in["Runtime"]; ok {
		rt := jstr(in, "Runtime")
		if !slices.Contains(lambdaRuntime, rt) {
			return lambdaInvalid("Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [%s]", rt, strings.Join(lambdaRuntime, ", "))
		}
		f.Runtime = rt
	}
	if _, ok := in["Role"]; ok {
		if err := r.assumableByLambda(jstr(in, "Role")); err != nil {
			return err
		}
		f.Role = jstr(in, "Role")
	}
	if _, ok := in["Handler"]; ok {
		f.Handler = jstr(in, "Handler")
	}
	if _, ok := in["Description"]; ok {
		f.Desc = jstr(in, "Description")
	}
	if _, ok := in["MemorySize"]; ok {
		n := jint(in, "MemorySize", 0)
		if n < 128 || n > 10240 {
			return lambdaValidation("1 validation error detected: Value '%d' at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 10240", n)
		}
		f.Memory = n
	}
	if _, ok := in["Timeout"]; ok {
		n := jint(in, "Timeout", 0)
		if n < 1 || n > 900 {
			return lambdaValidation("1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900", n)
		}
		f.Timeout = n
	}
	if env := jobj(in, "Environment"); env != nil {
		vars := map[string]string{}
		var reserved []string
		for k, v := range jobj(env, "Variables") {
			if !envKey.MatchString(k) {
				return lambdaValidation("1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
			}
			if slices.Contains(reservedEnv, k) {
				reserved = append(reserved, k)
			}
			s, _ := v.(string)
			vars[k] = s
		}
		if len(reserved) > 0 {
			slices.Sort(reserved)
			return lambdaInvalid("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
		}
		f.Env = vars
	}
	if dl := jobj(in, "DeadLetterConfig"); dl != nil {
		arn := jstr(dl, "TargetArn")
		p := strings.Split(arn, ":")
		if arn != "" && (len(p) != 6 || (p[2] != "sqs" && p[2] != "sns")) {
			return lambdaInvalid("The provided target arn is invalid: %s", arn)
		}
		f.DLQ = arn
	}
	return nil
}

// assumableByLambda checks that the role exists in the caller's account and
// that its trust policy names lambda.amazonaws.com.
func (r *request) assumableByLambda(arn string) error {
	m := roleARN.FindStringSubmatch(arn)
	if m == nil {
		return lambdaValidation("1 validation error detected: Value '%s' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+", arn)
	}
	a := r.c.accounts[m[1]]
	var ro *iamRole
	if a != nil {
		ro = a.roles[m[3]]
	}
	if ro == nil || ro.ARN != arn || !strings.Contains(ro.Trust, "lambda.amazonaws.com") {
		return lambdaInvalid("The role defined for the function cannot be assumed by Lambda.")
	}
	return nil
}

func lambdaCreateFunction(r *request) (any, error) {
	name := jstr(r.in, "FunctionName")
	if !functionName().MatchString(name) {
		return nil, lambdaValidation("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?", name)
	}
	for _, k := range []string{"Role", "Code"} {
		if _, ok := r.in[k]; !ok {
			return nil, lambdaValidation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", strings.ToLower(k))
		}
	}
	key := r.deployKey(name)
	if r.c.deploy.functions[key] != nil {
		return nil, lambdaConflict("Function already exist: %s", name)
	}
	f := &lambdaFunction{Name: name, ARN: "arn:aws:lambda:" + r.region + ":" + r.acct.id + ":function:" + name,
		Arch: "x86_64", Memory: 128, Timeout: 3, State: "Pending", Tags: map[string]string{}}
	if err := r.applyConfig(f, r.in); err != nil {
		return nil, err
	}
	if f.Runtime == "" || f.Handler == "" {
		return nil, lambdaInvalid("The runtime and handler parameters are required for a deployment package of type Zip.")
	}
	if err := setArch(f, r.in); err != nil {
		return nil, err
	}
	if err := f.setCode(jstr(jobj(r.in, "Code"), "ZipFile")); err != nil {
		return nil, err
	}
	for k, v := range jobj(r.in, "Tags") {
		f.Tags[k], _ = v.(string)
	}
	r.touch(f)
	if r.c.deploy.functions == nil {
		r.c.deploy.functions = map[string]*lambdaFunction{}
	}
	r.c.deploy.functions[key] = f
	return restStatus{http.StatusCreated, f.config()}, nil
}

func lambdaGetFunction(r *request) (any, error) {
	f, err := r.function()
	if err != nil {
		return nil, err
	}
	f.settle()
	out := map[string]any{"Configuration": f.config(),
		"Code": map[string]any{"RepositoryType": "S3", "Location": r.endpoint + "/lambda-code/" + f.Name}}
	if len(f.Tags) > 0 {
		out["Tags"] = f.Tags
	}
	if f.Reserved != nil {
		out["Concurrency"] = map[string]any{"ReservedConcurrentExecutions": *f.Reserved}
	}
	return out, nil
}

func lambdaGetConfiguration(r *request) (any, error) {
	f, err := r.function()
	if err != nil {
		return nil, err
	}
	f.settle()
	return f.config(), nil
}

func lambdaUpdateCode(r *request) (any, error) {
	return r.updateFunction(func(next *lambdaFunction) error {
		if err := setArch(next, r.in); err != nil {
			return err
		}
		return next.setCode(jstr(r.in, "ZipFile"))
	})
}

func lambdaUpdateConfiguration(r *request) (any, error) {
	return r.updateFunction(func(next *lambdaFunction) error { return r.applyConfig(next, r.in) })
}

// updateFunction is UpdateFunctionCode and UpdateFunctionConfiguration:
// refused while an update is in progress or for a stale RevisionId; apply
// changes a copy, kept only if it succeeds; the update is then in progress
// until read.
func (r *request) updateFunction(apply func(next *lambdaFunction) error) (any, error) {
	f, err := r.function()
	if err != nil {
		return nil, err
	}
	if err := f.busy(); err != nil {
		return nil, err
	}
	if rev := jstr(r.in, "RevisionId"); rev != "" && rev != f.Revision {
		return nil, badRequest("PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	next := *f
	if err := apply(&next); err != nil {
		return nil, err
	}
	*f = next
	f.LastUpdate = "InProgress"
	r.touch(f)
	return f.config(), nil
}

func lambdaPutConcurrency(r *request) (any, error) {
	f, err := r.function()
	if err != nil {
		return nil, err
	}
	n := jint(r.in, "ReservedConcurrentExecutions", -1)
	if n < 0 {
		return nil, lambdaValidation("1 validation error detected: Value '%d' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0", n)
	}
	others := 0
	prefix := r.acct.id + "|"
	for k, g := range r.c.deploy.functions {
		if strings.HasPrefix(k, prefix) && g.regionOf() == r.region && g != f && g.Reserved != nil {
			others += *g.Reserved
		}
	}
	if lambdaAccountConcurrency-others-n < lambdaMinUnreserved {
		return nil, lambdaInvalid("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", lambdaMinUnreserved)
	}
	f.Reserved = &n
	return map[string]any{"ReservedConcurrentExecutions": n}, nil
}

// regionOf is the function's region, from its ARN.
func (f *lambdaFunction) regionOf() string { return strings.Split(f.ARN, ":")[3] }

func lambdaGetConcurrency(r *request) (any, error) {
	f, err := r.function()
	if err != nil {
		return nil, err
	}
	if f.Reserved == nil {
		return map[string]any{}, nil
	}
	return map[string]any{"ReservedConcurrentExecutions": *f.Reserved}, nil
}

func lambdaDeleteConcurrency(r *request) (any, error) {
	f, err := r.function()
	if err != nil {
		return nil, err
	}
	f.Reserved = nil
	return restStatus{status: http.StatusNoContent}, nil
}

func lambdaAddPermission(r *request) (any, error) {
	f, err := r.function()
	if err != nil {
		return nil, err
	}
	sid, action, principal := jstr(r.in, "StatementId"), jstr(r.in, "Action"), jstr(r.in, "Principal")
	if !statementID().MatchString(sid) {
		return nil, lambdaValidation("1 validation error detected: Value '%s' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)", sid)
	}
	if !strings.HasPrefix(action, "lambda:") || principal == "" {
		return nil, lambdaValidation("1 validation error detected: Value '%s' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])", action)
	}
	if rev := jstr(r.in, "RevisionId"); rev != "" && rev != f.PolicyRev {
		return nil, badRequest("PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
	}
	for _, st := range f.Policy {
		if st["Sid"] == sid {
			return nil, lambdaConflict("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", sid)
		}
	}
	p := any(principal)
	switch {
	case strings.HasSuffix(principal, ".amazonaws.com"):
		p = map[string]any{"Service": principal}
	case principal != "*":
		acct := principal
		if len(acct) == 12 {
			acct = "arn:aws:iam::" + acct + ":root"
		}
		p = map[string]any{"AWS": acct}
	}
	st := map[string]any{"Sid": sid, "Effect": "Allow", "Principal": p, "Action": action, "Resource": f.ARN}
	cond := map[string]any{}
	if a := jstr(r.in, "SourceAccount"); a != "" {
		cond["StringEquals"] = map[string]any{"AWS:SourceAccount": a}
	}
	if a := jstr(r.in, "SourceArn"); a != "" {
		cond["ArnLike"] = map[string]any{"AWS:SourceArn": a}
	}
	if len(cond) > 0 {
		st["Condition"] = cond
	}
	f.Policy = append(f.Policy, st)
	f.PolicyRev = r.c.uuid()
	return restStatus{http.StatusCreated, map[string]any{"Statement": string(jsonMarshal(st))}}, nil
}

func lambdaGetPolicy(r *request) (any, error) {
	f, err := r.function()
	if err != nil {
		return nil, err
	}
	if len(f.Policy) == 0 {
		return nil, notFound("ResourceNotFoundException", "The resource you requested does not exist.")
	}
	doc := map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": f.Policy}
	return map[string]any{"Policy": string(jsonMarshal(doc)), "RevisionId": f.PolicyRev}, nil
}

func lambdaRemovePermission(r *request) (any, error) {
	f, err := r.function()
	if err != nil {
		return nil, err
	}
	if len(f.Policy) == 0 {
		return nil, notFound("ResourceNotFoundException", "No policy is associated with the given resource.")
	}
	sid := r.labels["StatementId"]
	i := slices.IndexFunc(f.Policy, func(st map[string]any) bool { return st["Sid"] == sid })
	if i < 0 {
		return nil, notFound("ResourceNotFoundException", "Statement %s is not found in resource policy.", sid)
	}
	f.Policy = slices.Delete(f.Policy, i, i+1)
	f.PolicyRev = r.c.uuid()
	return restStatus{status: http.StatusNoContent}, nil
}

func lambdaPutInvokeConfig(r *request) (any, error) {
	f, err := r.function()
	if err != nil {
		return nil, err
	}
	cfg := map[string]any{"FunctionArn": f.ARN + ":$LATEST", "LastModified": json.Number(strconv.FormatInt(r.c.clock().Unix(), 10))}
	if _, ok := r.in["MaximumRetryAttempts"]; ok {
		n := jint(r.in, "MaximumRetryAttempts", -1)
		if n < 0 || n > 2 {
			return nil, lambdaValidation("1 validation error detected: Value '%d' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2", n)
		}
		cfg["MaximumRetryAttempts"] = n
	}
	if _, ok := r.in["MaximumEventAgeInSeconds"]; ok {
		n := jint(r.in, "MaximumEventAgeInSeconds", 0)
		if n < 60 || n > 21600 {
			return nil, lambdaValidation("1 validation error detected: Value '%d' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between 60 and 21600", n)
		}
		cfg["MaximumEventAgeInSeconds"] = n
	}
	dest := map[string]any{"OnSuccess": map[string]any{}, "OnFailure": map[string]any{}}
	if dc := jobj(r.in, "DestinationConfig"); dc != nil {
		for _, k := range []string{"OnSuccess", "OnFailure"} {
			if d := jstr(jobj(dc, k), "Destination"); d != "" {
				if p := strings.Split(d, ":"); len(p) < 6 || !slices.Contains([]string{"sqs", "sns", "lambda", "events", "s3"}, p[2]) {
					return nil, lambdaInvalid("The destination ARN %s is invalid.", d)
				}
				dest[k] = map[string]any{"Destination": d}
			}
		}
	}
	cfg["DestinationConfig"] = dest
	f.Invoke = cfg
	return cfg, nil
}

func lambdaGetInvokeConfig(r *request) (any, error) {
	f, err := r.function()
	if err != nil {
		return nil, err
	}
	if f.Invoke == nil {
		return nil, notFound("ResourceNotFoundException", "The function %s:$LATEST doesn't have an EventInvokeConfig", f.ARN)
	}
	return f.Invoke, nil
}
