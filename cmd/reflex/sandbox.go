package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/internal/fakeaws"
)

// sandboxInfo is what `reflex sandbox` prints once it listens.
type sandboxInfo struct {
	Endpoint string           `json:"endpoint"`
	Region   string           `json:"region"`
	Accounts []sandboxAccount `json:"accounts"`
}

type sandboxAccount struct {
	ID              string `json:"id"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

func newSandboxCmd(g *globals, s streams) *cobra.Command {
	var (
		listen   string
		scenario string
		latency  time.Duration
		seed     uint64
	)
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the test cloud: a local AWS emulator for reflex, the AWS CLI and SDKs",
		Long: `sandbox serves fakeaws, reflex's wire-level AWS emulator (EC2, IAM, STS, S3,
GuardDuty, SNS, SQS, Auto Scaling, ELBv2, Security Hub, EventBridge), on one
endpoint until interrupted. It prints the endpoint and the credentials of each
account; point the AWS CLI or any SDK at it with AWS_ENDPOINT_URL.

Without --scenario it loads the embedded default scenario (accounts
111111111111 and 222222222222). It listens on loopback unless --listen says
otherwise. Signatures are not verified: never expose it to a network.`,
		Example: `  reflex sandbox --listen 127.0.0.1:4566
  reflex sandbox --scenario my-cloud.yaml --latency 50ms -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, _, err := net.SplitHostPort(listen); err != nil {
				return usageErr(fmt.Errorf("--listen %q: %v", listen, err))
			}
			if latency < 0 {
				return usageErr(fmt.Errorf("--latency %v: must not be negative", latency))
			}
			opts := []fakeaws.Option{fakeaws.WithLatency(latency)}
			if cmd.Flags().Changed("seed") {
				opts = append(opts, fakeaws.WithSeed(seed))
			}
			cloud := fakeaws.New(opts...)
			var err error
			if scenario != "" {
				err = cloud.LoadScenarioFile(scenario)
			} else {
				err = cloud.LoadDefaultScenario()
			}
			if err != nil {
				return usageErr(fmt.Errorf("scenario: %w", err))
			}
			srv, err := cloud.Start(listen)
			if err != nil {
				return fmt.Errorf("listen %s: %w", listen, err)
			}
			defer srv.Close()
			info := sandboxInfo{Endpoint: srv.URL, Region: fakeaws.DefaultRegion}
			for _, id := range cloud.Accounts() {
				if ak, sk, ok := cloud.Credentials(id); ok {
					info.Accounts = append(info.Accounts, sandboxAccount{ID: id, AccessKeyID: ak, SecretAccessKey: sk})
				}
			}
			if err := printSandbox(g, s, info); err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			<-ctx.Done()
			if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:4566", "address to listen on (host:port; port 0 picks a free port)")
	cmd.Flags().StringVar(&scenario, "scenario", "", "scenario file (YAML or JSON); default: the embedded scenario")
	cmd.Flags().DurationVar(&latency, "latency", 0, "latency added to every call, e.g. 50ms")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed for generated ids (default: random)")
	return cmd
}

func printSandbox(g *globals, s streams, info sandboxInfo) error {
	if g.json() {
		return printJSON(s.out, info)
	}
	fmt.Fprintf(s.out, "fakeaws listening on %s\n\n", info.Endpoint)
	for i, a := range info.Accounts {
		prefix := "# "
		if i == 0 {
			prefix = ""
		}
		fmt.Fprintf(s.out, "# account %s\n", a.ID)
		fmt.Fprintf(s.out, "%sexport AWS_ENDPOINT_URL=%s AWS_REGION=%s AWS_DEFAULT_REGION=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n",
			prefix, info.Endpoint, info.Region, info.Region, a.AccessKeyID, a.SecretAccessKey)
	}
	fmt.Fprintln(s.out, "\n# AWS CLI v1 ignores AWS_ENDPOINT_URL for sqs: pass --endpoint-url there.")
	fmt.Fprintln(s.out, "Press Ctrl-C to stop.")
	return nil
}
