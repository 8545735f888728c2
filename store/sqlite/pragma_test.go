package sqlite

import (
	"context"
	"testing"
)

// The ledger is durable (WAL, synchronous FULL) and made of 64 KiB pages.
func TestPragmas(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	var jm string
	var ps, sync int
	db.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&jm)
	db.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&ps)
	db.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync)
	if jm != "wal" || ps != 65536 || sync != 2 {
		t.Fatalf("journal_mode %s, page_size %d, synchronous %d", jm, ps, sync)
	}
}
