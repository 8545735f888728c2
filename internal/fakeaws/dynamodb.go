package fakeaws

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DynamoDB (awsJson 1.0): the table control plane `reflex setup` uses —
// CreateTable, DescribeTable, UpdateTable (deletion protection, SSE,
// billing mode), Describe/UpdateTimeToLive and Describe/
// UpdateContinuousBackups (point-in-time recovery). There is no data plane
// here: the ledger's items are tested against dynalite (internal/dynalite),
// which in turn has none of the TTL, backup or deletion-protection APIs.
//
// Rules kept: CreateTable checks the key schema against the attribute
// definitions (every key attribute defined, every definition used by a key
// of the table or an index), the billing mode against provisioned
// throughput, and refuses an existing table (ResourceInUseException); an
// unknown table is ResourceNotFoundException ("Requested resource not
// found: Table: NAME not found"); enabling TTL twice, or disabling it when
// off, is a ValidationException. A new table is CREATING until it is
// described, then ACTIVE (the work completes once looked at, as for Lambda).

type ddbTable struct {
	Name, ARN, ID, Status, Billing string
	Created                        time.Time
	KeySchema, Attrs, GSIs         []any
	SSE                            bool
	DeletionProtection, PITR       bool
	TTLAttr                        string
	TTL                            bool
	Tags                           map[string]string
	ReadCapacity, WriteCapacity    int
}

// Compiled on first use: the test cloud is linked into every reflex binary
// (demo, sandbox), and bounded repetitions such as {1,512} compile into that
// many nested copies, which cost milliseconds of every process start.
var ddbTableName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`) })

func dynamodbService() *service {
	s := &service{name: "dynamodb", proto: protoJSON, target: "DynamoDB_20120810", jsonVersion: "1.0",
		errNS:       "com.amazonaws.dynamodb.v20120810#",
		throttleErr: &apiError{status: 400, code: "ThrottlingException", msg: "Rate exceeded"}}
	s.json = map[string]jsonHandler{
		"CreateTable":               ddbCreateTable,
		"DescribeTable":             ddbDescribeTable,
		"UpdateTable":               ddbUpdateTable,
		"DescribeTimeToLive":        ddbDescribeTTL,
		"UpdateTimeToLive":          ddbUpdateTTL,
		"DescribeContinuousBackups": ddbDescribeBackups,
		"UpdateContinuousBackups":   ddbUpdateBackups,
	}
	return s
}

func ddbValidation(format string, a ...any) error {
	return badRequest("ValidationException", format, a...)
}

func (r *request) table() (*ddbTable, error) {
	name := jstr(r.in, "TableName")
	if i := strings.LastIndex(name, ":table/"); i >= 0 {
		name = name[i+len(":table/"):]
	}
	t := r.c.deploy.tables[r.deployKey(name)]
	if t == nil {
		return nil, badRequest("ResourceNotFoundException", "Requested resource not found: Table: %s not found", name)
	}
	return t, nil
}

// keyNames returns the attribute names of a key schema, checking it has
// one HASH and at most one RANGE element.
func keyNames(schema []any, what string) ([]string, error) {
	var names []string
	hash, rng := 0, 0
	for _, x := range schema {
		k, _ := x.(map[string]any)
		switch jstr(k, "KeyType") {
		case "HASH":
			hash++
		case "RANGE":
			rng++
		default:
			return nil, ddbValidation("1 validation error detected: Value '%s' at '%s.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]", jstr(k, "KeyType"), what)
		}
		names = append(names, jstr(k, "AttributeName"))
	}
	if hash != 1 || rng > 1 || len(schema) > 2 {
		return nil, ddbValidation("1 validation error detected: Invalid KeySchema: Some index key schema element is not valid")
	}
	return names, nil
}

func ddbCreateTable(r *request) (any, error) {
	name := jstr(r.in, "TableName")
	if !ddbTableName().MatchString(name) {
		return nil, ddbValidation("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", name)
	}
	defined := map[string]bool{}
	for _, x := range jlist(r.in, "AttributeDefinitions") {
		a, _ := x.(map[string]any)
		switch jstr(a, "AttributeType") {
		case "S", "N", "B":
		default:
			return nil, ddbValidation("1 validation error detected: Value '%s' at 'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", jstr(a, "AttributeType"))
		}
		defined[jstr(a, "AttributeName")] = true
	}
	used := map[string]bool{}
	keys, err := keyNames(jlist(r.in, "KeySchema"), "keySchema")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		used[k] = true
	}
	gsis := jlist(r.in, "GlobalSecondaryIndexes")
	for _, x := range gsis {
		g, _ := x.(map[string]any)
		ks, err := keyNames(jlist(g, "KeySchema"), "globalSecondaryIndexes.member.keySchema")
		if err != nil {
			return nil, err
		}
		if jobj(g, "Projection") == nil {
			return nil, ddbValidation("1 validation error detected: Value null at 'globalSecondaryIndexes.member.projection' failed to satisfy constraint: Member must not be null")
		}
		for _, k := range ks {
			used[k] = true
		}
	}
	for k := range used {
		if !defined[k] {
			return nil, ddbValidation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]", strings.Join(sortedKeys(used), ", "), strings.Join(sortedKeys(defined), ", "))
		}
	}
	if len(used) != len(defined) {
		return nil, ddbValidation("One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
	}
	billing := jstr(r.in, "BillingMode")
	if billing == "" {
		billing = "PROVISIONED"
	}
	pt := jobj(r.in, "ProvisionedThroughput")
	switch {
	case billing == "PAY_PER_REQUEST" && pt != nil:
		return nil, ddbValidation("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
	case billing == "PROVISIONED" && pt == nil:
		return nil, ddbValidation("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
	case billing != "PAY_PER_REQUEST" && billing != "PROVISIONED":
		return nil, ddbValidation("1 validation error detected: Value '%s' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]", billing)
	}
	key := r.deployKey(name)
	if r.c.deploy.tables[key] != nil {
		return nil, badRequest("ResourceInUseException", "Table already exists: %s", name)
	}
	t := &ddbTable{Name: name, ARN: "arn:aws:dynamodb:" + r.region + ":" + r.acct.id + ":table/" + name, ID: r.c.uuid(),
		Status: "CREATING", Billing: billing, Created: r.c.clock(), KeySchema: jlist(r.in, "KeySchema"),
		Attrs: jlist(r.in, "AttributeDefinitions"), GSIs: gsis, Tags: map[string]string{}}
	if pt != nil {
		t.ReadCapacity, t.WriteCapacity = jint(pt, "ReadCapacityUnits", 0), jint(pt, "WriteCapacityUnits", 0)
	}
	if sse := jobj(r.in, "SSESpecification"); sse != nil {
		t.SSE, _ = jbool(sse, "Enabled")
	}
	t.DeletionProtection, _ = jbool(r.in, "DeletionProtectionEnabled")
	for _, x := range jlist(r.in, "Tags") {
		tg, _ := x.(map[string]any)
		t.Tags[jstr(tg, "Key")] = jstr(tg, "Value")
	}
	if r.c.deploy.tables == nil {
		r.c.deploy.tables = map[string]*ddbTable{}
	}
	r.c.deploy.tables[key] = t
	return map[string]any{"TableDescription": t.describe()}, nil
}

func (t *ddbTable) describe() map[string]any {
	pt := map[string]any{"NumberOfDecreasesToday": 0, "ReadCapacityUnits": t.ReadCapacity, "WriteCapacityUnits": t.WriteCapacity}
	d := map[string]any{
		"TableName": t.Name, "TableArn": t.ARN, "TableId": t.ID, "TableStatus": t.Status,
		"CreationDateTime": json.Number(strconv.FormatInt(t.Created.Unix(), 10)), "KeySchema": t.KeySchema,
		"AttributeDefinitions": t.Attrs, "ItemCount": 0, "TableSizeBytes": 0, "ProvisionedThroughput": pt,
		"BillingModeSummary":        map[string]any{"BillingMode": t.Billing},
		"DeletionProtectionEnabled": t.DeletionProtection,
	}
	if len(t.GSIs) > 0 {
		var gs []any
		for _, x := range t.GSIs {
			g := deepCopy(x).(map[string]any)
			g["IndexStatus"] = "ACTIVE"
			if t.Status == "CREATING" {
				g["IndexStatus"] = "CREATING"
			}
			g["IndexArn"] = t.ARN + "/index/" + jstr(g, "IndexName")
			g["ItemCount"], g["IndexSizeBytes"] = 0, 0
			g["ProvisionedThroughput"] = pt
			gs = append(gs, g)
		}
		d["GlobalSecondaryIndexes"] = gs
	}
	if t.SSE {
		d["SSEDescription"] = map[string]any{"Status": "ENABLED", "SSEType": "KMS",
			"KMSMasterKeyArn": "arn:aws:kms:" + strings.Split(t.ARN, ":")[3] + ":" + strings.Split(t.ARN, ":")[4] + ":key/aws-dynamodb"}
	}
	return d
}

func ddbDescribeTable(r *request) (any, error) {
	t, err := r.table()
	if err != nil {
		return nil, err
	}
	t.Status = "ACTIVE"
	return map[string]any{"Table": t.describe()}, nil
}

func ddbUpdateTable(r *request) (any, error) {
	t, err := r.table()
	if err != nil {
		return nil, err
	}
	changed := false
	if v, ok := jbool(r.in, "DeletionProtectionEnabled"); ok {
		t.DeletionProtection, changed = v, true
	}
	if sse := jobj(r.in, "SSESpecification"); sse != nil {
		v, _ := jbool(sse, "Enabled")
		t.SSE, changed = v, true
	}
	if b := jstr(r.in, "BillingMode"); b != "" {
		t.Billing, changed = b, true
	}
	if !changed {
		return nil, ddbValidation("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates or DeletionProtectionEnabled is required")
	}
	return map[string]any{"TableDescription": t.describe()}, nil
}

func (t *ddbTable) ttlDescription() map[string]any {
	if !t.TTL {
		return map[string]any{"TimeToLiveStatus": "DISABLED"}
	}
	return map[string]any{"TimeToLiveStatus": "ENABLED", "AttributeName": t.TTLAttr}
}

func ddbDescribeTTL(r *request) (any, error) {
	t, err := r.table()
	if err != nil {
		return nil, err
	}
	return map[string]any{"TimeToLiveDescription": t.ttlDescription()}, nil
}

func ddbUpdateTTL(r *request) (any, error) {
	t, err := r.table()
	if err != nil {
		return nil, err
	}
	spec := jobj(r.in, "TimeToLiveSpecification")
	on, ok := jbool(spec, "Enabled")
	attr := jstr(spec, "AttributeName")
	if !ok || attr == "" {
		return nil, ddbValidation("1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null")
	}
	switch {
	case on && t.TTL:
		return nil, ddbValidation("TimeToLive is already enabled")
	case !on && !t.TTL:
		return nil, ddbValidation("TimeToLive is already disabled")
	case !on && attr != t.TTLAttr:
		return nil, ddbValidation("TimeToLive is active on a different AttributeName: current AttributeName is %s", t.TTLAttr)
	}
	t.TTL, t.TTLAttr = on, attr
	return map[string]any{"TimeToLiveSpecification": map[string]any{"Enabled": on, "AttributeName": attr}}, nil
}

func (t *ddbTable) backups() map[string]any {
	pitr := "DISABLED"
	if t.PITR {
		pitr = "ENABLED"
	}
	return map[string]any{"ContinuousBackupsDescription": map[string]any{"ContinuousBackupsStatus": "ENABLED",
		"PointInTimeRecoveryDescription": map[string]any{"PointInTimeRecoveryStatus": pitr}}}
}

func ddbDescribeBackups(r *request) (any, error) {
	t, err := r.table()
	if err != nil {
		return nil, err
	}
	return t.backups(), nil
}

func ddbUpdateBackups(r *request) (any, error) {
	t, err := r.table()
	if err != nil {
		return nil, err
	}
	on, ok := jbool(jobj(r.in, "PointInTimeRecoverySpecification"), "PointInTimeRecoveryEnabled")
	if !ok {
		return nil, ddbValidation("1 validation error detected: Value null at 'pointInTimeRecoverySpecification.pointInTimeRecoveryEnabled' failed to satisfy constraint: Member must not be null")
	}
	t.PITR = on
	return t.backups(), nil
}
