package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/reflexsec/reflex/pattern"
	"github.com/spf13/cobra"
)

// newPatternCmd is "reflex pattern": tools for EventBridge event patterns.
func newPatternCmd(g *globals, s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pattern",
		Short: "Work with EventBridge event patterns",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newPatternTestCmd(g, s))
	return cmd
}

// envelopeFields are the fields TestEventPattern requires in an event.
var envelopeFields = []string{"id", "account", "source", "time", "region", "resources", "detail-type"}

func newPatternTestCmd(g *globals, s streams) *cobra.Command {
	var patArg, evArg string
	var strict bool
	cmd := &cobra.Command{
		Use:   "test --pattern P --event E",
		Short: "Test an event against an event pattern, like EventBridge's TestEventPattern",
		Long: `Test an event against an EventBridge event pattern, as EventBridge's
TestEventPattern does. P and E are file paths, "-" for standard input, or
inline JSON (a value starting with '{' or '[').

Exit codes: 0 the event matches, 1 it does not, 2 the pattern or the event
is invalid (EventBridge's message on stderr).`,
		Example: `  reflex pattern test --pattern '{"source":["aws.guardduty"],"detail":{"severity":[{"numeric":[">=",7]}]}}' --event finding.json
  reflex pattern test --pattern rule.json --event - < event.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if patArg == "-" && evArg == "-" {
				return usageErr(errors.New("--pattern and --event cannot both be read from stdin"))
			}
			patSrc, patName, err := readInput(patArg, s.in)
			if err != nil {
				return usageErr(fmt.Errorf("--pattern %s: %w", patName, err))
			}
			evSrc, evName, err := readInput(evArg, s.in)
			if err != nil {
				return usageErr(fmt.Errorf("--event %s: %w", evName, err))
			}
			p, err := pattern.Parse(patSrc)
			if err != nil {
				return reportInvalid(g, s, "InvalidEventPatternException", fmt.Sprintf("--pattern %s", patName), err.Error())
			}
			if strict {
				if missing := missingEnvelope(evSrc); missing != "" {
					return reportInvalid(g, s, "ValidationException", fmt.Sprintf("--event %s", evName),
						"Parameter Event is not valid. (missing field "+missing+")")
				}
			}
			ok, err := p.Match(evSrc)
			if err != nil {
				return reportInvalid(g, s, "ValidationException", fmt.Sprintf("--event %s", evName),
					"Parameter Event is not valid. ("+err.Error()+")")
			}
			if g.json() {
				if err := printJSON(s.out, map[string]bool{"match": ok}); err != nil {
					return err
				}
			} else if ok {
				fmt.Fprintln(s.out, "match")
			} else {
				fmt.Fprintln(s.out, "no match")
			}
			if !ok {
				return negative(nil)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&patArg, "pattern", "", "event pattern: a file, - for stdin, or inline JSON")
	cmd.Flags().StringVar(&evArg, "event", "", "event: a file, - for stdin, or inline JSON")
	cmd.Flags().BoolVar(&strict, "strict-envelope", false, "require the envelope fields TestEventPattern requires ("+fmt.Sprint(envelopeFields)+")")
	_ = cmd.MarkFlagRequired("pattern")
	_ = cmd.MarkFlagRequired("event")
	return cmd
}

// readInput returns the bytes an argument names and a name for messages.
func readInput(arg string, stdin io.Reader) ([]byte, string, error) {
	trimmed := bytes.TrimLeft([]byte(arg), " \t\r\n")
	switch {
	case arg == "-":
		b, err := io.ReadAll(stdin)
		return b, "(stdin)", err
	case len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '['):
		return []byte(arg), "(inline)", nil
	case arg == "":
		return nil, `""`, errors.New("empty: give a file, - or inline JSON")
	}
	b, err := os.ReadFile(arg)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
	}
	return b, arg, err
}

// reportInvalid reports an invalid pattern or event: exit 2, the message on
// stderr and, with -o json, the error as JSON on stdout.
func reportInvalid(g *globals, s streams, code, input, msg string) error {
	if g.json() {
		_ = printJSON(s.out, map[string]any{"error": map[string]string{"code": code, "message": msg}})
	}
	return usageErr(fmt.Errorf("%s: %s", input, msg))
}

// missingEnvelope returns the first envelope field the event lacks.
func missingEnvelope(event []byte) string {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(event, &top); err != nil {
		return "" // Match reports the invalid event
	}
	for _, f := range envelopeFields {
		if _, ok := top[f]; !ok {
			return f
		}
	}
	return ""
}
