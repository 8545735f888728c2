package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reflexsec/reflex/cloud"
)

// Exit codes, as in the CLI contract of DESIGN.md.
const (
	exitOK       = 0 // success
	exitNegative = 1 // a negative answer: no match, a playbook with failed steps
	exitInvalid  = 2 // bad usage or invalid input
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; when it
// is not, the module version or VCS revision from the build info is used.
var version = ""

// streams are the standard streams a command reads and writes, passed in so
// tests can run commands in-process.
type streams struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

// exitError carries the exit code a command wants; its message (if any) is
// printed on stderr by run.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErr wraps err as bad usage or invalid input (exit 2).
func usageErr(err error) error { return &exitError{code: exitInvalid, err: err} }

// negative reports a negative answer (exit 1) with an optional message.
//
//lint:ignore U1000 the answer of pattern test and run; kept with its siblings.
func negative(err error) error { return &exitError{code: exitNegative, err: err} }

// globals are the flags every command shares.
type globals struct {
	output string // text | json
	config string // -c/--config, default $REFLEX_CONFIG
}

func (g *globals) json() bool { return g.output == "json" }

// printJSON writes v as indented JSON followed by a newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " (" + rev + dirty + ")"
	}
	return v
}

// newRoot builds the command tree.
func newRoot(s streams) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "reflex",
		Short: "Automatic, safe and reversible response to Amazon GuardDuty findings",
		Long: `reflex turns Amazon GuardDuty findings into automatic, safe and reversible
incident response: it ingests findings, decides with rules written in the
EventBridge event-pattern language, responds with playbooks of AWS actions,
notifies, and records every decision and step in a durable ledger.

Exit codes: 0 success, 1 a negative answer (no match, failed steps),
2 bad usage or invalid input.`,
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			switch g.output {
			case "text", "json":
			default:
				return usageErr(fmt.Errorf("--output %q: want text or json", g.output))
			}
			if !cloud.HasClients(cmd.Context()) {
				cmd.SetContext(cloud.NewLazyContext(cmd.Context(), awsClients(g)))
			}
			return nil
		},
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.SetVersionTemplate("reflex {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	root.PersistentFlags().StringVarP(&g.config, "config", "c", os.Getenv("REFLEX_CONFIG"), "configuration file (default $REFLEX_CONFIG)")
	root.CompletionOptions.HiddenDefaultCmd = true

	// One constructor per command, each in a file named for the command.
	root.AddCommand(
		newInspectCmd(g, s),
		newPatternCmd(g, s),
		newValidateCmd(g, s),
		newPlanCmd(g, s),
		newRunCmd(g, s),
		newApproveCmd(g, s),
		newDenyCmd(g, s),
		newHistoryCmd(g, s),
		newReleaseCmd(g, s),
		newIAMPolicyCmd(g, s),
		newDemoCmd(g, s),
		newNotifyCmd(g, s),
		newSandboxCmd(g, s),
		newEventBridgePatternCmd(g, s),
		newSetupCmd(g, s),
		newLambdaCmd(g, s),
		newServeCmd(g, s),
		newPullCmd(g, s),
	)
	return root
}

// run executes the CLI and returns the process exit code.
func run(ctx context.Context, args []string, s streams) int {
	root := newRoot(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(s.err, "reflex: "+ee.err.Error())
		}
		return ee.code
	}
	msg := err.Error()
	fmt.Fprintln(s.err, "reflex: "+msg)
	// cobra reports unknown commands and wrong argument counts as plain errors.
	if strings.HasPrefix(msg, "unknown command") || strings.Contains(msg, "arg(s)") ||
		strings.HasPrefix(msg, "unknown flag") || strings.HasPrefix(msg, "required flag") {
		return exitInvalid
	}
	return exitNegative
}
