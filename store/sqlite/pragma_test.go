package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/reflexsec/reflex/store"
	"modernc.org/sqlite"
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

// The page cache of a new ledger's connections is bounded for its 64 KiB
// pages: connections opened on the empty file were sized for 4 KiB pages
// (16 times too many pages), and every page the cache grows by is fresh
// memory to fault in.
func TestCacheBounded(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	raw := bytes.Repeat([]byte("x"), 8<<10)
	for b := range 8 { // 8 batches of 400 findings of 8 KiB: 26 MiB, more than the cache
		var recs []*store.Record
		for i := range 400 {
			f := fnd(fmt.Sprintf("k%d-%d", b, i), 1, t0)
			f.Raw = raw
			recs = append(recs, &store.Record{Finding: f})
		}
		if _, err := db.Record(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	most := 0
	err := db.w.conn.Raw(func(dc any) error {
		st, ok := dc.(interface {
			Status(sqlite.DBStatusOp, bool) (int, int, error)
		})
		if !ok {
			t.Skip("driver without sqlite3_db_status")
		}
		var err error
		most, _, err = st.Status(sqlite.DBStatusCacheUsed, false)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if most < 4<<20 || most > cacheKiB<<10*5/4 {
		t.Errorf("the writer's page cache holds %d KiB; want about %d KiB", most>>10, cacheKiB)
	}
}
