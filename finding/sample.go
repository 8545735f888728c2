package finding

import (
	"bytes"
	"encoding/json"
	"strings"
)

// placeholderPrefix starts the placeholder values GuardDuty puts in sample
// findings (GeneratedFindingAccessKeyId, GeneratedFindingUserName …).
const placeholderPrefix = "GeneratedFinding"

// placeholderIDs are other values only sample findings carry.
var placeholderIDs = map[string]bool{
	"i-99999999":   true,
	"ami-99999999": true,
}

// Sample reports whether the finding is a sample finding and why. Sample
// findings are GuardDuty output about resources that do not exist; acting on
// them touches nothing real at best and the wrong thing at worst (DESIGN.md
// safety rule 2). A finding is a sample when GuardDuty marks it so
// (service.additionalInfo.sample, also inside additionalInfo.value in newer
// samples), or when the resource it names is one of GuardDuty's placeholders.
func (f *Finding) Sample() (bool, string) {
	return f.SampleIn(f.Resources())
}

// SampleIn is Sample for a caller that has the finding's Resources already:
// resources must be f.Resources().
func (f *Finding) SampleIn(resources []ResourceRef) (bool, string) {
	if marked(f.Service.AdditionalInfo) {
		return true, "service.additionalInfo.sample is true"
	}
	for _, r := range resources {
		for _, v := range []string{r.ID, r.Name} {
			if isPlaceholder(v) {
				return true, "the " + r.Kind + " is GuardDuty's placeholder " + v
			}
		}
	}
	return false, ""
}

// IsPlaceholder reports whether v is a placeholder value of a sample
// finding, such as GeneratedFindingAccessKeyId or i-99999999. Response steps
// check it again on the exact value they would act on.
func IsPlaceholder(v string) bool { return isPlaceholder(v) }

func isPlaceholder(v string) bool {
	return strings.HasPrefix(v, placeholderPrefix) || placeholderIDs[v]
}

// marked reads additionalInfo's sample flag: true, "true", or inside the
// JSON string additionalInfo.value.
func marked(info json.RawMessage) bool {
	if len(info) == 0 || !bytes.Contains(info, []byte("sample")) {
		return false
	}
	if v, ok := markedFast(info); ok {
		return v
	}
	return markedSlow(info)
}

// markedSlow is marked by encoding/json: the definition markedFast follows.
func markedSlow(info json.RawMessage) bool {
	var ai struct {
		Sample json.RawMessage `json:"sample"`
		Value  json.RawMessage `json:"value"`
	}
	if json.Unmarshal(info, &ai) != nil {
		return false
	}
	if isTrue(ai.Sample) {
		return true
	}
	var inner string
	if len(ai.Value) > 0 && ai.Value[0] == '"' && json.Unmarshal(ai.Value, &inner) == nil {
		var v struct {
			Sample json.RawMessage `json:"sample"`
		}
		if json.Unmarshal([]byte(inner), &v) == nil && isTrue(v.Sample) {
			return true
		}
	}
	return false
}

func isTrue(b json.RawMessage) bool {
	s := strings.TrimSpace(string(b))
	return s == "true" || strings.EqualFold(s, `"true"`)
}
