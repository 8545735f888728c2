package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reflexsec/reflex/store"
)

// A ledger made by schema version 1 (TEXT-keyed indexes) is upgraded in
// place: its findings and decisions are kept, in their order, and found by
// key through the hashed indexes.
func TestMigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	old, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		migrations[0],
		`INSERT INTO schema_migrations VALUES (1, 0)`,
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for i, k := range []string{"b", "a", "c"} {
		if _, err := old.Exec(`INSERT INTO findings(`+findingCols+`) VALUES (?, '1', 'r', ?, 'T', 5, 0, ?, 1, 1, ?, ?, ?)`,
			k, k, ns(t0), ns(t0), ns(t0), []byte(`{"id":"`+k+`"}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := old.Exec(`INSERT INTO decisions(`+decisionCols+`) VALUES (?, ?, 1, '1', ?, ?, 'dry-run', 'dry-run', '', 0, NULL)`,
			"d-"+k, k, ns(t0.Add(time.Duration(i)*time.Second)), ns(t0)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := old.Exec(`INSERT INTO decisions(`+decisionCols+`) VALUES ('d-a2', 'a', 2, '1', ?, ?, 'dry-run', 'dry-run', '', 0, NULL)`,
		ns(t0.Add(time.Hour)), ns(t0)); err != nil {
		t.Fatal(err)
	}
	old.Close()

	// read-only, the version-1 ledger is read by its keys (`reflex plan`
	// opens it so, and does not migrate it)
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if f, err := ro.Finding(ctx, "a"); err != nil || string(f.Raw) != `{"id":"a"}` {
		t.Fatalf("read-only: finding a: %+v %v", f, err)
	}
	if got, err := ro.Lookup(ctx, []string{"a", "c", "zz"}); err != nil || len(got) != 2 || got["c"] == nil || got["c"].Raw != nil {
		t.Fatalf("read-only: lookup: %v %v", got, err)
	}
	if d, err := ro.LatestDecision(ctx, "a"); err != nil || d.ID != "d-a2" {
		t.Fatalf("read-only: latest decision of a: %+v %v", d, err)
	}
	if fs, _ := ro.Findings(ctx, store.Filter{FindingKey: "b"}); len(fs) != 1 {
		t.Fatalf("read-only: findings of b: %v", fs)
	}
	if ds, _ := ro.Decisions(ctx, store.Filter{FindingKey: "a"}); len(ds) != 2 {
		t.Fatalf("read-only: decisions of a: %d", len(ds))
	}
	ro.Close()

	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("version %d %v", v, err)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if f, err := db.Finding(ctx, "a"); err != nil || string(f.Raw) != `{"id":"a"}` {
		t.Fatalf("finding a: %+v %v", f, err)
	}
	if got, err := db.Lookup(ctx, []string{"a", "c", "zz"}); err != nil || len(got) != 2 || got["c"] == nil {
		t.Fatalf("lookup: %v %v", got, err)
	}
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil || len(fs) != 3 || fs[0].Key != "c" || fs[1].Key != "a" || fs[2].Key != "b" {
		t.Fatalf("findings, newest first: %v %v", fs, err)
	}
	if fs, _ := db.Findings(ctx, store.Filter{FindingKey: "b"}); len(fs) != 1 || fs[0].Key != "b" {
		t.Fatalf("findings of b: %v", fs)
	}
	if d, err := db.LatestDecision(ctx, "a"); err != nil || d.ID != "d-a2" {
		t.Fatalf("latest decision of a: %+v %v", d, err)
	}
	if ds, _ := db.Decisions(ctx, store.Filter{FindingKey: "a"}); len(ds) != 2 {
		t.Fatalf("decisions of a: %d", len(ds))
	}
	// the upgraded ledger takes new versions, as updates of the rows it has
	chs, err := db.Record(ctx, []*store.Record{{Finding: fnd("a", 2, t0), Decision: &store.Decision{ID: "d-a3", FindingKey: "a", Status: store.DecisionDryRun, CreatedAt: t0.Add(2 * time.Hour)}}})
	if err != nil || chs[0] != store.Updated {
		t.Fatalf("record: %v %v", chs, err)
	}
	var n int
	db.db.QueryRow(`SELECT count(*) FROM findings WHERE key = 'a'`).Scan(&n)
	if d, err := db.LatestDecision(ctx, "a"); n != 1 || err != nil || d.ID != "d-a3" {
		t.Fatalf("after an update: %d rows of a, latest decision %+v %v", n, d, err)
	}
}

// The queries by key go through the hashed indexes: none scans findings or
// decisions.
func TestQueriesIndexed(t *testing.T) {
	db, _ := open(t)
	for _, q := range []string{
		`SELECT ` + findingCols + ` FROM findings WHERE key_hash = ? AND key = ?`,
		`SELECT key FROM findings WHERE key_hash IN (?,?,?) AND key IN (?,?,?)`,
		`UPDATE findings SET count=? WHERE key_hash=? AND key=?`,
		`SELECT ` + decisionCols + ` FROM decisions WHERE finding_hash = ? AND finding_key = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`,
		`SELECT ` + decisionCols + ` FROM decisions WHERE id = ?`,
	} {
		rows, err := db.db.Query(`EXPLAIN QUERY PLAN `+q, 1, 2, 3, 4, 5, 6)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			rows.Scan(&id, &parent, &unused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, "USING INDEX") && !strings.Contains(p, "USING COVERING INDEX") || strings.Contains(p, "USE TEMP B-TREE") {
			t.Errorf("%s\n\tplan: %s", q, p)
		}
	}
}
