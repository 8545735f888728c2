package setup

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// reflex's own resources, as the Terraform module deploy/terraform/reflex
// creates them (same names, same defaults), with the runtime the Want
// names:
//
//	NAME-dlq            SQS queue: events EventBridge or Lambda could not deliver
//	NAME-findings       SQS queue of `reflex serve` (runtime sqs; --queue renames it)
//	NAME                SNS topic (Want.Topic), e-mail subscriptions
//	NAME-ledger         DynamoDB ledger table (Want.Ledger): on demand, PITR, SSE, TTL, deletion protection
//	NAME                IAM role trusted by lambda.amazonaws.com in this account, with
//	                    the inline policies NAME-response (the configuration's steps,
//	                    `reflex iam-policy`) and NAME-runtime (logs, queues, ledger,
//	                    topic, configuration parameter, member roles)
//	/aws/lambda/NAME    CloudWatch log group with retention (runtime lambda)
//	NAME                Lambda function, provided.al2023, reserved concurrency,
//	                    asynchronous retries with the DLQ as on-failure destination
//	                    and dead-letter queue (runtime lambda)
//	AllowEventBridge-R  the function's permission for each rule R (runtime lambda)

// STS is the part of the STS API setup uses: who it runs as, for the ARNs.
type STS interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Runtime settings and their defaults (the Terraform module's).
const (
	RuntimeLambda = "lambda"
	RuntimeSQS    = "sqs"

	// DefaultName is the module's name variable.
	DefaultName = "reflex"
)

// Function is the Lambda function's settings.
type Function struct {
	// Zip is the deployment package: bootstrap, and reflex.yaml when the
	// configuration is packaged.
	Zip []byte
	// Architecture is arm64 or x86_64: that of the package's bootstrap.
	Architecture        string
	MemoryMB            int
	TimeoutSeconds      int
	ReservedConcurrency int // -1: unreserved
	MaxRetryAttempts    int // asynchronous retries, 0-2
	MaxEventAgeSeconds  int // 60-21600
	LogRetentionDays    int
	// Env is added to the environment setup derives (REFLEX_LEDGER for the
	// ledger table, REFLEX_CONFIG=ssm:NAME for ConfigSSMParameter): e.g.
	// REFLEX_CONFIG=reflex.yaml for a configuration packaged in Zip.
	Env map[string]string
}

// DefaultFunction returns the module's defaults.
func DefaultFunction() Function {
	return Function{Architecture: "arm64", MemoryMB: 256, TimeoutSeconds: 120, ReservedConcurrency: 10,
		MaxRetryAttempts: 2, MaxEventAgeSeconds: 21600, LogRetentionDays: 365}
}

// Fixed settings of the module.
const (
	functionRuntime     = "provided.al2023"
	functionHandler     = "bootstrap"
	functionDescription = "reflex: automatic, safe and reversible response to GuardDuty findings"
	roleDescription     = "reflex responder"
	topicKMSKey         = "alias/aws/sns"
	// EventBridge's retries of a Lambda target (the module's retry_policy).
	targetRetryAttempts = 185
	targetRetryAge      = 86400
)

// logRetentions are the retention periods CloudWatch Logs accepts.
var logRetentions = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// compiled on first use: not every process start needs it
var resourceName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`) })

func (w *Want) validateRuntime() error {
	if !resourceName().MatchString(w.Name) {
		return fmt.Errorf("name %q: 1-40 letters, digits, - or _ (it prefixes every resource)", w.Name)
	}
	if w.LedgerTTLDays < 0 {
		return errors.New("ledger TTL: 0 (keep forever) or more days")
	}
	for _, e := range w.NotificationEmails {
		if !strings.Contains(e, "@") {
			return fmt.Errorf("notification e-mail %q is not an address", e)
		}
	}
	if w.Runtime != RuntimeLambda {
		return nil
	}
	f := w.Function
	switch {
	case len(f.Zip) == 0:
		return errors.New("no Lambda package: give --lambda-zip FILE (scripts/build-lambda.sh) or run setup with a static linux reflex binary")
	case f.Architecture != "arm64" && f.Architecture != "x86_64":
		return fmt.Errorf("Lambda architecture %q: want arm64 or x86_64", f.Architecture)
	case f.MemoryMB < 128 || f.MemoryMB > 10240:
		return fmt.Errorf("Lambda memory %d MB: want 128 to 10240", f.MemoryMB)
	case f.TimeoutSeconds < 1 || f.TimeoutSeconds > 900:
		return fmt.Errorf("Lambda timeout %d s: want 1 to 900", f.TimeoutSeconds)
	case f.ReservedConcurrency < -1:
		return fmt.Errorf("reserved concurrency %d: want -1 (unreserved) or more", f.ReservedConcurrency)
	case f.MaxRetryAttempts < 0 || f.MaxRetryAttempts > 2:
		return fmt.Errorf("Lambda retry attempts %d: want 0 to 2", f.MaxRetryAttempts)
	case f.MaxEventAgeSeconds < 60 || f.MaxEventAgeSeconds > 21600:
		return fmt.Errorf("Lambda maximum event age %d s: want 60 to 21600", f.MaxEventAgeSeconds)
	case !slices.Contains(logRetentions, f.LogRetentionDays):
		return fmt.Errorf("log retention %d days: CloudWatch Logs takes %s", f.LogRetentionDays, strings.Trim(fmt.Sprint(logRetentions), "[]"))
	}
	for k := range f.Env {
		if k == "REFLEX_LEDGER" && w.Ledger || k == "REFLEX_CONFIG" && w.ConfigSSMParameter != "" {
			return fmt.Errorf("environment %s is set by setup", k)
		}
	}
	return nil
}

// run is one Apply of reflex's own resources.
type run struct {
	*Setup
	r         *Report
	w         *Want
	account   string
	partition string
	// created names the resources this run creates: in a dry run they do
	// not exist, so they are not read back.
	created map[string]bool
}

// identity learns the account and partition the ARNs are built in.
func (u *run) identity(ctx context.Context) error {
	if u.STS == nil {
		return errors.New("setup: no STS client")
	}
	if u.Region == "" {
		return errors.New("setup: no region")
	}
	out, err := u.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return apiErr("sts", "GetCallerIdentity", "", err)
	}
	u.account = aws.ToString(out.Account)
	u.partition = "aws"
	if p := strings.Split(aws.ToString(out.Arn), ":"); len(p) > 2 && p[1] != "" {
		u.partition = p[1]
	}
	return nil
}

// arn builds the ARN of one of reflex's resources here.
func (u *run) arn(service, resource string) string {
	if service == "iam" {
		return "arn:" + u.partition + ":iam::" + u.account + ":" + resource
	}
	return "arn:" + u.partition + ":" + service + ":" + u.Region + ":" + u.account + ":" + resource
}

func (u *run) dlqName() string      { return u.w.Name + "-dlq" }
func (u *run) tableName() string    { return u.w.Name + "-ledger" }
func (u *run) logGroupName() string { return "/aws/lambda/" + u.w.Name }
func (u *run) roleARN() string      { return u.arn("iam", "role/"+u.w.Name) }
func (u *run) functionARN() string  { return u.arn("lambda", "function:"+u.w.Name) }
func (u *run) ruleARN(rule string) string {
	return u.arn("events", "rule/"+rule)
}

// tagKeys returns the wanted tags' keys in a stable order.
func (u *run) tagKeys() []string {
	keys := make([]string, 0, len(u.w.Tags))
	for k := range u.w.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// apiErr wraps an AWS error with the call and, when the caller was denied,
// the permission the credentials running setup lack.
func apiErr(service, action, target string, err error) error {
	call := service + ":" + action
	if target != "" {
		call += " " + target
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation":
			// AWS names the action denied, which is not always the call's
			// own (CreateFunction needs iam:PassRole on the role too).
			perm := service + ":" + action
			if m := deniedAction.FindStringSubmatch(ae.ErrorMessage()); m != nil {
				perm = m[1]
			}
			return fmt.Errorf("%s: %w (the credentials running reflex setup need %s; `reflex setup --help` lists what setup calls)", call, err, perm)
		}
	}
	return fmt.Errorf("%s: %w", call, err)
}

var deniedAction = regexp.MustCompile(`not authorized to perform: ([\w-]+:\w+)`)

// errCode is the AWS error code of err, or "".
func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// sleep waits d or until ctx ends; Setup.Sleep replaces it in tests.
func (s *Setup) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PolicyDocument is an IAM policy document, its fields in the order IAM
// prints them (setup's roles and queue, and reflex iam-policy).
type PolicyDocument struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a PolicyDocument.
type Statement struct {
	Sid       string         `json:"Sid,omitempty"`
	Effect    string         `json:"Effect"`
	Principal map[string]any `json:"Principal,omitempty"`
	Action    any            `json:"Action"`
	Resource  any            `json:"Resource,omitempty"`
	Condition map[string]any `json:"Condition,omitempty"`
}
