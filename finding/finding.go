package finding

import (
	"encoding/json"
	"reflect"
	"strconv"
	"time"
)

// Finding is one GuardDuty finding: a typed view of the fields reflex uses,
// with the finding object's raw JSON kept whole in Raw.
//
// Field names follow the GuardDuty wire format (the EventBridge event's
// detail, GetFindings on the wire, S3 exports). Unknown fields are ignored by
// the typed view and kept in Raw.
type Finding struct {
	SchemaVersion               string    `json:"schemaVersion"`
	AccountID                   string    `json:"accountId"`
	Region                      string    `json:"region"`
	Partition                   string    `json:"partition"`
	ID                          string    `json:"id"`
	ARN                         string    `json:"arn"`
	Type                        string    `json:"type"`
	Severity                    float64   `json:"severity"`
	Confidence                  *float64  `json:"confidence"`
	CreatedAt                   Timestamp `json:"createdAt"`
	UpdatedAt                   Timestamp `json:"updatedAt"`
	Title                       string    `json:"title"`
	Description                 string    `json:"description"`
	AssociatedAttackSequenceARN string    `json:"associatedAttackSequenceArn"`
	CustomDetectionRuleName     string    `json:"customDetectionRuleName"`
	Resource                    Resource  `json:"resource"`
	Service                     Service   `json:"service"`

	// Raw is the finding object exactly as it was received (for an
	// EventBridge event, the bytes of "detail"). It is never rewritten.
	Raw json.RawMessage `json:"-"`

	// Origin says where the finding came from: the input's name, the
	// record's position and the shape it had.
	Origin Origin `json:"-"`

	// Warnings lists problems in fields reflex does not rely on (for
	// example a number where a string was expected); the finding is still
	// usable.
	Warnings []string `json:"-"`

	// event is the EventBridge event patterns match against: the original
	// event when the finding came as one, otherwise an envelope built
	// around the (camelCase) finding.
	event []byte
}

// Shape is the form a finding arrived in.
type Shape string

// The shapes of input reflex reads.
const (
	ShapeEvent       Shape = "eventbridge-event" // an EventBridge event whose detail is the finding
	ShapeFinding     Shape = "finding"           // a bare finding object
	ShapeGetFindings Shape = "get-findings"      // an element of GetFindings output
	ShapeCLI         Shape = "get-findings-cli"  // an element of AWS CLI get-findings output (PascalCase keys)
)

// Origin locates a finding in its input.
type Origin struct {
	Input  string `json:"input"`  // file name, or "-" for standard input
	Line   int    `json:"line"`   // line of the record's first byte (1-based)
	Column int    `json:"column"` // column of the record's first byte (1-based, in bytes)
	Index  int    `json:"index"`  // position of the finding within the record (0 unless the record held several)
	Shape  Shape  `json:"shape"`
}

func (o Origin) String() string {
	s := o.Input + ":" + strconv.Itoa(o.Line) + ":" + strconv.Itoa(o.Column)
	if o.Index > 0 {
		s += "[" + strconv.Itoa(o.Index) + "]"
	}
	return s
}

// Key identifies a finding: GuardDuty finding ids are unique per account and
// region (per detector), so all three are needed.
type Key struct {
	AccountID string `json:"accountId"`
	Region    string `json:"region"`
	ID        string `json:"id"`
}

func (k Key) String() string { return k.AccountID + "/" + k.Region + "/" + k.ID }

// Key returns the finding's identity. Account and region come from the
// finding itself, never from the envelope (DESIGN.md safety rule 8).
func (f *Finding) Key() Key { return Key{AccountID: f.AccountID, Region: f.Region, ID: f.ID} }

// Version is what changes when GuardDuty re-sends a finding with new
// occurrences: updatedAt moves forward and the count grows.
type Version struct {
	UpdatedAt time.Time `json:"updatedAt"`
	Count     int64     `json:"count"`
}

// Version returns the finding's version.
func (f *Finding) Version() Version {
	return Version{UpdatedAt: f.UpdatedAt.Time, Count: f.Service.Count}
}

// Newer reports whether v is a later version of the same finding than old:
// a later updatedAt, or the same updatedAt with a higher count.
func (v Version) Newer(old Version) bool {
	if !v.UpdatedAt.Equal(old.UpdatedAt) {
		return v.UpdatedAt.After(old.UpdatedAt)
	}
	return v.Count > old.Count
}

// Band returns the finding's severity band.
func (f *Finding) Band() Band { return BandOf(f.Severity) }

// TypeName returns the parts of the finding's type name.
func (f *Finding) TypeName() TypeName { return ParseType(f.Type) }

// Event returns the EventBridge event for the finding, the document event
// patterns are matched against. When the finding arrived as an event this is
// the original event byte for byte; otherwise it is an envelope like the one
// EventBridge would send, built around the finding. The caller must not
// modify the returned slice.
func (f *Finding) Event() []byte { return f.event }

// Timestamp is a time as GuardDuty writes it, with the original text kept.
// It accepts ISO-8601 strings with or without fractional seconds and zone,
// the "2006-01-02 15:04:05.000" form some pipelines produce, and numbers of
// epoch seconds (GuardDuty uses them in resource details, sometimes in
// exponent form such as 1.639010703E9). Text that is not a time leaves Time
// zero and Raw set; it does not fail the finding.
type Timestamp struct {
	Time time.Time
	Raw  string
	num  bool // Raw is a JSON number literal, not a string's content
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	*t = Timestamp{}
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		t.Raw = s
		for _, layout := range timeLayouts {
			if tm, err := time.Parse(layout, s); err == nil {
				t.Time = tm.UTC()
				return nil
			}
		}
		return nil
	}
	t.Raw, t.num = string(b), true
	secs, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: firstByteKind(b[0]), Type: reflect.TypeFor[Timestamp]()}
	}
	whole := int64(secs)
	t.Time = time.Unix(whole, int64((secs-float64(whole))*1e9)).UTC()
	return nil
}

// MarshalJSON writes the original text, so re-encoding changes nothing.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.Raw == "" && t.Time.IsZero() {
		return []byte("null"), nil
	}
	if t.Raw == "" {
		return json.Marshal(t.Time.Format(time.RFC3339Nano))
	}
	if t.num {
		return []byte(t.Raw), nil
	}
	return json.Marshal(t.Raw)
}

// IsZero reports whether the timestamp is absent or could not be read.
func (t Timestamp) IsZero() bool { return t.Time.IsZero() }

func (t Timestamp) String() string {
	if t.Time.IsZero() {
		return t.Raw
	}
	return t.Time.Format(time.RFC3339Nano)
}

func firstByteKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	return "value"
}
