package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/notify"
	"github.com/reflexsec/reflex/notify/channels"
)

func newNotifyCmd(g *globals, s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Notification channels: send a test message",
	}
	cmd.AddCommand(newNotifyTestCmd(g, s))
	return cmd
}

func newNotifyTestCmd(g *globals, s streams) *cobra.Command {
	var channel string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "test -c FILE --channel NAME",
		Short: "Send a sample message to a notification channel",
		Long: `Send a sample message — a made-up EC2 finding with a step of every status
(done, skipped, failed, waiting for approval) — to one channel of the
configuration's notifications section, through the same code and retries as
real notifications. Secrets are resolved as in a real run (env:, ssm:,
secretsmanager:) and never printed.

Exit 0 when the channel accepted the message, 1 when delivery failed,
2 when the configuration or the channel name is wrong.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.config == "" {
				return usageErr(errors.New("notify test: give the configuration with -c FILE (or REFLEX_CONFIG)"))
			}
			cfg, err := loadNotifications(g.config)
			if err != nil {
				return usageErr(err)
			}
			ch := cfg.Channels[channel]
			if ch == nil {
				var names []string
				for n := range cfg.Channels {
					names = append(names, n)
				}
				slices.Sort(names)
				return usageErr(fmt.Errorf("notify test: no channel %q in %s (have %v)", channel, g.config, names))
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			h := &notify.HTTP{UserAgent: "reflex/" + buildVersion()}
			notifiers, err := channels.Build(cfg, channels.Default(ctx, h))
			if err != nil {
				return usageErr(err)
			}
			d, err := notify.NewDispatcher(cfg, notifiers, notify.Options{})
			if err != nil {
				return usageErr(err)
			}
			defer func() { _ = d.Close(context.Background()) }()
			n := notify.SampleNotification(time.Now().UTC())
			n.Route = "test"
			attempts, sendErr := d.Send(ctx, channel, n)
			res := struct {
				Channel  string `json:"channel"`
				Type     string `json:"type"`
				Status   string `json:"status"`
				Attempts int    `json:"attempts"`
				Error    string `json:"error,omitempty"`
			}{Channel: channel, Type: ch.Type, Status: notify.Delivered, Attempts: attempts}
			if sendErr != nil {
				res.Status, res.Error = notify.Failed, sendErr.Error()
			}
			if g.json() {
				if err := printJSON(s.out, res); err != nil {
					return err
				}
			} else if sendErr == nil {
				fmt.Fprintf(s.out, "sent a test message to %s (%s), %d attempt(s)\n", channel, ch.Type, attempts)
			}
			if sendErr != nil {
				return &exitError{code: exitNegative, err: fmt.Errorf("notify test: %s (%s): not delivered after %d attempt(s): %v", channel, ch.Type, attempts, sendErr)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&channel, "channel", "", "the channel to send to (a key of notifications.channels)")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long, retries included")
	_ = cmd.MarkFlagRequired("channel")
	return cmd
}

// loadNotifications reads the notifications section of a configuration file.
func loadNotifications(path string) (*notify.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		return nil, fmt.Errorf("%s: the configuration is not a mapping", path)
	}
	sec, ok := top["notifications"]
	if !ok || string(sec) == "null" {
		return nil, fmt.Errorf("%s: no notifications section", path)
	}
	cfg, err := notify.ParseConfig(sec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
