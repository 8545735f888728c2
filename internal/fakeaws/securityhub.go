package fakeaws

import (
	"strconv"
	"strings"
)

// Security Hub (REST-JSON): BatchImportFindings (ASFF, with the required
// fields checked per finding, at most 100 per call, only the caller's own
// account), BatchUpdateFindings (workflow, note, severity, verification
// state, confidence, criticality, types, user-defined fields) and
// GetFindings (string filters on the fields in hubFilterFields, combined as
// the API reference's StringFilter says; MaxResults 1–100, opaque NextToken).

type hubFinding struct {
	Data map[string]any
}

func securityhubService() *service {
	s := &service{name: "securityhub", proto: protoRestJSON,
		throttleErr: &apiError{status: 429, code: "TooManyRequestsException", msg: "Rate exceeded"}}
	s.routes = []route{
		{"POST", "/findings/import", "BatchImportFindings", hubImport},
		{"PATCH", "/findings/batchupdate", "BatchUpdateFindings", hubUpdate},
		{"POST", "/findings", "GetFindings", hubGetFindings},
	}
	return s
}

var asffRequired = []string{"SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "CreatedAt",
	"UpdatedAt", "Severity", "Title", "Description", "Resources"}

func hubImport(r *request) (any, error) {
	fs := jlist(r.in, "Findings")
	if len(fs) == 0 || len(fs) > 100 {
		return nil, badRequest("InvalidInputException", "Findings must contain between 1 and 100 findings.")
	}
	reg := r.reg()
	failed := []any{}
	ok := 0
	for _, x := range fs {
		f, _ := x.(map[string]any)
		id := jstr(f, "Id")
		missing := ""
		for _, k := range asffRequired {
			if v, has := f[k]; !has || v == nil || v == "" {
				missing = k
				break
			}
		}
		switch {
		case missing != "":
			failed = append(failed, map[string]any{"Id": id, "ErrorCode": "InvalidInput", "ErrorMessage": "Finding does not adhere to Amazon Finding Format. data." + missing + " is required"})
		case jstr(f, "AwsAccountId") != r.acct.id:
			failed = append(failed, map[string]any{"Id": id, "ErrorCode": "AccessDeniedException", "ErrorMessage": "Account " + jstr(f, "AwsAccountId") + " is not the caller's account"})
		default:
			key := jstr(f, "ProductArn") + "|" + id
			if _, exists := reg.hub[key]; !exists {
				reg.hubOrder = append(reg.hubOrder, key)
			}
			cp, _ := deepCopy(f).(map[string]any)
			if _, has := cp["Workflow"]; !has {
				cp["Workflow"] = map[string]any{"Status": "NEW"}
			}
			cp["RecordState"] = "ACTIVE"
			reg.hub[key] = &hubFinding{Data: cp}
			ok++
		}
	}
	return map[string]any{"FailedCount": len(failed), "SuccessCount": ok, "FailedFindings": failed}, nil
}

func hubUpdate(r *request) (any, error) {
	ids := jlist(r.in, "FindingIdentifiers")
	if len(ids) == 0 || len(ids) > 100 {
		return nil, badRequest("InvalidInputException", "FindingIdentifiers must contain between 1 and 100 items.")
	}
	reg := r.reg()
	processed, unprocessed := []any{}, []any{}
	now := isoTime(r.c.clock())
	for _, x := range ids {
		fi, _ := x.(map[string]any)
		h := reg.hub[jstr(fi, "ProductArn")+"|"+jstr(fi, "Id")]
		if h == nil {
			unprocessed = append(unprocessed, map[string]any{"FindingIdentifier": fi, "ErrorCode": "FindingNotFound",
				"ErrorMessage": "Finding Not Found"})
			continue
		}
		f := h.Data
		if w := jobj(r.in, "Workflow"); w != nil {
			f["Workflow"] = map[string]any{"Status": jstr(w, "Status")}
		}
		if n := jobj(r.in, "Note"); n != nil {
			f["Note"] = map[string]any{"Text": jstr(n, "Text"), "UpdatedBy": jstr(n, "UpdatedBy"), "UpdatedAt": now}
		}
		if s := jobj(r.in, "Severity"); s != nil {
			sev, _ := f["Severity"].(map[string]any)
			if sev == nil {
				sev = map[string]any{}
				f["Severity"] = sev
			}
			for k, v := range s {
				sev[k] = v
			}
		}
		for _, k := range []string{"VerificationState", "Confidence", "Criticality", "Types", "UserDefinedFields", "RelatedFindings"} {
			if v, ok := r.in[k]; ok {
				f[k] = deepCopy(v)
			}
		}
		f["UpdatedAt"] = now
		processed = append(processed, fi)
	}
	return map[string]any{"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}, nil
}

// hubFilterFields are the GetFindings string filters the test cloud
// answers: each reads the finding's values for its field (several for a
// list, such as Type or ResourceId).
var hubFilterFields = map[string]func(f map[string]any) []string{
	"Id":             hubField("Id"),
	"ProductArn":     hubField("ProductArn"),
	"AwsAccountId":   hubField("AwsAccountId"),
	"GeneratorId":    hubField("GeneratorId"),
	"Region":         hubField("Region"),
	"Title":          hubField("Title"),
	"Description":    hubField("Description"),
	"ProductName":    hubField("ProductName"),
	"CompanyName":    hubField("CompanyName"),
	"RecordState":    hubField("RecordState"),
	"WorkflowStatus": func(f map[string]any) []string { return []string{jstr(jobj(f, "Workflow"), "Status")} },
	"SeverityLabel":  func(f map[string]any) []string { return []string{jstr(jobj(f, "Severity"), "Label")} },
	"Type":           func(f map[string]any) []string { return jstrs(f, "Types") },
	"ResourceId":     hubResourceField("Id"),
	"ResourceType":   hubResourceField("Type"),
}

func hubField(k string) func(map[string]any) []string {
	return func(f map[string]any) []string { return []string{jstr(f, k)} }
}

func hubResourceField(k string) func(map[string]any) []string {
	return func(f map[string]any) []string {
		var out []string
		for _, x := range jlist(f, "Resources") {
			if m, ok := x.(map[string]any); ok {
				out = append(out, jstr(m, k))
			}
		}
		return out
	}
}

// hubStringFilter is one field's filters: the positive ones (EQUALS,
// PREFIX, CONTAINS) joined by OR, then the negative ones (NOT_EQUALS,
// PREFIX_NOT_EQUALS, NOT_CONTAINS) joined by AND.
type hubStringFilter struct {
	field    string
	values   func(map[string]any) []string
	pos, neg [][2]string // comparison, value
}

func hubParseFilters(in map[string]any) ([]hubStringFilter, *apiError) {
	filters := jobj(in, "Filters")
	if len(filters) > 10 {
		return nil, badRequest("InvalidInputException", "Filters can contain at most 10 finding attributes.")
	}
	var out []hubStringFilter
	for _, field := range sortedKeys(filters) {
		get, ok := hubFilterFields[field]
		if !ok {
			return nil, badRequest("InvalidInputException", "the test cloud does not emulate the GetFindings filter %s", field)
		}
		list, _ := filters[field].([]any)
		if len(list) > 20 {
			return nil, badRequest("InvalidInputException", "Filters.%s can contain at most 20 filter values.", field)
		}
		hf := hubStringFilter{field: field, values: get}
		seen := map[string]bool{}
		for _, x := range list {
			m, _ := x.(map[string]any)
			cmp, val := jstr(m, "Comparison"), jstr(m, "Value")
			if val == "" {
				return nil, badRequest("InvalidInputException", "Filters.%s: a filter needs a Value.", field)
			}
			switch cmp {
			case "EQUALS", "PREFIX", "CONTAINS":
				hf.pos = append(hf.pos, [2]string{cmp, val})
			case "NOT_EQUALS", "PREFIX_NOT_EQUALS", "NOT_CONTAINS":
				hf.neg = append(hf.neg, [2]string{cmp, val})
			default:
				return nil, badRequest("InvalidInputException", "Filters.%s: invalid Comparison %q.", field, cmp)
			}
			seen[cmp] = true
		}
		// the combinations the API refuses
		switch {
		case seen["CONTAINS"] && len(seen) > 1, seen["NOT_CONTAINS"] && len(seen) > 1,
			seen["EQUALS"] && (seen["NOT_EQUALS"] || seen["PREFIX_NOT_EQUALS"]):
			return nil, badRequest("InvalidInputException", "Filters.%s combines comparisons that cannot be used together.", field)
		}
		out = append(out, hf)
	}
	return out, nil
}

func hubCompare(cmp, have, want string) bool {
	switch cmp {
	case "EQUALS", "NOT_EQUALS":
		return have == want
	case "PREFIX", "PREFIX_NOT_EQUALS":
		return strings.HasPrefix(have, want)
	default: // CONTAINS, NOT_CONTAINS
		return strings.Contains(have, want)
	}
}

// holds reports whether a finding passes the field's filters: one of its
// values matches a positive filter (when there is any), and none matches a
// negative one.
func (hf hubStringFilter) holds(f map[string]any) bool {
	vals := hf.values(f)
	if len(hf.pos) > 0 {
		matched := false
		for _, c := range hf.pos {
			for _, v := range vals {
				matched = matched || (v != "" && hubCompare(c[0], v, c[1]))
			}
		}
		if !matched {
			return false
		}
	}
	for _, c := range hf.neg {
		for _, v := range vals {
			if v != "" && hubCompare(c[0], v, c[1]) {
				return false
			}
		}
	}
	return true
}

func hubGetFindings(r *request) (any, error) {
	if _, ok := r.in["SortCriteria"]; ok {
		return nil, badRequest("InvalidInputException", "the test cloud does not emulate GetFindings SortCriteria")
	}
	max := jint(r.in, "MaxResults", 100)
	if max < 1 || max > 100 {
		return nil, badRequest("InvalidInputException", "MaxResults must be between 1 and 100.")
	}
	filters, e := hubParseFilters(r.in)
	if e != nil {
		return nil, e
	}
	reg := r.reg()
	var keys []string
	for _, key := range reg.hubOrder {
		h := reg.hub[key]
		ok := h != nil
		for _, hf := range filters {
			ok = ok && hf.holds(h.Data)
		}
		if ok {
			keys = append(keys, key)
		}
	}
	tok := jstr(r.in, "NextToken")
	if tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "sh-"))
		if err != nil || !strings.HasPrefix(tok, "sh-") {
			return nil, badRequest("InvalidInputException", "The NextToken is invalid.")
		}
		tok = strconv.Itoa(n)
	}
	pg, next, ok := page(keys, tok, max, 100)
	if !ok {
		return nil, badRequest("InvalidInputException", "The NextToken is invalid.")
	}
	found := make([]any, 0, len(pg))
	for _, key := range pg {
		found = append(found, deepCopy(reg.hub[key].Data))
	}
	out := map[string]any{"Findings": found}
	if next != "" {
		out["NextToken"] = "sh-" + next
	}
	return out, nil
}
