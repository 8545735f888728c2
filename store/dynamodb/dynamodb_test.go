package dynamodb_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/reflexsec/reflex/internal/dynalite"
	"github.com/reflexsec/reflex/store"
	"github.com/reflexsec/reflex/store/dynamodb"
	"github.com/reflexsec/reflex/store/storetest"
)

var srv *dynalite.Server
var srvErr error

func TestMain(m *testing.M) {
	srv, srvErr = dynalite.Start()
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

// newLedger returns a ledger on a new table of the shared dynalite.
func newLedger(t testing.TB) *dynamodb.Ledger {
	t.Helper()
	if srvErr != nil {
		if dynalite.Required() {
			t.Fatalf("dynalite: %v", srvErr)
		}
		t.Skipf("dynalite unavailable (CI=true makes this a failure): %v", srvErr)
	}
	c := srv.Client()
	table := dynalite.TableName("ledger")
	ctx, cancel := dynalite.Context()
	defer cancel()
	if err := dynamodb.EnsureTable(ctx, c, table); err != nil {
		t.Fatal(err)
	}
	return dynamodb.New(c, table, dynamodb.Options{})
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Ledger { return newLedger(t) })
}

func TestEnsureTableTwice(t *testing.T) {
	l := newLedger(t)
	ctx, cancel := dynalite.Context()
	defer cancel()
	if err := dynamodb.EnsureTable(ctx, srv.Client(), l.Table()); err != nil {
		t.Errorf("second EnsureTable: %v", err)
	}
}

// crashy fails writes of items whose pk starts with prefix, once armed:
// a writer dying between the commit of a finding and the rest of its record.
type crashy struct {
	dynamodb.API
	prefix string
	armed  bool
}

var errCrash = errors.New("simulated crash")

func (c *crashy) PutItem(ctx context.Context, in *ddb.PutItemInput, o ...func(*ddb.Options)) (*ddb.PutItemOutput, error) {
	if pk, ok := in.Item["pk"].(*types.AttributeValueMemberS); ok && c.armed && strings.HasPrefix(pk.Value, c.prefix) {
		return nil, errCrash
	}
	return c.API.PutItem(ctx, in, o...)
}

func TestRecoverInterruptedRecord(t *testing.T) {
	good := newLedger(t)
	for _, c := range []struct {
		name    string
		prefix  string
		recover func(context.Context, *dynamodb.Ledger, string) error
	}{
		{"decision write lost; Unfinished applies", "D#", func(ctx context.Context, l *dynamodb.Ledger, _ string) error {
			_, err := l.Unfinished(ctx)
			return err
		}},
		{"step write lost; LatestDecision applies", "S#", func(ctx context.Context, l *dynamodb.Ledger, fk string) error {
			_, err := l.LatestDecision(ctx, fk)
			return err
		}},
		{"event write lost; the next delivery applies", "EV#", func(ctx context.Context, l *dynamodb.Ledger, fk string) error {
			_, err := l.Record(ctx, []*store.Record{storetest.Rec(storetest.Finding(strings.Split(fk, "/")[2], 0, 1), store.DecisionApproved, "ec2.isolate")})
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			api := &crashy{API: srv.Client(), prefix: c.prefix, armed: true}
			l := dynamodb.New(api, good.Table(), dynamodb.Options{})
			id := strings.ReplaceAll(c.prefix, "#", "") + "-crash"
			r := storetest.Rec(storetest.Finding(id, 0, 1), store.DecisionApproved, "ec2.isolate")
			if _, err := l.Record(ctx, []*store.Record{r}); !errors.Is(err, errCrash) {
				t.Fatalf("Record: %v, want the simulated crash", err)
			}
			// the finding is committed: a duplicate delivery is not decided again
			dup := storetest.Rec(storetest.Finding(id, 0, 1), store.DecisionApproved, "ec2.isolate")
			api.armed = false
			if err := c.recover(ctx, l, r.Finding.Key); err != nil {
				t.Fatal(err)
			}
			ch, err := l.Record(ctx, []*store.Record{dup})
			if err != nil || ch[0] != store.Unchanged {
				t.Fatalf("re-delivery: %v, %v; want unchanged", ch, err)
			}
			d, err := l.Decision(ctx, r.Decision.ID)
			if err != nil || d.Status != store.DecisionApproved {
				t.Fatalf("decision after recovery: %+v, %v", d, err)
			}
			steps, err := l.DecisionSteps(ctx, r.Decision.ID)
			if err != nil || len(steps) != 1 || steps[0].State != store.StepPlanned {
				t.Fatalf("steps after recovery: %v, %v", steps, err)
			}
			ev, err := l.Events(ctx, store.Filter{FindingKey: r.Finding.Key})
			if err != nil || len(ev) != 1 {
				t.Fatalf("events after recovery: %v, %v", ev, err)
			}
		})
	}
}
