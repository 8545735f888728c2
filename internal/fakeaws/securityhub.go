package fakeaws

// Security Hub (REST-JSON): BatchImportFindings (ASFF, with the required
// fields checked per finding, at most 100 per call, only the caller's own
// account) and BatchUpdateFindings (workflow, note, severity, verification
// state, confidence, criticality, types, user-defined fields).

type hubFinding struct {
	Data map[string]any
}

func securityhubService() *service {
	s := &service{name: "securityhub", proto: protoRestJSON,
		throttleErr: &apiError{status: 429, code: "TooManyRequestsException", msg: "Rate exceeded"}}
	s.routes = []route{
		{"POST", "/findings/import", "BatchImportFindings", hubImport},
		{"PATCH", "/findings/batchupdate", "BatchUpdateFindings", hubUpdate},
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
