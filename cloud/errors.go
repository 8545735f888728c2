package cloud

import (
	"context"
	"errors"
	"net"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Code returns the AWS error code of err ("" when err is not an API error).
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Retryable reports whether trying the same call later may succeed:
// throttling, a 5xx answer, a timeout or a network error (after the SDK's
// own retries gave up), or a retry quota.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) {
		return true
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
		return true
	}
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool() {
		return true
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// observer reports every operation (after the SDK's retries) to fn.
func observer(account, region string, fn func(Call)) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("reflexObserve",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				start := time.Now()
				out, md, err := next.HandleInitialize(ctx, in)
				// clients generated on the newer runtime (Security Hub) set
				// only smithy's stack values; the others set both
				svc, op := middleware.GetServiceID(ctx), middleware.GetOperationName(ctx)
				if svc == "" {
					svc = awsmiddleware.GetServiceID(ctx)
				}
				if op == "" {
					op = awsmiddleware.GetOperationName(ctx)
				}
				fn(Call{Account: account, Region: region, Service: svc, Operation: op, Err: err, Duration: time.Since(start)})
				return out, md, err
			}), middleware.Before)
	}
}
