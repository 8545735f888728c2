package finding

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RecordError is a problem with one record of an input. It names the input
// and the line:column of the problem, and keeps the record's raw bytes (up to
// a limit) so nothing is silently dropped. Reading can go on after it.
type RecordError struct {
	Input  string `json:"input"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Index  int    `json:"index,omitempty"` // element of a multi-finding record, 0 otherwise
	Msg    string `json:"error"`
	syntax bool   // malformed JSON
	// Raw is the start of the offending record (at most MaxRawKept bytes);
	// empty when the record could not be delimited.
	Raw []byte `json:"-"`
	// NotFinding is set when the record is valid JSON but not a GuardDuty
	// finding (another EventBridge event, an unrelated document).
	NotFinding bool `json:"notFinding,omitempty"`
}

// MaxRawKept bounds the raw bytes a RecordError keeps.
const MaxRawKept = 256 << 10

func (e *RecordError) Error() string {
	pos := fmt.Sprintf("%s:%d:%d", e.Input, e.Line, e.Column)
	if e.Index > 0 {
		pos += fmt.Sprintf(" (element %d)", e.Index)
	}
	return pos + ": " + e.Msg
}

// Reader reads findings from a stream of records.
type Reader struct {
	name    string
	sc      *scanner
	pending []*Finding
	errs    []error
}

// NewReader returns a Reader over r; name identifies the input in errors
// ("-" for standard input).
func NewReader(name string, r io.Reader) *Reader {
	return NewReaderLimits(name, r, DefaultLimits)
}

// NewReaderLimits is NewReader with explicit limits.
func NewReaderLimits(name string, r io.Reader, l Limits) *Reader {
	return &Reader{name: name, sc: newScanner(r, l)}
}

// Next returns the next finding. At the end of input it returns io.EOF. A
// *RecordError reports a bad record (or an element of one) and is not fatal:
// call Next again for the rest. Any other error is from the underlying reader.
func (r *Reader) Next() (*Finding, error) {
	for {
		if len(r.errs) > 0 {
			err := r.errs[0]
			r.errs = r.errs[1:]
			return nil, err
		}
		if len(r.pending) > 0 {
			f := r.pending[0]
			r.pending = r.pending[1:]
			return f, nil
		}
		rec, line, col, err := r.sc.next()
		if err != nil {
			var se *scanError
			if errors.As(err, &se) {
				return nil, &RecordError{Input: r.name, Line: se.line, Column: se.col, Msg: se.msg}
			}
			return nil, err
		}
		// The scanner reuses its buffer; findings keep their bytes.
		own := bytes.Clone(rec)
		r.pending, r.errs = parseRecord(r.name, own, line, col)
		if len(r.errs) == 1 && isSyntax(r.errs[0]) {
			if cut := splitAtRecordStart(own); cut > 0 {
				// A broken record ran into the next one: report the
				// broken part alone and read on from the next record.
				tl, tc := lineCol(own[:cut], line, col)
				r.sc.pushBack(own[cut:], tl, tc)
				r.pending, r.errs = parseRecord(r.name, own[:cut], line, col)
			}
		}
	}
}

// ParseBytes reads every finding of one input held in memory. It returns the
// findings and an error for each bad record; one bad record does not stop the
// others from being read.
func ParseBytes(name string, data []byte) ([]*Finding, []error) {
	rd := NewReader(name, bytes.NewReader(data))
	var out []*Finding
	var errs []error
	for {
		f, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, f)
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, &RecordError{Input: name, Line: 1, Column: 1, Msg: "empty input: no findings"})
	}
	return out, errs
}

// top is what the first decoding pass reads of a record: the envelope of an
// EventBridge event, the list of a GetFindings page, and — embedded — every
// field of a bare finding, so the common case is decoded in one pass.
type top struct {
	Finding
	DetailType *string         `json:"detail-type"`
	Source     *string         `json:"source"`
	Detail     json.RawMessage `json:"detail"`
	Findings   json.RawMessage `json:"findings"`
}

// parseRecord turns one record into findings and per-finding errors.
func parseRecord(name string, rec []byte, line, col int) ([]*Finding, []error) {
	fail := func(off int64, index int, notFinding bool, format string, args ...any) []error {
		l, c := position(rec, off, line, col)
		raw := rec
		if len(raw) > MaxRawKept {
			raw = raw[:MaxRawKept]
		}
		return []error{&RecordError{Input: name, Line: l, Column: c, Index: index, Msg: fmt.Sprintf(format, args...), Raw: raw, NotFinding: notFinding}}
	}
	if rec[0] == '[' {
		var elems []json.RawMessage
		if err := json.Unmarshal(rec, &elems); err != nil {
			return nil, syntaxFail(fail, err, rec)
		}
		return parseList(name, rec, elems, line, col, ShapeGetFindings)
	}
	if isCLI(rec) {
		return parseCLI(name, rec, line, col, fail)
	}
	var t top
	typeErr := json.Unmarshal(rec, &t) // checks the syntax before decoding
	var se *json.SyntaxError
	if errors.As(typeErr, &se) {
		return nil, syntaxFail(fail, typeErr, rec)
	}
	switch {
	case t.Source != nil || t.DetailType != nil:
		src, dt := deref(t.Source), deref(t.DetailType)
		if src != "aws.guardduty" {
			return nil, fail(0, 0, true, "not a GuardDuty finding: an EventBridge event from source %q", src)
		}
		if dt != "GuardDuty Finding" {
			return nil, fail(0, 0, true, "not a GuardDuty finding: an aws.guardduty event of detail-type %q", dt)
		}
		if len(t.Detail) == 0 || t.Detail[0] != '{' {
			return nil, fail(0, 0, false, "GuardDuty Finding event has no detail object")
		}
		off := int64(bytes.Index(rec, t.Detail))
		detail := t.Detail
		if off >= 0 {
			detail = rec[off : off+int64(len(detail))] // share the record's bytes
		}
		f, err := decode(detail, rec)
		if err != nil {
			return nil, fail(off+errOffset(err, detail), 0, false, "%s", describe(err))
		}
		f.Origin = Origin{Input: name, Line: line, Column: col, Shape: ShapeEvent}
		return []*Finding{f}, nil
	case t.Findings != nil:
		var elems []json.RawMessage
		if err := json.Unmarshal(t.Findings, &elems); err != nil {
			return nil, fail(0, 0, false, "GetFindings output: \"findings\" is not a list of findings")
		}
		return parseList(name, rec, elems, line, col, ShapeGetFindings)
	}
	f := &t.Finding
	f.Raw = rec
	if err := check(f, typeErr); err != nil {
		return nil, fail(errOffset(err, rec), 0, isNotFinding(err), "%s", describe(err))
	}
	f.event = envelope(f, rec)
	f.Origin = Origin{Input: name, Line: line, Column: col, Shape: ShapeFinding}
	return []*Finding{f}, nil
}

// parseList reads the elements of an array or a GetFindings page; each
// element is a finding or an event, and a bad element does not spoil the
// others.
func parseList(name string, rec []byte, elems []json.RawMessage, line, col int, shape Shape) ([]*Finding, []error) {
	var out []*Finding
	var errs []error
	if len(elems) == 0 {
		return nil, []error{&RecordError{Input: name, Line: line, Column: col, Msg: "empty list: no findings"}}
	}
	// Elements appear in order: search each from the end of the previous
	// one, so locating them stays linear in the record's size.
	pos := 0
	for i, el := range elems {
		off := int64(-1)
		if j := bytes.Index(rec[pos:], el); j >= 0 {
			off = int64(pos + j)
			pos += j + len(el)
		}
		l, c := position(rec, off, line, col)
		if len(el) == 0 || el[0] != '{' {
			errs = append(errs, &RecordError{Input: name, Line: l, Column: c, Index: i + 1, Msg: "list element is not a JSON object", Raw: clip(el)})
			continue
		}
		fs, es := parseRecord(name, el, l, c)
		for _, f := range fs {
			f.Origin.Index = i + 1
			if f.Origin.Shape == ShapeFinding {
				f.Origin.Shape = shape
			}
		}
		for _, e := range es {
			var re *RecordError
			if errors.As(e, &re) {
				re.Index = i + 1
			}
		}
		out = append(out, fs...)
		errs = append(errs, es...)
	}
	return out, errs
}

// decode reads a finding object. event is the whole EventBridge event when
// the finding came in one, nil otherwise.
func decode(obj, event []byte) (*Finding, error) {
	f := &Finding{}
	typeErr := json.Unmarshal(obj, f)
	f.Raw = obj
	if err := check(f, typeErr); err != nil {
		return nil, err
	}
	if event != nil {
		f.event = event
	} else {
		f.event = envelope(f, obj)
	}
	return f, nil
}

// notFindingError marks a JSON object that is not a finding at all.
type notFindingError struct{ msg string }

func (e *notFindingError) Error() string { return e.msg }

func isNotFinding(err error) bool {
	var nf *notFindingError
	return errors.As(err, &nf)
}

// coreFields are the fields decisions rest on: a type mismatch in one of
// them fails the finding; elsewhere it is only a warning.
var coreFields = map[string]bool{
	"schemaVersion": true, "accountId": true, "region": true, "id": true, "type": true,
	"severity": true, "updatedAt": true, "createdAt": true, "partition": true, "arn": true,
	"resource": true, "resource.resourceType": true, "service": true, "service.count": true,
}

// check validates a decoded finding: the identity and severity must be
// there; a wrong-typed field that decisions do not rest on becomes a warning.
func check(f *Finding, typeErr error) error {
	if typeErr != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(typeErr, &te) {
			return typeErr
		}
		// Fields of the embedded Finding in the first pass carry its name.
		te.Field = strings.TrimPrefix(te.Field, "Finding.")
		if coreFields[te.Field] {
			return typeErr
		}
		f.Warnings = append(f.Warnings, describe(typeErr)+" (the field is ignored; further mismatches are not reported)")
	}
	var missing []string
	if f.ID == "" {
		missing = append(missing, "id")
	}
	if f.Type == "" {
		missing = append(missing, "type")
	}
	if f.AccountID == "" {
		missing = append(missing, "accountId")
	}
	if f.Region == "" {
		missing = append(missing, "region")
	}
	if len(missing) == 4 {
		return &notFindingError{"not a GuardDuty finding: the object has none of id, type, accountId, region (expected an EventBridge event, a finding, or GetFindings output)"}
	}
	if len(missing) > 0 {
		return fmt.Errorf("finding %q lacks %s", f.ID, strings.Join(missing, ", "))
	}
	if !hasSeverity(f.Raw) {
		return fmt.Errorf("finding %q has no severity", f.ID)
	}
	if f.Severity < 0 || f.Severity > 10 {
		return fmt.Errorf("finding %q has severity %v, outside GuardDuty's 0–10", f.ID, f.Severity)
	}
	return nil
}

// hasSeverity reports whether the finding object has a severity key; the
// typed view cannot tell a missing severity from 0.
func hasSeverity(obj []byte) bool {
	return bytes.Contains(obj, []byte(`"severity"`)) || bytes.Contains(obj, []byte(`"Severity"`))
}

// envelope builds the EventBridge event GuardDuty would have sent for f.
func envelope(f *Finding, detail []byte) []byte {
	str := func(s string) []byte { b, _ := json.Marshal(s); return b }
	t := f.UpdatedAt.Raw
	if !f.UpdatedAt.Time.IsZero() {
		t = f.UpdatedAt.Time.Format("2006-01-02T15:04:05Z")
	}
	var b bytes.Buffer
	b.Grow(len(detail) + 256)
	b.WriteString(`{"version":"0","id":`)
	b.Write(str(f.ID))
	b.WriteString(`,"detail-type":"GuardDuty Finding","source":"aws.guardduty","account":`)
	b.Write(str(f.AccountID))
	b.WriteString(`,"time":`)
	b.Write(str(t))
	b.WriteString(`,"region":`)
	b.Write(str(f.Region))
	b.WriteString(`,"resources":[],"detail":`)
	b.Write(detail)
	b.WriteByte('}')
	return b.Bytes()
}

// isCLI reports whether a record is AWS CLI get-findings output or a finding
// from it: PascalCase keys ("Findings": [{"AccountId": …}]).
func isCLI(rec []byte) bool {
	return bytes.Contains(rec, []byte(`"AccountId"`)) && bytes.Contains(rec, []byte(`"SchemaVersion"`))
}

// parseCLI reads AWS CLI output: the PascalCase member names of the SDK
// model. The keys are rewritten to the wire's camelCase so that rules
// written for EventBridge events match; Raw keeps the original bytes.
func parseCLI(name string, rec []byte, line, col int, fail func(int64, int, bool, string, ...any) []error) ([]*Finding, []error) {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(rec))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fail(0, 0, false, "%s", describe(err))
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fail(0, 0, false, "not a GuardDuty finding")
	}
	var raws []json.RawMessage
	var list []any
	if fs, ok := obj["Findings"].([]any); ok {
		list = fs
		var page struct{ Findings []json.RawMessage }
		_ = json.Unmarshal(rec, &page)
		raws = page.Findings
	} else {
		list = []any{obj}
		raws = []json.RawMessage{rec}
	}
	var out []*Finding
	var errs []error
	for i, el := range list {
		canon, err := json.Marshal(camelKeys(el, ""))
		if err != nil {
			errs = append(errs, fail(0, i+1, false, "%s", err.Error())...)
			continue
		}
		f, err := decode(canon, nil)
		if err != nil {
			errs = append(errs, fail(0, i+1, false, "%s", describe(err))...)
			continue
		}
		if i < len(raws) {
			f.Raw = raws[i]
		}
		f.Origin = Origin{Input: name, Line: line, Column: col, Shape: ShapeCLI}
		if len(list) > 1 || obj["Findings"] != nil {
			f.Origin.Index = i + 1
		}
		out = append(out, f)
	}
	return out, errs
}

// camelKeys lower-cases the first letter of every key, except inside the
// free-form maps whose keys are data (additionalInfo, affectedResources) and
// RDS's LoginAttributes, which is capitalised on the wire too.
func camelKeys(v any, parent string) any {
	switch x := v.(type) {
	case map[string]any:
		if parent == "additionalInfo" || parent == "affectedResources" {
			return x
		}
		m := make(map[string]any, len(x))
		for k, val := range x {
			nk := k
			if k != "LoginAttributes" {
				r, size := utf8.DecodeRuneInString(k)
				nk = string(unicode.ToLower(r)) + k[size:]
			}
			m[nk] = camelKeys(val, nk)
		}
		return m
	case []any:
		for i := range x {
			x[i] = camelKeys(x[i], parent)
		}
		return x
	}
	return v
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func clip(b []byte) []byte {
	if len(b) > MaxRawKept {
		return b[:MaxRawKept]
	}
	return b
}

// syntaxFail reports a JSON syntax error at its position.
func syntaxFail(fail func(int64, int, bool, string, ...any) []error, err error, doc []byte) []error {
	errs := fail(errOffset(err, doc), 0, false, "%s", describe(err))
	var se *json.SyntaxError
	if errors.As(err, &se) {
		errs[0].(*RecordError).syntax = true
	}
	return errs
}

func isSyntax(err error) bool {
	re, ok := err.(*RecordError)
	return ok && re.syntax
}

// errOffset is the byte offset of a decoding error within doc. A type error
// points at its field's key, not past the value where the decoder stopped.
func errOffset(err error, doc []byte) int64 {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return max(se.Offset-1, 0)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		off := min(max(te.Offset, 0), int64(len(doc)))
		key := te.Field[strings.LastIndexByte(te.Field, '.')+1:]
		if i := bytes.LastIndex(doc[:off], []byte(`"`+key+`"`)); key != "" && i >= 0 {
			return int64(i)
		}
		return max(off-1, 0)
	}
	return 0
}

// describe turns a decoding error into a message for a person.
func describe(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "malformed JSON: " + se.Error()
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "value"
		}
		return fmt.Sprintf("field %s: a JSON %s where a %s was expected", field, te.Value, kindName(te.Type.Kind().String(), te.Type.Name()))
	}
	return err.Error()
}

func kindName(kind, name string) string {
	switch kind {
	case "string":
		return "string"
	case "float64", "int", "int64":
		return "number"
	case "bool":
		return "boolean"
	case "slice":
		return "list"
	case "struct", "map", "ptr":
		if name == "Timestamp" {
			return "time"
		}
		return "object"
	}
	return kind
}

// position converts a byte offset within rec to a line and column of the
// input, given the record's own starting line and column.
func position(rec []byte, off int64, line, col int) (int, int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(rec)) {
		off = int64(len(rec))
	}
	before := rec[:off]
	nl := bytes.Count(before, newline)
	if nl == 0 {
		return line, col + len(before)
	}
	return line + nl, len(before) - bytes.LastIndexByte(before, '\n')
}
