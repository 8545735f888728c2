package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/intake"
	"github.com/reflexsec/reflex/server"
)

// secretFrom reads a secret from a file (when path is set) or an
// environment variable; never from a flag value, which would show in ps.
func secretFrom(path, env string) (string, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	return os.Getenv(env), nil
}

func newServeCmd(g *globals, s streams) *cobra.Command {
	var (
		listen, ledger, queueURL, keyFile, hmacFile, keyHeader string
		workers                                                int
		drain                                                  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve -c FILE",
		Short: "Long-running: HTTP intake (EventBridge API destinations), SQS consumer, /healthz, /readyz, /metrics",
		Long: `Run reflex as a service. Findings arrive by HTTP (POST /events: an
EventBridge event or a JSON array of them, at most 256 KB, authenticated by
API key and/or HMAC-SHA256 signature; 202 once the ledger has them) and,
with --queue-url, from an SQS queue fed by an EventBridge rule.

Secrets come from files or the environment, never from flags:
  REFLEX_API_KEYS (comma-separated) or --api-key-file
  REFLEX_HMAC_SECRET or --hmac-secret-file (header X-Reflex-Signature: sha256=HEX)

/healthz is open; /readyz and /metrics need the API key. SIGTERM stops
intake, finishes work in flight within --drain and leaves the rest
journaled, resumed at the next start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := newLogger(s.err)
			keys, err := secretFrom(keyFile, "REFLEX_API_KEYS")
			if err != nil {
				return usageErr(err)
			}
			secret, err := secretFrom(hmacFile, "REFLEX_HMAC_SECRET")
			if err != nil {
				return usageErr(err)
			}
			auth := &intake.Auth{KeyHeader: keyHeader, HMACSecret: []byte(secret)}
			for _, k := range strings.Split(keys, ",") {
				if k = strings.TrimSpace(k); k != "" {
					auth.Keys = append(auth.Keys, k)
				}
			}
			if !auth.Configured() {
				return usageErr(errors.New("no authentication: set REFLEX_API_KEYS and/or REFLEX_HMAC_SECRET (or --api-key-file, --hmac-secret-file)"))
			}
			m := server.NewMetrics()
			proc, led, err := newProcessor(ctx, runtimeOpts{config: g.config, ledger: ledger}, log, m)
			if err != nil {
				return err
			}
			defer led.Close()
			keepWarm(ctx, proc.Engine.Policy, log)
			// decisions are announced on the configuration's channels; the
			// dispatcher outlives SIGTERM to announce the drained work
			ann := startAnnouncer(context.WithoutCancel(ctx), proc.Engine, defaultNotifyTimeout, s.err)
			defer ann.finish(s.err) // before the ledger closes
			srv := &server.Server{Proc: proc, Auth: auth, Metrics: m, Log: log, Drain: drain}
			if queueURL == "" {
				queueURL = os.Getenv("REFLEX_QUEUE_URL")
			}
			if queueURL != "" {
				cfg, err := awsCfg(ctx)
				if err != nil {
					return err
				}
				srv.SQS = &intake.SQS{Proc: proc, Client: sqs.NewFromConfig(cfg), QueueURL: queueURL, Workers: workers}
			}
			if !cmd.Flags().Changed("listen") && os.Getenv("REFLEX_LISTEN") != "" {
				listen = os.Getenv("REFLEX_LISTEN")
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usageErr(fmt.Errorf("--listen %s: %w", listen, err))
			}
			fmt.Fprintf(s.err, "reflex serve: listening on http://%s\n", ln.Addr())
			return srv.Serve(ctx, ln)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address of the HTTP intake, health and metrics ($REFLEX_LISTEN; the container image sets :8080)")
	f.StringVar(&ledger, "ledger", "", "ledger: dynamodb://TABLE or a SQLite file (default $REFLEX_LEDGER, the configuration's ledger.path)")
	f.StringVar(&queueURL, "queue-url", "", "SQS queue to consume (default $REFLEX_QUEUE_URL; none: HTTP only)")
	f.IntVar(&workers, "workers", 4, "SQS messages handled at once")
	f.StringVar(&keyFile, "api-key-file", "", "file holding the API key(s), comma-separated (default $REFLEX_API_KEYS)")
	f.StringVar(&hmacFile, "hmac-secret-file", "", "file holding the HMAC secret (default $REFLEX_HMAC_SECRET)")
	f.StringVar(&keyHeader, "api-key-header", "X-Api-Key", "header carrying the API key (Authorization: Bearer works too)")
	f.DurationVar(&drain, "drain", 25*time.Second, "on SIGTERM, how long to let work in flight finish")
	return cmd
}
