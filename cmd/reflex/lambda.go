package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/intake"
)

// In the Lambda runtime (AWS_LAMBDA_RUNTIME_API set) the bare binary is the
// handler: `reflex` with no arguments runs `reflex lambda`.
func init() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" && len(os.Args) == 1 {
		os.Args = append(os.Args, "lambda")
	}
}

// announceInvocation announces an invocation's decisions on the
// configuration's notification channels and waits for their delivery
// before the invocation answers: the runtime freezes the process between
// invocations. The wait ends a second before the invocation's deadline;
// what is not delivered by then is recorded as failed.
func announceInvocation(stderr io.Writer) func(context.Context, *intake.Processor, func() (any, error)) (any, error) {
	return func(ctx context.Context, p *intake.Processor, invoke func() (any, error)) (any, error) {
		timeout := defaultNotifyTimeout
		if dl, ok := ctx.Deadline(); ok {
			timeout = min(timeout, max(time.Until(dl)-time.Second, 100*time.Millisecond))
		}
		ann := startAnnouncer(context.WithoutCancel(ctx), p.Engine, timeout, stderr)
		if ann == nil {
			return invoke()
		}
		defer func() { p.Engine.Notify = nil }()
		defer ann.finish(stderr)
		return invoke()
	}
}

func newLambdaCmd(g *globals, s streams) *cobra.Command {
	var ledger string
	cmd := &cobra.Command{
		Use:   "lambda",
		Short: "The AWS Lambda handler: EventBridge events and SQS batches (chosen when AWS_LAMBDA_RUNTIME_API is set)",
		Long: `Run as an AWS Lambda function. The function receives EventBridge events
(one GuardDuty finding each) or SQS batches (EventBridge → SQS → Lambda,
with ReportBatchItemFailures: one bad message does not redeliver the
batch). Bad input is recorded in the ledger as rejected and not retried;
findings the ledger cannot take are retried.

The configuration is REFLEX_CONFIG (or -c): a file in the package
(relative to $LAMBDA_TASK_ROOT), s3://BUCKET/KEY or ssm:PARAMETER. The
ledger is REFLEX_LEDGER (or --ledger): dynamodb://TABLE for Lambda. Both
are read on the first invocation, not at start-up.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger(s.err)
			o := runtimeOpts{config: g.config, ledger: ledger, base: os.Getenv("LAMBDA_TASK_ROOT")}
			h := &intake.Lambda{Setup: func(ctx context.Context) (*intake.Processor, error) {
				p, _, err := newProcessor(ctx, o, log, nil)
				if err == nil {
					keepWarm(context.WithoutCancel(ctx), p.Engine.Policy, log)
				}
				return p, err
			}, Around: announceInvocation(s.err)}
			lambda.StartWithOptions(h.Handle, lambda.WithContext(cmd.Context()))
			return nil
		},
	}
	cmd.Flags().StringVar(&ledger, "ledger", "", "ledger: dynamodb://TABLE or a SQLite file (default $REFLEX_LEDGER)")
	return cmd
}
