package setup

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/reflexsec/reflex/store/dynamodb"
)

// DynamoDB is the part of the DynamoDB API setup uses for the ledger table.
type DynamoDB interface {
	DescribeTable(context.Context, *ddb.DescribeTableInput, ...func(*ddb.Options)) (*ddb.DescribeTableOutput, error)
	CreateTable(context.Context, *ddb.CreateTableInput, ...func(*ddb.Options)) (*ddb.CreateTableOutput, error)
	UpdateTable(context.Context, *ddb.UpdateTableInput, ...func(*ddb.Options)) (*ddb.UpdateTableOutput, error)
	DescribeTimeToLive(context.Context, *ddb.DescribeTimeToLiveInput, ...func(*ddb.Options)) (*ddb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(context.Context, *ddb.UpdateTimeToLiveInput, ...func(*ddb.Options)) (*ddb.UpdateTimeToLiveOutput, error)
	DescribeContinuousBackups(context.Context, *ddb.DescribeContinuousBackupsInput, ...func(*ddb.Options)) (*ddb.DescribeContinuousBackupsOutput, error)
	UpdateContinuousBackups(context.Context, *ddb.UpdateContinuousBackupsInput, ...func(*ddb.Options)) (*ddb.UpdateContinuousBackupsOutput, error)
}

// ttlAttribute is the ledger items' expiry attribute (store/dynamodb).
const ttlAttribute = "ttl"

// ledger makes sure the table NAME-ledger exists with the ledger's design
// (store/dynamodb.TableInput: keys and indexes), on-demand billing,
// encryption with the AWS-managed key, deletion protection, point-in-time
// recovery and TTL when LedgerTTLDays > 0; it returns its ARN. A table of
// that name with other keys is an error: it is not reflex's ledger.
func (u *run) ledger(ctx context.Context) (string, error) {
	if u.DynamoDB == nil {
		return "", errors.New("setup: no DynamoDB client")
	}
	name := u.tableName()
	arn := u.arn("dynamodb", "table/"+name)
	want := dynamodb.TableInput(name)
	cur, err := u.DynamoDB.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String(name)})
	var nf *ddbtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		in := dynamodb.TableInput(name)
		in.SSESpecification = &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms}
		in.DeletionProtectionEnabled = aws.Bool(true)
		for _, k := range u.tagKeys() {
			in.Tags = append(in.Tags, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(u.w.Tags[k])})
		}
		u.created["table"] = true
		if err := u.change(u.r, Change{Service: "dynamodb", Action: "CreateTable", Target: name, Why: "the ledger table does not exist",
			Input: map[string]any{"BillingMode": "PAY_PER_REQUEST", "KeySchema": "pk, sk", "GlobalSecondaryIndexes": "work (wk, wt), list (lk, lt)",
				"SSESpecification": "KMS", "DeletionProtectionEnabled": true}},
			func() error {
				if _, err := u.DynamoDB.CreateTable(ctx, in); err != nil {
					return err
				}
				return u.waitTable(ctx, name)
			}); err != nil {
			return "", err
		}
	case err != nil:
		return "", apiErr("dynamodb", "DescribeTable", name, err)
	default:
		t := cur.Table
		if !sameKeys(t.KeySchema, want.KeySchema) {
			return "", fmt.Errorf("table %s exists with other keys: it is not reflex's ledger (choose another --name, or --ledger-table=false)", name)
		}
		var why []string
		upd := &ddb.UpdateTableInput{TableName: aws.String(name)}
		if !aws.ToBool(t.DeletionProtectionEnabled) {
			why = append(why, "deletion protection is off")
			upd.DeletionProtectionEnabled = aws.Bool(true)
		}
		if t.SSEDescription == nil || t.SSEDescription.Status != ddbtypes.SSEStatusEnabled && t.SSEDescription.Status != ddbtypes.SSEStatusEnabling {
			why = append(why, "it is not encrypted with the AWS-managed key")
			upd.SSESpecification = &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms}
		}
		if len(why) == 0 {
			u.r.Unchanged = append(u.r.Unchanged, "dynamodb table "+name)
		} else if err := u.change(u.r, Change{Service: "dynamodb", Action: "UpdateTable", Target: name, Why: joinWhy(why),
			Input: map[string]any{"DeletionProtectionEnabled": upd.DeletionProtectionEnabled != nil, "SSESpecification": upd.SSESpecification != nil}},
			func() error {
				_, err := u.DynamoDB.UpdateTable(ctx, upd)
				return err
			}); err != nil {
			return "", err
		}
	}
	if err := u.tableTTL(ctx, name); err != nil {
		return "", err
	}
	return arn, u.tableBackups(ctx, name)
}

func sameKeys(a, b []ddbtypes.KeySchemaElement) bool {
	key := func(ks []ddbtypes.KeySchemaElement) map[string]ddbtypes.KeyType {
		m := map[string]ddbtypes.KeyType{}
		for _, k := range ks {
			m[aws.ToString(k.AttributeName)] = k.KeyType
		}
		return m
	}
	return reflect.DeepEqual(key(a), key(b))
}

// waitTable waits until a new table is ACTIVE.
func (u *run) waitTable(ctx context.Context, name string) error {
	for i := 0; i < 300; i++ {
		out, err := u.DynamoDB.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return apiErr("dynamodb", "DescribeTable", name, err)
		}
		if out.Table.TableStatus == ddbtypes.TableStatusActive {
			return nil
		}
		if err := u.sleep(ctx, time.Second); err != nil {
			return err
		}
	}
	return fmt.Errorf("ledger table %s: not ACTIVE after 5 minutes", name)
}

func (u *run) tableTTL(ctx context.Context, name string) error {
	want := u.w.LedgerTTLDays > 0
	on := false
	if !u.created["table"] || !u.DryRun {
		out, err := u.DynamoDB.DescribeTimeToLive(ctx, &ddb.DescribeTimeToLiveInput{TableName: aws.String(name)})
		if err != nil {
			return apiErr("dynamodb", "DescribeTimeToLive", name, err)
		}
		d := out.TimeToLiveDescription
		on = d != nil && (d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled || d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabling) &&
			aws.ToString(d.AttributeName) == ttlAttribute
	}
	if on == want {
		u.r.Unchanged = append(u.r.Unchanged, "dynamodb ttl "+name)
		return nil
	}
	why := "TTL on " + ttlAttribute + " is off: old ledger records would never expire"
	if !want {
		why = "TTL is on, and the ledger TTL is 0 (keep records forever)"
	}
	return u.change(u.r, Change{Service: "dynamodb", Action: "UpdateTimeToLive", Target: name, Why: why,
		Input: map[string]any{"AttributeName": ttlAttribute, "Enabled": want}},
		func() error {
			_, err := u.DynamoDB.UpdateTimeToLive(ctx, &ddb.UpdateTimeToLiveInput{TableName: aws.String(name),
				TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(ttlAttribute), Enabled: aws.Bool(want)}})
			return err
		})
}

func (u *run) tableBackups(ctx context.Context, name string) error {
	if !u.created["table"] || !u.DryRun {
		out, err := u.DynamoDB.DescribeContinuousBackups(ctx, &ddb.DescribeContinuousBackupsInput{TableName: aws.String(name)})
		if err != nil {
			return apiErr("dynamodb", "DescribeContinuousBackups", name, err)
		}
		if d := out.ContinuousBackupsDescription; d != nil && d.PointInTimeRecoveryDescription != nil &&
			d.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus == ddbtypes.PointInTimeRecoveryStatusEnabled {
			u.r.Unchanged = append(u.r.Unchanged, "dynamodb point-in-time recovery "+name)
			return nil
		}
	}
	return u.change(u.r, Change{Service: "dynamodb", Action: "UpdateContinuousBackups", Target: name, Why: "point-in-time recovery is off",
		Input: map[string]any{"PointInTimeRecoveryEnabled": true}},
		func() error {
			_, err := u.DynamoDB.UpdateContinuousBackups(ctx, &ddb.UpdateContinuousBackupsInput{TableName: aws.String(name),
				PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}})
			return err
		})
}
