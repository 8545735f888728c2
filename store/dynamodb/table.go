package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// TableAPI is what EnsureTable needs beyond API.
type TableAPI interface {
	CreateTable(context.Context, *ddb.CreateTableInput, ...func(*ddb.Options)) (*ddb.CreateTableOutput, error)
	DescribeTable(context.Context, *ddb.DescribeTableInput, ...func(*ddb.Options)) (*ddb.DescribeTableOutput, error)
	UpdateTimeToLive(context.Context, *ddb.UpdateTimeToLiveInput, ...func(*ddb.Options)) (*ddb.UpdateTimeToLiveOutput, error)
}

// TableInput is the table design (see the package documentation), billed
// on demand.
func TableInput(table string) *ddb.CreateTableInput {
	s := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	gsi := func(name, pk, sk string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{IndexName: aws.String(name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}
	}
	return &ddb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{s("pk"), s("sk"), s("wk"), s("wt"), s("lk"), s("lt")},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{gsi("work", "wk", "wt"), gsi("list", "lk", "lt")},
	}
}

// EnsureTable creates the ledger table when it does not exist, waits until
// it is active and turns on TTL on the ttl attribute. An endpoint without
// the TTL API (an emulator) is tolerated.
func EnsureTable(ctx context.Context, c TableAPI, table string) error {
	_, err := c.CreateTable(ctx, TableInput(table))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("ledger table %s: %w", table, err)
	}
	for i := 0; ; i++ {
		out, err := c.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return fmt.Errorf("ledger table %s: %w", table, err)
		}
		if out.Table.TableStatus == types.TableStatusActive {
			break
		}
		if i > 600 {
			return fmt.Errorf("ledger table %s: still %s", table, out.Table.TableStatus)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	_, err = c.UpdateTimeToLive(ctx, &ddb.UpdateTimeToLiveInput{TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)}})
	var ae smithy.APIError
	if err != nil && errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "UnknownOperationException", "ValidationException": // emulator; or TTL already enabled
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("ledger table %s: ttl: %w", table, err)
	}
	return nil
}
