package awstest_test

import (
	"context"
	"testing"

	"github.com/reflexsec/reflex/internal/awstest"
	"github.com/reflexsec/reflex/store"
	"github.com/reflexsec/reflex/store/sqlite"
)

func openLedger(t *testing.T, env *awstest.Env, cfg []byte) (*sqlite.DB, error) {
	t.Helper()
	eng, db, err := env.Engine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = eng
	return db, nil
}

func mustSteps(t *testing.T, db *sqlite.DB) []*store.Step {
	t.Helper()
	ss, err := db.Steps(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return ss
}
