package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/reflexsec/reflex/finding"
	"github.com/spf13/cobra"
)

// inspectSchema names the version of reflex inspect's JSON output; see
// docs/inspect.md. Fields are only ever added within a version.
const inspectSchema = "reflex.inspect/v1"

// maxErrorsShown bounds how many bad records are listed; the count of the
// rest is still reported.
const maxErrorsShown = 100

// summary is one finding in reflex inspect's JSON output.
type summary struct {
	Input        string                `json:"input"`
	Line         int                   `json:"line"`
	Column       int                   `json:"column"`
	Index        int                   `json:"index,omitempty"`
	Shape        finding.Shape         `json:"shape"`
	ID           string                `json:"id"`
	ARN          string                `json:"arn,omitempty"`
	Type         string                `json:"type"`
	TypeName     finding.TypeName      `json:"typeName"`
	Title        string                `json:"title,omitempty"`
	Severity     float64               `json:"severity"`
	Band         finding.Band          `json:"band"`
	AccountID    string                `json:"accountId"`
	Region       string                `json:"region"`
	ResourceType string                `json:"resourceType,omitempty"`
	Resource     string                `json:"resource,omitempty"`
	Resources    []finding.ResourceRef `json:"resources"`
	Action       string                `json:"action,omitempty"`
	CreatedAt    string                `json:"createdAt,omitempty"`
	UpdatedAt    string                `json:"updatedAt,omitempty"`
	FirstSeen    string                `json:"firstSeen,omitempty"`
	LastSeen     string                `json:"lastSeen,omitempty"`
	Count        int64                 `json:"count"`
	Archived     bool                  `json:"archived"`
	Sample       bool                  `json:"sample"`
	SampleReason string                `json:"sampleReason,omitempty"`
	Warnings     []string              `json:"warnings,omitempty"`
}

type inspectOutput struct {
	Schema        string                 `json:"schema"`
	Findings      []summary              `json:"findings"`
	Errors        []*finding.RecordError `json:"errors"`
	ErrorsOmitted int                    `json:"errorsOmitted,omitempty"`
}

func summarise(f *finding.Finding) summary {
	s := summary{
		Input: f.Origin.Input, Line: f.Origin.Line, Column: f.Origin.Column, Index: f.Origin.Index, Shape: f.Origin.Shape,
		ID: f.ID, ARN: f.ARN, Type: f.Type, TypeName: f.TypeName(), Title: f.Title,
		Severity: f.Severity, Band: f.Band(), AccountID: f.AccountID, Region: f.Region,
		ResourceType: f.Resource.ResourceType, Resources: f.Resources(),
		CreatedAt: stamp(f.CreatedAt), UpdatedAt: stamp(f.UpdatedAt),
		FirstSeen: stamp(f.Service.EventFirstSeen), LastSeen: stamp(f.Service.EventLastSeen),
		Count: f.Service.Count, Archived: f.Service.Archived, Warnings: f.Warnings,
	}
	if s.Resources == nil {
		s.Resources = []finding.ResourceRef{}
	}
	if len(s.Resources) > 0 {
		s.Resource = s.Resources[0].Label()
	}
	if f.Service.Action != nil {
		s.Action = f.Service.Action.ActionType
	}
	s.Sample, s.SampleReason = f.Sample()
	return s
}

// stamp renders a timestamp in RFC 3339, or its original text when it is
// not a time reflex could read.
func stamp(t finding.Timestamp) string {
	if t.Time.IsZero() {
		return t.Raw
	}
	return t.Time.Format(time.RFC3339Nano)
}

func newInspectCmd(g *globals, s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect FILE…|-",
		Short: "Parse GuardDuty findings and summarise each one",
		Long: `Parse GuardDuty findings and print one summary per finding: type, severity
and band, resource, account and region, first and last seen, count, and
whether it is a sample finding.

Inputs are files, directories (every .json, .jsonl and .ndjson file below
them) or - for standard input. Each may hold EventBridge events, bare
findings, GetFindings output (API or AWS CLI), arrays of these, or a stream
of them (JSON Lines or concatenated JSON). A bad record is reported with its
file:line:column and the others are still read; the exit code is then 2.

With -o json the output follows the schema in docs/inspect.md.`,
		Example: `  reflex inspect testdata/findings/*.json
  aws guardduty get-findings --detector-id D --finding-ids F | reflex inspect -
  reflex inspect -o json export.jsonl`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(errors.New("inspect: name at least one FILE, directory, or - for standard input"))
			}
			inputs, err := expandInputs(args)
			if err != nil {
				return usageErr(err)
			}
			out := inspectOutput{Schema: inspectSchema, Findings: []summary{}, Errors: []*finding.RecordError{}}
			nerr, nfound, nsample := 0, 0, 0
			onError := func(err error) {
				nerr++
				if nerr <= maxErrorsShown {
					fmt.Fprintln(s.err, "reflex: "+err.Error())
				}
				var re *finding.RecordError
				if !errors.As(err, &re) {
					re = &finding.RecordError{Msg: err.Error()}
				}
				if len(out.Errors) < maxErrorsShown {
					out.Errors = append(out.Errors, re)
				} else {
					out.ErrorsOmitted++
				}
			}
			onFinding := func(f *finding.Finding) {
				sm := summarise(f)
				nfound++
				if sm.Sample {
					nsample++
				}
				if g.json() {
					out.Findings = append(out.Findings, sm)
					return
				}
				writeSummary(s.out, sm)
			}
			if err := readFindings(cmd.Context(), inputs, s.in, onFinding, onError); err != nil {
				return err
			}
			if nerr > maxErrorsShown {
				fmt.Fprintf(s.err, "reflex: … and %d more errors\n", nerr-maxErrorsShown)
			}
			if g.json() {
				if err := printJSON(s.out, out); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(s.out, "%d findings (%d samples) from %d inputs, %d errors\n", nfound, nsample, len(inputs), nerr)
			}
			if nerr > 0 {
				return &exitError{code: exitInvalid}
			}
			return nil
		},
	}
}

// writeSummary prints one finding for a person. Every string that comes
// from the finding is escaped: finding text is attacker-influenced and must
// not drive the terminal.
func writeSummary(w io.Writer, s summary) {
	head := clean(s.Type)
	if s.Sample {
		head += "  [SAMPLE]"
	}
	fmt.Fprintln(w, head)
	row := func(k, v string) { fmt.Fprintf(w, "  %-10s %s\n", k, v) }
	if s.Title != "" {
		row("title", clean(s.Title))
	}
	row("severity", fmt.Sprintf("%s (%s)", strconv.FormatFloat(s.Severity, 'f', -1, 64), s.Band))
	res := "-"
	if s.Resource != "" {
		res = clean(s.Resource)
	}
	if s.ResourceType != "" {
		res += " (" + clean(s.ResourceType) + ")"
	}
	row("resource", res)
	for _, r := range s.Resources[min(1, len(s.Resources)):] {
		row("", clean(r.Label()))
	}
	row("account", clean(s.AccountID)+" "+clean(s.Region))
	seen := s.FirstSeen
	if s.LastSeen != "" && s.LastSeen != s.FirstSeen {
		seen += " … " + s.LastSeen
	}
	row("seen", fmt.Sprintf("%s (count %d)", clean(seen), s.Count))
	if s.Action != "" {
		row("action", clean(s.Action))
	}
	row("id", clean(s.ID))
	if s.Sample {
		row("sample", clean(s.SampleReason))
	}
	for _, warn := range s.Warnings {
		row("warning", clean(warn))
	}
	pos := fmt.Sprintf("%s:%d:%d", s.Input, s.Line, s.Column)
	if s.Index > 0 {
		pos += fmt.Sprintf(" [%d]", s.Index)
	}
	row("from", pos+" ("+string(s.Shape)+")")
	fmt.Fprintln(w)
}

// clean escapes control characters so that text from a finding cannot move
// the cursor, recolour or rewrite the terminal.
func clean(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
