package setup

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Lambda is the part of the Lambda API setup uses for reflex's function.
type Lambda interface {
	GetFunction(context.Context, *lambda.GetFunctionInput, ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	GetFunctionConfiguration(context.Context, *lambda.GetFunctionConfigurationInput, ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error)
	CreateFunction(context.Context, *lambda.CreateFunctionInput, ...func(*lambda.Options)) (*lambda.CreateFunctionOutput, error)
	UpdateFunctionCode(context.Context, *lambda.UpdateFunctionCodeInput, ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error)
	UpdateFunctionConfiguration(context.Context, *lambda.UpdateFunctionConfigurationInput, ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error)
	PutFunctionConcurrency(context.Context, *lambda.PutFunctionConcurrencyInput, ...func(*lambda.Options)) (*lambda.PutFunctionConcurrencyOutput, error)
	DeleteFunctionConcurrency(context.Context, *lambda.DeleteFunctionConcurrencyInput, ...func(*lambda.Options)) (*lambda.DeleteFunctionConcurrencyOutput, error)
	GetFunctionEventInvokeConfig(context.Context, *lambda.GetFunctionEventInvokeConfigInput, ...func(*lambda.Options)) (*lambda.GetFunctionEventInvokeConfigOutput, error)
	PutFunctionEventInvokeConfig(context.Context, *lambda.PutFunctionEventInvokeConfigInput, ...func(*lambda.Options)) (*lambda.PutFunctionEventInvokeConfigOutput, error)
	GetPolicy(context.Context, *lambda.GetPolicyInput, ...func(*lambda.Options)) (*lambda.GetPolicyOutput, error)
	AddPermission(context.Context, *lambda.AddPermissionInput, ...func(*lambda.Options)) (*lambda.AddPermissionOutput, error)
	RemovePermission(context.Context, *lambda.RemovePermissionInput, ...func(*lambda.Options)) (*lambda.RemovePermissionOutput, error)
}

// Logs is the part of the CloudWatch Logs API setup uses for the
// function's log group.
type Logs interface {
	DescribeLogGroups(context.Context, *cloudwatchlogs.DescribeLogGroupsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	CreateLogGroup(context.Context, *cloudwatchlogs.CreateLogGroupInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	PutRetentionPolicy(context.Context, *cloudwatchlogs.PutRetentionPolicyInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
}

// CodeSha256 is Lambda's hash of a deployment package: base64 SHA-256.
func CodeSha256(zip []byte) string {
	sum := sha256.Sum256(zip)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// logGroup makes sure /aws/lambda/NAME exists with the wanted retention
// (created before the function, so Lambda does not create it without one).
func (u *run) logGroup(ctx context.Context) error {
	if u.Logs == nil {
		return errors.New("setup: no CloudWatch Logs client")
	}
	name, days := u.logGroupName(), u.w.Function.LogRetentionDays
	found, have := false, 0
	var token *string
	for !found {
		out, err := u.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name), NextToken: token})
		if err != nil {
			return apiErr("logs", "DescribeLogGroups", name, err)
		}
		for _, g := range out.LogGroups {
			if aws.ToString(g.LogGroupName) == name {
				found, have = true, int(aws.ToInt32(g.RetentionInDays))
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if !found {
		if err := u.change(u.r, Change{Service: "logs", Action: "CreateLogGroup", Target: name, Why: "the function's log group does not exist"},
			func() error {
				_, err := u.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name), Tags: u.w.Tags})
				return err
			}); err != nil {
			return err
		}
	}
	if have == days {
		u.r.Unchanged = append(u.r.Unchanged, "logs group "+name)
		return nil
	}
	why := fmt.Sprintf("retention is %d days, want %d", have, days)
	if have == 0 {
		why = fmt.Sprintf("logs never expire, want %d days", days)
	}
	return u.change(u.r, Change{Service: "logs", Action: "PutRetentionPolicy", Target: name, Why: why, Input: map[string]any{"RetentionInDays": days}},
		func() error {
			_, err := u.Logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(name), RetentionInDays: aws.Int32(int32(days))})
			return err
		})
}

// LambdaGOGC is the function's GOGC. Package initialisation (mostly the
// AWS SDK's tables, all of them live for the process's life) allocates
// about 9 MB; with Go's default GOGC=100 and its 4 MB minimum heap that
// makes two garbage collections during init, which freed nothing and took a
// third of the cold start (measured: median 31–45 ms with 100, 24–27 ms with
// 400, same RSS). 400 raises the minimum heap to 16 MB; GOMEMLIMIT (see
// LambdaGOMEMLIMIT) bounds the heap under the function's memory.
const LambdaGOGC = "400"

// LambdaGOMEMLIMIT is the function's GOMEMLIMIT for memoryMB of memory:
// 80%, so the collector works harder before Lambda's limit is reached.
func LambdaGOMEMLIMIT(memoryMB int) string { return fmt.Sprintf("%dMiB", memoryMB*8/10) }

// functionEnv is the function's environment: the garbage collector's
// settings, the ledger, the configuration's location, and Function.Env
// (which may override any of them).
func (u *run) functionEnv() map[string]string {
	env := map[string]string{"GOGC": LambdaGOGC, "GOMEMLIMIT": LambdaGOMEMLIMIT(u.w.Function.MemoryMB)}
	maps.Copy(env, u.w.Function.Env)
	if u.w.Ledger {
		env["REFLEX_LEDGER"] = "dynamodb://" + u.tableName()
	}
	if p := u.w.ConfigSSMParameter; p != "" {
		env["REFLEX_CONFIG"] = "ssm:" + p
	}
	return env
}

// configDiff lists how the function's configuration differs from the
// wanted one.
func (u *run) configDiff(c *lambdatypes.FunctionConfiguration, role, dlq string, env map[string]string) []string {
	f := u.w.Function
	var why []string
	diff := func(what string, have, want any) {
		if have != want {
			why = append(why, fmt.Sprintf("%s is %v, want %v", what, have, want))
		}
	}
	diff("role", aws.ToString(c.Role), role)
	diff("runtime", string(c.Runtime), functionRuntime)
	diff("handler", aws.ToString(c.Handler), functionHandler)
	diff("description", fmt.Sprintf("%q", aws.ToString(c.Description)), fmt.Sprintf("%q", functionDescription))
	diff("memory (MB)", int(aws.ToInt32(c.MemorySize)), f.MemoryMB)
	diff("timeout (s)", int(aws.ToInt32(c.Timeout)), f.TimeoutSeconds)
	have := ""
	if c.DeadLetterConfig != nil {
		have = aws.ToString(c.DeadLetterConfig.TargetArn)
	}
	diff("dead-letter queue", have, dlq)
	var cur map[string]string
	if c.Environment != nil {
		cur = c.Environment.Variables
	}
	if !maps.Equal(cur, env) {
		var keys []string
		for k := range cur {
			if v, ok := env[k]; !ok || v != cur[k] {
				keys = append(keys, k)
			}
		}
		for k := range env {
			if _, ok := cur[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		why = append(why, "environment differs ("+strings.Join(keys, ", ")+")")
	}
	return why
}

// function makes sure the function NAME runs the wanted code with the
// wanted configuration and reserved concurrency; it returns its ARN.
func (u *run) function(ctx context.Context, role, dlq string) (string, error) {
	if u.Lambda == nil {
		return "", errors.New("setup: no Lambda client")
	}
	f, name := u.w.Function, u.w.Name
	sha := CodeSha256(f.Zip)
	env := u.functionEnv()
	arch := lambdatypes.Architecture(f.Architecture)
	cfgInput := map[string]any{"Role": role, "Runtime": functionRuntime, "Handler": functionHandler, "MemorySize": f.MemoryMB,
		"Timeout": f.TimeoutSeconds, "Environment": env, "DeadLetterConfig": dlq}
	cur, err := u.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	switch {
	case errCode(err) == "ResourceNotFoundException":
		in := maps.Clone(cfgInput)
		in["Architectures"], in["CodeSha256"], in["CodeSize"] = f.Architecture, sha, len(f.Zip)
		u.created["function"] = true
		err := u.change(u.r, Change{Service: "lambda", Action: "CreateFunction", Target: name, Why: "the function does not exist", Input: in},
			func() error {
				return u.createFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Role: aws.String(role),
					Runtime: functionRuntime, Handler: aws.String(functionHandler), Description: aws.String(functionDescription),
					Code: &lambdatypes.FunctionCode{ZipFile: f.Zip}, Architectures: []lambdatypes.Architecture{arch},
					MemorySize: aws.Int32(int32(f.MemoryMB)), Timeout: aws.Int32(int32(f.TimeoutSeconds)),
					Environment:      &lambdatypes.Environment{Variables: env},
					DeadLetterConfig: &lambdatypes.DeadLetterConfig{TargetArn: aws.String(dlq)}, Tags: u.w.Tags})
			})
		if err != nil {
			return "", err
		}
		return u.functionARN(), u.concurrency(ctx, nil)
	case err != nil:
		return "", apiErr("lambda", "GetFunction", name, err)
	}
	c := cur.Configuration
	same := true
	if haveArch := string(firstArch(c.Architectures)); aws.ToString(c.CodeSha256) != sha || haveArch != f.Architecture {
		same = false
		why := fmt.Sprintf("its code is %s, the package's %s", aws.ToString(c.CodeSha256), sha)
		if haveArch != f.Architecture {
			why = fmt.Sprintf("its architecture is %s, want %s", haveArch, f.Architecture)
		}
		if err := u.change(u.r, Change{Service: "lambda", Action: "UpdateFunctionCode", Target: name, Why: why,
			Input: map[string]any{"Architectures": f.Architecture, "CodeSha256": sha, "CodeSize": len(f.Zip)}},
			func() error {
				if _, err := u.Lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: f.Zip,
					Architectures: []lambdatypes.Architecture{arch}, RevisionId: c.RevisionId}); err != nil {
					return err
				}
				return u.waitFunction(ctx)
			}); err != nil {
			return "", err
		}
	}
	if why := u.configDiff(c, role, dlq, env); len(why) > 0 {
		same = false
		if err := u.change(u.r, Change{Service: "lambda", Action: "UpdateFunctionConfiguration", Target: name, Why: joinWhy(why), Input: cfgInput},
			func() error {
				if _, err := u.Lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name),
					Role: aws.String(role), Runtime: functionRuntime, Handler: aws.String(functionHandler), Description: aws.String(functionDescription),
					MemorySize: aws.Int32(int32(f.MemoryMB)), Timeout: aws.Int32(int32(f.TimeoutSeconds)),
					Environment:      &lambdatypes.Environment{Variables: env},
					DeadLetterConfig: &lambdatypes.DeadLetterConfig{TargetArn: aws.String(dlq)}}); err != nil {
					return err
				}
				return u.waitFunction(ctx)
			}); err != nil {
			return "", err
		}
	}
	if same {
		u.r.Unchanged = append(u.r.Unchanged, "lambda function "+name)
	}
	var reserved *int32
	if cur.Concurrency != nil {
		reserved = cur.Concurrency.ReservedConcurrentExecutions
	}
	return aws.ToString(c.FunctionArn), u.concurrency(ctx, reserved)
}

func firstArch(a []lambdatypes.Architecture) lambdatypes.Architecture {
	if len(a) == 0 {
		return lambdatypes.ArchitectureX8664 // Lambda's default
	}
	return a[0]
}

// roleNotAssumable is Lambda's answer to a role IAM has not propagated yet;
// rolePolicyNotSeen its answer to a role whose new policy (here the
// dead-letter queue's sqs:SendMessage) it does not see yet.
const (
	roleNotAssumable  = "cannot be assumed by Lambda"
	rolePolicyNotSeen = "does not have permissions to call"
)

// notPropagated reports whether Lambda refused the role because IAM has not
// propagated it (or its policies) yet.
func notPropagated(err error) bool {
	return errCode(err) == "InvalidParameterValueException" &&
		(strings.Contains(err.Error(), roleNotAssumable) || strings.Contains(err.Error(), rolePolicyNotSeen))
}

// createFunction creates the function, retrying for a minute while a new
// role is not yet usable by Lambda (IAM is eventually consistent), then
// waits until it is active.
func (u *run) createFunction(ctx context.Context, in *lambda.CreateFunctionInput) error {
	err := u.whilePropagating(ctx, func() error {
		_, err := u.Lambda.CreateFunction(ctx, in)
		return err
	})
	if err != nil {
		if notPropagated(err) {
			return fmt.Errorf("%w (the role %s must exist, trust lambda.amazonaws.com and allow sqs:SendMessage on the dead-letter queue; a new role can take a minute to be usable: run setup again)", err, aws.ToString(in.Role))
		}
		return err
	}
	return u.waitFunction(ctx)
}

// whilePropagating calls call until Lambda no longer refuses the role as
// not yet propagated, for about a minute.
func (u *run) whilePropagating(ctx context.Context, call func() error) error {
	for i := 1; ; i++ {
		err := call()
		if !notPropagated(err) || i == 12 {
			return err
		}
		if err := u.sleep(ctx, 5*time.Second); err != nil {
			return err
		}
	}
}

// waitFunction waits until the function is active and no update is in
// progress (Lambda refuses further changes until then).
func (u *run) waitFunction(ctx context.Context) error {
	name := u.w.Name
	for i := 0; i < 150; i++ {
		c, err := u.Lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			return apiErr("lambda", "GetFunctionConfiguration", name, err)
		}
		switch {
		case c.State == lambdatypes.StateFailed:
			return fmt.Errorf("function %s failed to become active: %s", name, aws.ToString(c.StateReason))
		case c.LastUpdateStatus == lambdatypes.LastUpdateStatusFailed:
			return fmt.Errorf("function %s: the update failed: %s", name, aws.ToString(c.LastUpdateStatusReason))
		case c.State == lambdatypes.StateActive && c.LastUpdateStatus != lambdatypes.LastUpdateStatusInProgress:
			return nil
		}
		if err := u.sleep(ctx, 2*time.Second); err != nil {
			return err
		}
	}
	return fmt.Errorf("function %s: still not active after 5 minutes", name)
}

// concurrency sets the function's reserved concurrency (have is the current
// one, nil for unreserved).
func (u *run) concurrency(ctx context.Context, have *int32) error {
	name, want := u.w.Name, u.w.Function.ReservedConcurrency
	switch {
	case want < 0 && have == nil, have != nil && int(*have) == want:
		u.r.Unchanged = append(u.r.Unchanged, "lambda concurrency "+name)
		return nil
	case want < 0:
		return u.change(u.r, Change{Service: "lambda", Action: "DeleteFunctionConcurrency", Target: name,
			Why: fmt.Sprintf("%d executions are reserved, want unreserved", *have)},
			func() error {
				_, err := u.Lambda.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(name)})
				return err
			})
	}
	why := "no executions are reserved"
	if have != nil {
		why = fmt.Sprintf("%d executions are reserved", *have)
	}
	return u.change(u.r, Change{Service: "lambda", Action: "PutFunctionConcurrency", Target: name, Why: fmt.Sprintf("%s, want %d", why, want),
		Input: map[string]any{"ReservedConcurrentExecutions": want}},
		func() error {
			_, err := u.Lambda.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name),
				ReservedConcurrentExecutions: aws.Int32(int32(want))})
			if errCode(err) == "InvalidParameterValueException" && strings.Contains(err.Error(), "UnreservedConcurrentExecution") {
				return fmt.Errorf("%w (the account's concurrency quota is too small to reserve %d: lower --reserved-concurrency, or -1 for none)", err, want)
			}
			return err
		})
}

// invokeConfig sets the asynchronous invocation settings: retries, event
// age, and the dead-letter queue as on-failure destination.
func (u *run) invokeConfig(ctx context.Context, dlq string) error {
	name, f := u.w.Name, u.w.Function
	why := "the function has no asynchronous invocation settings"
	if !u.created["function"] || !u.DryRun {
		cur, err := u.Lambda.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(name)})
		switch {
		case errCode(err) == "ResourceNotFoundException":
		case err != nil:
			return apiErr("lambda", "GetFunctionEventInvokeConfig", name, err)
		default:
			dest := ""
			if cur.DestinationConfig != nil && cur.DestinationConfig.OnFailure != nil {
				dest = aws.ToString(cur.DestinationConfig.OnFailure.Destination)
			}
			retries, age := int(aws.ToInt32(cur.MaximumRetryAttempts)), int(aws.ToInt32(cur.MaximumEventAgeInSeconds))
			if retries == f.MaxRetryAttempts && age == f.MaxEventAgeSeconds && dest == dlq {
				u.r.Unchanged = append(u.r.Unchanged, "lambda event invoke config "+name)
				return nil
			}
			why = fmt.Sprintf("retries %d, event age %d s, on failure %q; want %d, %d s, %q", retries, age, dest, f.MaxRetryAttempts, f.MaxEventAgeSeconds, dlq)
		}
	}
	return u.change(u.r, Change{Service: "lambda", Action: "PutFunctionEventInvokeConfig", Target: name, Why: why,
		Input: map[string]any{"MaximumRetryAttempts": f.MaxRetryAttempts, "MaximumEventAgeInSeconds": f.MaxEventAgeSeconds, "OnFailure": dlq}},
		func() error {
			return u.whilePropagating(ctx, func() error {
				_, err := u.Lambda.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(name),
					MaximumRetryAttempts: aws.Int32(int32(f.MaxRetryAttempts)), MaximumEventAgeInSeconds: aws.Int32(int32(f.MaxEventAgeSeconds)),
					DestinationConfig: &lambdatypes.DestinationConfig{OnFailure: &lambdatypes.OnFailure{Destination: aws.String(dlq)}}})
				return err
			})
		})
}

// permissionSid names the function's permission for one rule.
func permissionSid(rule string) string { return "AllowEventBridge-" + rule }

// permissions reads the function's policy: Statement id → source ARN of
// EventBridge's permissions.
func (u *run) permissions(ctx context.Context) (map[string]string, error) {
	have := map[string]string{}
	if u.created["function"] && u.DryRun {
		return have, nil
	}
	out, err := u.Lambda.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(u.w.Name)})
	if errCode(err) == "ResourceNotFoundException" {
		return have, nil
	}
	if err != nil {
		return nil, apiErr("lambda", "GetPolicy", u.w.Name, err)
	}
	var doc struct {
		Statement []struct {
			Sid       string
			Principal struct{ Service string }
			Action    string
			Condition struct {
				ArnLike map[string]string
			}
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &doc); err != nil {
		return nil, fmt.Errorf("lambda:GetPolicy %s: %w", u.w.Name, err)
	}
	for _, st := range doc.Statement {
		src := st.Condition.ArnLike["AWS:SourceArn"]
		if st.Principal.Service != "events.amazonaws.com" || st.Action != "lambda:InvokeFunction" {
			src = "(another principal or action)"
		}
		have[st.Sid] = src
	}
	return have, nil
}

// permission lets EventBridge's rule invoke the function.
func (u *run) permission(ctx context.Context, have map[string]string, rule string) error {
	sid, src := permissionSid(rule), u.ruleARN(rule)
	cur, ok := have[sid]
	if ok && cur == src {
		u.r.Unchanged = append(u.r.Unchanged, "lambda permission "+sid)
		return nil
	}
	if ok {
		if err := u.removePermission(ctx, sid, fmt.Sprintf("it lets %s invoke the function, not the rule", cur)); err != nil {
			return err
		}
	}
	return u.change(u.r, Change{Service: "lambda", Action: "AddPermission", Target: u.w.Name + " " + sid, Why: "EventBridge may not invoke the function for the rule",
		Input: map[string]any{"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com", "SourceArn": src}},
		func() error {
			_, err := u.Lambda.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(u.w.Name), StatementId: aws.String(sid),
				Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com"), SourceArn: aws.String(src)})
			return err
		})
}

func (u *run) removePermission(ctx context.Context, sid, why string) error {
	return u.change(u.r, Change{Service: "lambda", Action: "RemovePermission", Target: u.w.Name + " " + sid, Why: why},
		func() error {
			_, err := u.Lambda.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(u.w.Name), StatementId: aws.String(sid)})
			return err
		})
}
