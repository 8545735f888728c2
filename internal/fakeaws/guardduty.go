package fakeaws

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GuardDuty (REST-JSON). One detector per account and region. Findings
// are kept as their JSON (the GetFindings wire shape); Archive/Unarchive set
// service.archived, UpdateFindingsFeedback sets service.userFeedback.
// ListFindings supports findingCriteria on any dotted field path (eq, neq,
// equals, notEquals, gt/gte/lt/lte and the greaterThan… forms; timestamps
// compare as epoch milliseconds), sortCriteria and pagination (maxResults
// 1–50, opaque nextToken).

type detector struct {
	ID               string
	Enabled          bool
	Freq             string
	Features         map[string]string // protection plan → ENABLED | DISABLED
	OrgAutoEnable    string            // organisation: ALL | NEW | NONE
	OrgFeatures      map[string]string // organisation: plan → ALL | NEW | NONE
	Created, Updated time.Time
	Tags             map[string]string
	Findings         map[string]map[string]any
	Order            []string
}

func guarddutyService() *service {
	s := &service{name: "guardduty", proto: protoRestJSON,
		throttleErr: &apiError{status: 429, code: "TooManyRequestsException", msg: "Rate exceeded"}}
	s.routes = []route{
		{"POST", "/detector", "CreateDetector", gdCreateDetector},
		{"GET", "/detector", "ListDetectors", gdListDetectors},
		{"GET", "/detector/{DetectorId}", "GetDetector", gdGetDetector},
		{"POST", "/detector/{DetectorId}", "UpdateDetector", gdUpdateDetector},
		{"DELETE", "/detector/{DetectorId}", "DeleteDetector", gdDeleteDetector},
		{"POST", "/detector/{DetectorId}/findings", "ListFindings", gdListFindings},
		{"POST", "/detector/{DetectorId}/findings/get", "GetFindings", gdGetFindings},
		{"POST", "/detector/{DetectorId}/findings/archive", "ArchiveFindings", gdArchive(true)},
		{"POST", "/detector/{DetectorId}/findings/unarchive", "UnarchiveFindings", gdArchive(false)},
		{"POST", "/detector/{DetectorId}/findings/feedback", "UpdateFindingsFeedback", gdFeedback},
		{"POST", "/detector/{DetectorId}/findings/create", "CreateSampleFindings", gdCreateSamples},
		{"POST", "/admin/enable", "EnableOrganizationAdminAccount", gdEnableAdmin},
		{"GET", "/admin", "ListOrganizationAdminAccounts", gdListAdmins},
		{"GET", "/detector/{DetectorId}/admin", "DescribeOrganizationConfiguration", gdDescribeOrg},
		{"POST", "/detector/{DetectorId}/admin", "UpdateOrganizationConfiguration", gdUpdateOrg},
	}
	return s
}

func gdBadRequest(format string, a ...any) error {
	return badRequest("BadRequestException", format, a...)
}

func (c *Cloud) newDetector(a *account, reg *region, id string) *detector {
	if id == "" {
		id = c.id("", 32)
	}
	now := c.clock()
	d := &detector{ID: id, Enabled: true, Freq: "SIX_HOURS", Created: now, Updated: now,
		Tags: map[string]string{}, Findings: map[string]map[string]any{},
		Features: map[string]string{}, OrgAutoEnable: "NONE", OrgFeatures: map[string]string{}}
	reg.detectors[id] = d
	return d
}

// add stores a finding, rewriting its account, region and ARN.
func (d *detector) add(acct, region string, f map[string]any) {
	id := jstr(f, "id")
	f["accountId"] = acct
	f["region"] = region
	f["arn"] = "arn:aws:guardduty:" + region + ":" + acct + ":detector/" + d.ID + "/finding/" + id
	svc, _ := f["service"].(map[string]any)
	if svc == nil {
		svc = map[string]any{}
		f["service"] = svc
	}
	if _, ok := svc["archived"]; !ok {
		svc["archived"] = false
	}
	svc["detectorId"] = d.ID
	if _, ok := d.Findings[id]; !ok {
		d.Order = append(d.Order, id)
	}
	d.Findings[id] = f
}

func (r *request) detector() (*detector, error) {
	d := r.reg().detectors[r.labels["DetectorId"]]
	if d == nil {
		return nil, gdBadRequest("The request is rejected because the input detectorId is not owned by the current account.")
	}
	return d, nil
}

func gdCreateDetector(r *request) (any, error) {
	reg := r.reg()
	if len(reg.detectors) > 0 {
		return nil, gdBadRequest("The request is rejected because a detector already exists for the current account.")
	}
	enable, ok := jbool(r.in, "enable")
	if !ok {
		return nil, gdBadRequest("The request is rejected because the input enable is missing.")
	}
	d := r.c.newDetector(r.acct, reg, "")
	d.Enabled = enable
	if f := jstr(r.in, "findingPublishingFrequency"); f != "" {
		if err := validFreq(f); err != nil {
			delete(reg.detectors, d.ID)
			return nil, err
		}
		d.Freq = f
	}
	for k, v := range jobj(r.in, "tags") {
		if s, ok := v.(string); ok {
			d.Tags[k] = s
		}
	}
	if err := setFeatures(d.Features, r.in, "status"); err != nil {
		delete(reg.detectors, d.ID)
		return nil, err
	}
	return map[string]any{"detectorId": d.ID}, nil
}

func validFreq(f string) error {
	switch f {
	case "FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS":
		return nil
	}
	return gdBadRequest("The request is rejected because an invalid or out-of-range value is specified as an input parameter: findingPublishingFrequency")
}

func gdListDetectors(r *request) (any, error) {
	return map[string]any{"detectorIds": sortedKeys(r.reg().detectors)}, nil
}

func gdGetDetector(r *request) (any, error) {
	d, err := r.detector()
	if err != nil {
		return nil, err
	}
	status := "DISABLED"
	if d.Enabled {
		status = "ENABLED"
	}
	features := []any{}
	for _, name := range sortedKeys(d.Features) {
		features = append(features, map[string]any{"name": name, "status": d.Features[name], "updatedAt": float64(d.Updated.UnixMilli()) / 1000})
	}
	return map[string]any{
		"createdAt": isoTime(d.Created), "updatedAt": isoTime(d.Updated), "status": status,
		"findingPublishingFrequency": d.Freq, "tags": d.Tags, "features": features,
		"serviceRole": "arn:aws:iam::" + r.acct.id + ":role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty",
	}, nil
}

func gdUpdateDetector(r *request) (any, error) {
	d, err := r.detector()
	if err != nil {
		return nil, err
	}
	if f := jstr(r.in, "findingPublishingFrequency"); f != "" {
		if err := validFreq(f); err != nil {
			return nil, err
		}
		d.Freq = f
	}
	if e, ok := jbool(r.in, "enable"); ok {
		d.Enabled = e
	}
	if err := setFeatures(d.Features, r.in, "status"); err != nil {
		return nil, err
	}
	d.Updated = r.c.clock()
	return map[string]any{}, nil
}

func gdDeleteDetector(r *request) (any, error) {
	d, err := r.detector()
	if err != nil {
		return nil, err
	}
	delete(r.reg().detectors, d.ID)
	return map[string]any{}, nil
}

// fieldValues returns the values at a dotted path, flattening arrays.
func fieldValues(v any, path []string) []any {
	if len(path) == 0 {
		if l, ok := v.([]any); ok {
			return l
		}
		return []any{v}
	}
	switch t := v.(type) {
	case map[string]any:
		x, ok := t[path[0]]
		if !ok {
			return nil
		}
		return fieldValues(x, path[1:])
	case []any:
		var out []any
		for _, x := range t {
			out = append(out, fieldValues(x, path)...)
		}
		return out
	}
	return nil
}

// scalar turns a JSON value into a comparable number (numbers, booleans
// as 0/1, ISO timestamps as epoch ms) and its string form.
func scalar(v any) (float64, bool, string) {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		return f, err == nil, t.String()
	case float64:
		return t, true, strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return 0, false, strconv.FormatBool(t)
	case string:
		if ts, err := time.Parse(time.RFC3339Nano, t); err == nil {
			return float64(ts.UnixMilli()), true, t
		}
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return f, true, t
		}
		return 0, false, t
	}
	return 0, false, ""
}

func criterionHolds(f map[string]any, field string, cond map[string]any) bool {
	vals := fieldValues(f, strings.Split(field, "."))
	if field == "service.archived" && len(vals) == 0 {
		vals = []any{false}
	}
	eqAny := func(want []string) bool {
		for _, v := range vals {
			vn, vok, vs := scalar(v)
			for _, w := range want {
				wn, wok, _ := scalar(w)
				if vs == w || (vok && wok && vn == wn) {
					return true
				}
			}
		}
		return false
	}
	cmp := func(limit any, ok func(a, b float64) bool) bool {
		ln, lok, _ := scalar(limit)
		if !lok {
			return false
		}
		for _, v := range vals {
			if vn, vok, _ := scalar(v); vok && ok(vn, ln) {
				return true
			}
		}
		return false
	}
	for op, arg := range cond {
		var holds bool
		switch op {
		case "eq", "equals":
			holds = eqAny(strs(arg))
		case "neq", "notEquals":
			holds = !eqAny(strs(arg))
		case "gt", "greaterThan":
			holds = cmp(arg, func(a, b float64) bool { return a > b })
		case "gte", "greaterThanOrEqual":
			holds = cmp(arg, func(a, b float64) bool { return a >= b })
		case "lt", "lessThan":
			holds = cmp(arg, func(a, b float64) bool { return a < b })
		case "lte", "lessThanOrEqual":
			holds = cmp(arg, func(a, b float64) bool { return a <= b })
		default:
			holds = false
		}
		if !holds {
			return false
		}
	}
	return true
}

func (d *detector) sorted(sc map[string]any, ids []string) []string {
	attr := jstr(sc, "attributeName")
	if attr == "" {
		return ids
	}
	out := slices.Clone(ids)
	desc := jstr(sc, "orderBy") == "DESC"
	slices.SortStableFunc(out, func(a, b string) int {
		va := fieldValues(d.Findings[a], strings.Split(attr, "."))
		vb := fieldValues(d.Findings[b], strings.Split(attr, "."))
		var x, y any
		if len(va) > 0 {
			x = va[0]
		}
		if len(vb) > 0 {
			y = vb[0]
		}
		xn, xok, xs := scalar(x)
		yn, yok, ys := scalar(y)
		c := strings.Compare(xs, ys)
		if xok && yok {
			switch {
			case xn < yn:
				c = -1
			case xn > yn:
				c = 1
			default:
				c = 0
			}
		}
		if desc {
			c = -c
		}
		return c
	})
	return out
}

func gdListFindings(r *request) (any, error) {
	d, err := r.detector()
	if err != nil {
		return nil, err
	}
	max := jint(r.in, "maxResults", 50)
	if max < 1 || max > 50 {
		return nil, gdBadRequest("The request is rejected because an invalid or out-of-range value is specified as an input parameter: maxResults")
	}
	crit := jobj(jobj(r.in, "findingCriteria"), "criterion")
	var ids []string
	for _, id := range d.Order {
		ok := true
		for field, c := range crit {
			cm, _ := c.(map[string]any)
			if !criterionHolds(d.Findings[id], field, cm) {
				ok = false
				break
			}
		}
		if ok {
			ids = append(ids, id)
		}
	}
	ids = d.sorted(jobj(r.in, "sortCriteria"), ids)
	tok := jstr(r.in, "nextToken")
	if tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "gd-"))
		if err != nil || !strings.HasPrefix(tok, "gd-") {
			return nil, gdBadRequest("The request is rejected because the input nextToken is invalid.")
		}
		tok = strconv.Itoa(n)
	}
	pg, next, ok := page(ids, tok, max, 50)
	if !ok {
		return nil, gdBadRequest("The request is rejected because the input nextToken is invalid.")
	}
	out := map[string]any{"findingIds": append([]string{}, pg...)}
	if next != "" {
		out["nextToken"] = "gd-" + next
	}
	return out, nil
}

func gdGetFindings(r *request) (any, error) {
	d, err := r.detector()
	if err != nil {
		return nil, err
	}
	ids := jstrs(r.in, "findingIds")
	if len(ids) > 50 {
		return nil, gdBadRequest("The request is rejected because the number of findingIds exceeds 50.")
	}
	var found []string
	for _, id := range ids {
		if d.Findings[id] != nil {
			found = append(found, id)
		}
	}
	found = d.sorted(jobj(r.in, "sortCriteria"), found)
	fs := []any{}
	for _, id := range found {
		fs = append(fs, d.Findings[id])
	}
	return map[string]any{"findings": fs}, nil
}

func gdArchive(archived bool) jsonHandler {
	return func(r *request) (any, error) {
		d, err := r.detector()
		if err != nil {
			return nil, err
		}
		ids := jstrs(r.in, "findingIds")
		if len(ids) == 0 || len(ids) > 50 {
			return nil, gdBadRequest("The request is rejected because the findingIds parameter is invalid.")
		}
		for _, id := range ids {
			if d.Findings[id] == nil {
				return nil, gdBadRequest("The request is rejected because the finding %s does not exist.", id)
			}
		}
		for _, id := range ids {
			svc, _ := d.Findings[id]["service"].(map[string]any)
			svc["archived"] = archived
		}
		return map[string]any{}, nil
	}
}

func gdFeedback(r *request) (any, error) {
	d, err := r.detector()
	if err != nil {
		return nil, err
	}
	fb := jstr(r.in, "feedback")
	if fb != "USEFUL" && fb != "NOT_USEFUL" {
		return nil, gdBadRequest("The request is rejected because an invalid or out-of-range value is specified as an input parameter: feedback")
	}
	for _, id := range jstrs(r.in, "findingIds") {
		if f := d.Findings[id]; f != nil {
			svc, _ := f["service"].(map[string]any)
			svc["userFeedback"] = fb
		}
	}
	return map[string]any{}, nil
}

var defaultSampleTypes = []string{"Recon:EC2/PortProbeUnprotectedPort", "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom",
	"Policy:S3/BucketBlockPublicAccessDisabled"}

func gdCreateSamples(r *request) (any, error) {
	d, err := r.detector()
	if err != nil {
		return nil, err
	}
	types := jstrs(r.in, "findingTypes")
	if len(types) == 0 {
		types = defaultSampleTypes
	}
	now := isoTime(r.c.clock())
	for _, t := range types {
		if !strings.Contains(t, ":") || !strings.Contains(t, "/") {
			return nil, gdBadRequest("The request is rejected because an invalid or out-of-range value is specified as an input parameter: findingTypes")
		}
	}
	for _, t := range types {
		res := map[string]any{"resourceType": "Instance", "instanceDetails": map[string]any{
			"instanceId": "i-99999999", "instanceType": "m3.xlarge", "instanceState": "running",
			"imageId": "ami-99999999", "availabilityZone": "GeneratedFindingInstaceAvailabilityZone",
			"networkInterfaces": []any{map[string]any{"networkInterfaceId": "eni-bfcffe88", "privateIpAddress": "10.0.0.1",
				"subnetId": "GeneratedFindingSubnetId", "vpcId": "GeneratedFindingVPCId",
				"securityGroups": []any{map[string]any{"groupId": "GeneratedFindingSecurityId", "groupName": "GeneratedFindingSecurityGroupName"}}}},
		}}
		family := t[strings.IndexByte(t, ':')+1 : strings.IndexByte(t, '/')]
		switch family {
		case "IAMUser", "S3":
			res = map[string]any{"resourceType": "AccessKey", "accessKeyDetails": map[string]any{
				"accessKeyId": "GeneratedFindingAccessKeyId", "principalId": "GeneratedFindingPrincipalId",
				"userName": "GeneratedFindingUserName", "userType": "IAMUser"}}
		}
		f := map[string]any{
			"schemaVersion": "2.0", "partition": "aws", "id": r.c.id("", 32), "type": t, "resource": res,
			"severity": json.Number("5"), "createdAt": now, "updatedAt": now,
			"title": "Sample finding " + t, "description": "This is a sample finding of type " + t + ".",
			"service": map[string]any{"serviceName": "guardduty", "archived": false, "count": json.Number("1"),
				"eventFirstSeen": now, "eventLastSeen": now, "resourceRole": "TARGET",
				"additionalInfo": map[string]any{"sample": true, "type": "default", "value": `{"sample":true}`}},
		}
		d.add(r.acct.id, r.region, f)
	}
	return map[string]any{}, nil
}

// gdFeatures are the protection plans (detector features) GuardDuty accepts.
var gdFeatures = []string{"S3_DATA_EVENTS", "EKS_AUDIT_LOGS", "EBS_MALWARE_PROTECTION", "RDS_LOGIN_EVENTS",
	"EKS_RUNTIME_MONITORING", "LAMBDA_NETWORK_LOGS", "RUNTIME_MONITORING"}

// setFeatures applies a request's "features" list ({name, status} for a
// detector, {name, autoEnable} for the organisation) to m.
func setFeatures(m map[string]string, in map[string]any, valueKey string) error {
	for _, x := range jlist(in, "features") {
		f, _ := x.(map[string]any)
		name, v := jstr(f, "name"), jstr(f, valueKey)
		if !slices.Contains(gdFeatures, name) {
			return gdBadRequest("The request is rejected because an invalid or out-of-range value is specified as an input parameter: features.name %q", name)
		}
		if valueKey == "status" && v != "ENABLED" && v != "DISABLED" || valueKey == "autoEnable" && v != "ALL" && v != "NEW" && v != "NONE" {
			return gdBadRequest("The request is rejected because an invalid or out-of-range value is specified as an input parameter: features.%s", valueKey)
		}
		m[name] = v
	}
	return nil
}

// The organisation's GuardDuty administrator is set from the management
// account, per region; any account id of twelve digits is accepted (the
// emulator has no Organizations).
func gdEnableAdmin(r *request) (any, error) {
	id := jstr(r.in, "adminAccountId")
	if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
		return nil, gdBadRequest("The request is rejected because an invalid or out-of-range value is specified as an input parameter: adminAccountId")
	}
	reg := r.reg()
	if len(reg.gdAdmins) > 0 && reg.gdAdmins[0] != id {
		return nil, gdBadRequest("The request is rejected because an organization admin account is already enabled: %s", reg.gdAdmins[0])
	}
	reg.gdAdmins = []string{id}
	return map[string]any{}, nil
}

func gdListAdmins(r *request) (any, error) {
	out := []any{}
	for _, id := range r.reg().gdAdmins {
		out = append(out, map[string]any{"adminAccountId": id, "adminStatus": "ENABLED"})
	}
	return map[string]any{"adminAccounts": out}, nil
}

func gdDescribeOrg(r *request) (any, error) {
	d, err := r.detector()
	if err != nil {
		return nil, err
	}
	features := []any{}
	for _, name := range sortedKeys(d.OrgFeatures) {
		features = append(features, map[string]any{"name": name, "autoEnable": d.OrgFeatures[name]})
	}
	return map[string]any{"autoEnableOrganizationMembers": d.OrgAutoEnable, "memberAccountLimitReached": false,
		"autoEnable": d.OrgAutoEnable != "NONE", "features": features}, nil
}

func gdUpdateOrg(r *request) (any, error) {
	d, err := r.detector()
	if err != nil {
		return nil, err
	}
	if v := jstr(r.in, "autoEnableOrganizationMembers"); v != "" {
		if v != "ALL" && v != "NEW" && v != "NONE" {
			return nil, gdBadRequest("The request is rejected because an invalid or out-of-range value is specified as an input parameter: autoEnableOrganizationMembers")
		}
		d.OrgAutoEnable = v
	}
	if err := setFeatures(d.OrgFeatures, r.in, "autoEnable"); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}
