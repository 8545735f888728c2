package main

// Wiring shared by the long-running commands (lambda, serve, pull): the
// configuration from a file, S3 or SSM, the ledger on SQLite or DynamoDB,
// JSON logs.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/intake"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/store"
	"github.com/reflexsec/reflex/store/dynamodb"
	"github.com/reflexsec/reflex/store/sqlite"
)

// runtimeOpts are the settings of a long-running command.
type runtimeOpts struct {
	config string // file, s3://BUCKET/KEY or ssm:NAME
	ledger string // SQLite path or dynamodb://TABLE[?create=true]
	base   string // directory of relative configuration paths
}

// newLogger returns the JSON logger of the runtimes (REFLEX_LOG_LEVEL:
// debug, info, warn, error).
func newLogger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(os.Getenv("REFLEX_LOG_LEVEL"))); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl}))
}

var awsCfg = func(ctx context.Context) (aws.Config, error) { return awsconfig.LoadDefaultConfig(ctx) }

// loadRuntimePolicy reads and validates the configuration wherever it is.
func loadRuntimePolicy(ctx context.Context, o runtimeOpts) (*policy.Policy, error) {
	if o.config == "" {
		return nil, usageErr(errors.New("no configuration: pass -c FILE|s3://BUCKET/KEY|ssm:NAME or set REFLEX_CONFIG"))
	}
	var src intake.ConfigSources
	if loc := intake.ConfigLocation(o.config); loc != "file" {
		cfg, err := awsCfg(ctx)
		if err != nil {
			return nil, err
		}
		if loc == "s3" {
			src.S3 = s3.NewFromConfig(cfg)
		} else {
			src.SSM = ssm.NewFromConfig(cfg)
		}
	}
	name, data, err := intake.ReadConfig(ctx, o.config, o.base, src)
	if err != nil {
		return nil, err
	}
	p, err := policy.Parse(name, data, action.NewRegistry())
	if err != nil {
		var es *policy.Errors
		if errors.As(err, &es) {
			return nil, usageErr(fmt.Errorf("invalid configuration (%d problem(s)):\n%s", len(es.List), es.Error()))
		}
		return nil, usageErr(err)
	}
	if intake.ConfigLocation(o.config) == "file" {
		p.File = name
	}
	return p, nil
}

// openLedger opens the ledger named by spec: dynamodb://TABLE (the table
// is created first with ?create=true), else a SQLite file.
func openLedger(ctx context.Context, spec string, p *policy.Policy) (store.Ledger, string, error) {
	if spec == "" {
		spec = os.Getenv("REFLEX_LEDGER")
	}
	if strings.HasPrefix(spec, "dynamodb://") {
		u, err := url.Parse(spec)
		if err != nil || u.Host == "" {
			return nil, "", usageErr(fmt.Errorf("ledger %q: want dynamodb://TABLE", spec))
		}
		cfg, err := awsCfg(ctx)
		if err != nil {
			return nil, "", err
		}
		c := ddb.NewFromConfig(cfg)
		if u.Query().Get("create") == "true" {
			if err := dynamodb.EnsureTable(ctx, c, u.Host); err != nil {
				return nil, "", err
			}
		}
		return dynamodb.New(c, u.Host, dynamodb.Options{}), "dynamodb://" + u.Host, nil
	}
	path := resolveLedger(spec, p)
	db, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		return nil, "", err
	}
	return db, path, nil
}

// newProcessor builds the shared intake path.
func newProcessor(ctx context.Context, o runtimeOpts, log *slog.Logger, obs intake.Observer) (*intake.Processor, store.Ledger, error) {
	p, err := loadRuntimePolicy(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	led, where, err := openLedger(ctx, o.ledger, p)
	if err != nil {
		return nil, nil, err
	}
	log.Debug("ready", "config", o.config, "ledger", where, "rules", len(p.Rules))
	eng := &engine.Engine{Policy: p, Registry: action.NewRegistry(), Ledger: led, Log: log}
	return &intake.Processor{Engine: eng, Log: log, Obs: obs}, led, nil
}
