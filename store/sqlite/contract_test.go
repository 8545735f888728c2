package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/reflexsec/reflex/store"
	"github.com/reflexsec/reflex/store/sqlite"
	"github.com/reflexsec/reflex/store/storetest"
)

// TestContract runs the ledger contract shared with store/dynamodb.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Ledger {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "ledger.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}
