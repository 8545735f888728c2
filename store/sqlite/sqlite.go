// Package sqlite is the embedded ledger: store.Ledger on SQLite
// (modernc.org/sqlite, pure Go) in WAL mode with versioned migrations.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/reflexsec/reflex/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DefaultPath is the ledger file when none is configured:
// $XDG_STATE_HOME/reflex/ledger.db, else ~/.local/state/reflex/ledger.db.
func DefaultPath() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return filepath.Join(os.TempDir(), "reflex", "ledger.db")
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "reflex", "ledger.db")
}

// Options tune Open.
type Options struct {
	// ReadOnly opens an existing ledger without creating or migrating it.
	ReadOnly bool
	// BusyTimeout is how long a writer waits for the lock (default 10s).
	BusyTimeout time.Duration
}

// DB is the SQLite ledger.
type DB struct {
	db   *sql.DB
	path string

	// stmts caches the prepared statements of the batch writes (Record,
	// Lookup): their multi-row text is long, and parsing it again for every
	// chunk cost as much as writing the rows.
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// maxCachedStmts bounds the statement cache: the texts cached are those of
// the batch sizes seen first (a stream repeats its batch size) and the few
// IN-list sizes of selectKeys; other texts are run unprepared.
const maxCachedStmts = 32

// stmt returns the prepared statement for query, prepared once per
// connection by database/sql; nil when the cache is full (the caller then
// runs the text directly).
func (d *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	d.mu.Lock()
	st, ok := d.stmts[query]
	full := len(d.stmts) >= maxCachedStmts
	d.mu.Unlock()
	if ok || full {
		return st, nil
	}
	// prepared without the lock: preparing takes a connection from the pool
	st, err := d.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if prev, ok := d.stmts[query]; ok {
		st.Close() // prepared meanwhile by another caller
		return prev, nil
	}
	if d.stmts == nil {
		d.stmts = map[string]*sql.Stmt{}
	}
	d.stmts[query] = st
	return st, nil
}

var _ store.Ledger = (*DB)(nil)

// Open opens (creating it and its directory when needed) the ledger at path
// and applies pending migrations.
func Open(path string, opt Options) (*DB, error) {
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 10 * time.Second
	}
	if !opt.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("ledger %s: %w", path, err)
		}
	} else if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opt.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	// The page cache of each connection, in KiB. The writer needs its
	// batch's dirty pages and the hot index pages; a reader's cache is
	// emptied anyway whenever another connection commits. A bigger cache
	// only costs: the pages of a new ledger are appended, and every page
	// the cache grows by is fresh memory that faults in (64 MiB cost a
	// sixth of the writer's CPU).
	q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -cacheKiB))
	// Statement journals (the undo of one statement inside a transaction,
	// never needed after a crash: the WAL is the crash journal) stay in
	// memory instead of a temporary file: with 64 KiB pages each batch
	// wrote megabytes to it. Durability is unchanged.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_txlock", "immediate")
	if opt.ReadOnly {
		q.Add("mode", "ro")
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	d := &DB{db: db, path: path}
	if !opt.ReadOnly {
		created, err := d.migrate(context.Background())
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("ledger %s: %w", path, err)
		}
		if created {
			// SQLite sized the caches of the connections opened on the
			// empty file for its 4 KiB pages, 16 times too many 64 KiB
			// pages (it does not resize them when the page size
			// changes): open them again.
			db.Close()
			if d.db, err = sql.Open("sqlite", dsn); err != nil {
				return nil, fmt.Errorf("ledger %s: %w", path, err)
			}
		}
	} else if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	return d, nil
}

// Path returns the ledger's file.
func (d *DB) Path() string { return d.path }

// Close closes the database.
func (d *DB) Close() error {
	d.mu.Lock()
	for q, st := range d.stmts {
		st.Close()
		delete(d.stmts, q)
	}
	d.mu.Unlock()
	return d.db.Close()
}

// Check runs SQLite's integrity check.
func (d *DB) Check(ctx context.Context) error {
	var res string
	if err := d.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return err
	}
	if res != "ok" {
		return fmt.Errorf("ledger %s: integrity check: %s", d.path, res)
	}
	return nil
}

// SchemaVersion returns the last migration applied.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := d.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}

// cacheKiB is the page cache of each connection (PRAGMA cache_size).
const cacheKiB = 16 << 10

// migrate creates or upgrades the schema; created says that it made a new
// ledger (and set its page size).
func (d *DB) migrate(ctx context.Context) (created bool, err error) {
	// A new ledger gets 64 KiB pages: raw findings are a few KB, and larger
	// pages mean fewer overflow pages and fewer writes. The page size of a
	// WAL database is fixed once it has content, so set it while it is empty.
	var tables int
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&tables); err != nil {
		return false, err
	}
	created = tables == 0
	if created {
		// Best effort: another process opening the new ledger at the same
		// moment makes these fail (busy), and the default page size is fine.
		for _, q := range []string{`PRAGMA journal_mode=DELETE`, `PRAGMA page_size=65536`, `VACUUM`} {
			if _, err := d.db.ExecContext(ctx, q); err != nil {
				break
			}
		}
		// WAL is not optional: insist until the other opener is done.
		deadline := time.Now().Add(10 * time.Second)
		for {
			var mode string
			err := d.db.QueryRowContext(ctx, `PRAGMA journal_mode=WAL`).Scan(&mode)
			if err == nil && mode == "wal" {
				break
			}
			if time.Now().After(deadline) {
				return created, fmt.Errorf("cannot switch the ledger to WAL: %v (mode %q)", err, mode)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if _, err := d.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return created, fmt.Errorf("migrations: %w", err)
	}
	for i, m := range migrations {
		version := i + 1
		err := d.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, version, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return created, fmt.Errorf("migration %d: %w", version, err)
		}
	}
	var max sql.NullInt64
	if err := d.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&max); err != nil {
		return created, err
	}
	if int(max.Int64) > len(migrations) {
		return created, fmt.Errorf("schema version %d is newer than this reflex (%d): upgrade reflex", max.Int64, len(migrations))
	}
	return created, nil
}

func (d *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func tm(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

const findingCols = `key, account_id, region, id, type, severity, sample, updated_at, count, revision, first_seen, last_seen, raw`

func scanFinding(sc interface{ Scan(...any) error }) (*store.Finding, error) {
	var f store.Finding
	var sample int
	var upd, first, last int64
	if err := sc.Scan(&f.Key, &f.AccountID, &f.Region, &f.ID, &f.Type, &f.Severity, &sample, &upd, &f.Count, &f.Revision, &first, &last, &f.Raw); err != nil {
		return nil, err
	}
	f.Sample = sample != 0
	f.UpdatedAt, f.FirstSeen, f.LastSeen = tm(upd), tm(first), tm(last)
	return &f, nil
}

const decisionCols = `id, finding_key, revision, account_id, created_at, updated_at, mode, status, summary, expires_at, plan`

func scanDecision(sc interface{ Scan(...any) error }) (*store.Decision, error) {
	var d store.Decision
	var c, u, e int64
	var plan []byte
	if err := sc.Scan(&d.ID, &d.FindingKey, &d.Revision, &d.AccountID, &c, &u, &d.Mode, &d.Status, &d.Summary, &e, &plan); err != nil {
		return nil, err
	}
	d.CreatedAt, d.UpdatedAt, d.ExpiresAt = tm(c), tm(u), tm(e)
	d.Plan = plan
	return &d, nil
}

const stepCols = `key, decision_id, finding_key, seq, name, target, params, state, attempts, prior, result, reason, planned_at, started_at, ended_at`

func scanStep(sc interface{ Scan(...any) error }) (*store.Step, error) {
	var s store.Step
	var p, st, e int64
	var params, prior, result []byte
	if err := sc.Scan(&s.Key, &s.DecisionID, &s.FindingKey, &s.Seq, &s.Name, &s.Target, &params, &s.State, &s.Attempts, &prior, &result, &s.Reason, &p, &st, &e); err != nil {
		return nil, err
	}
	s.Params, s.Prior, s.Result = params, prior, result
	s.PlannedAt, s.StartedAt, s.EndedAt = tm(p), tm(st), tm(e)
	return &s, nil
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Record implements store.Ledger: one transaction for the whole batch; the
// current versions of the batch's findings are read at once inside it, each
// record is compared with them (and with the batch's earlier records), and
// the rows are written with multi-row statements.
//
// The multi-row INSERTs are INSERT OR ROLLBACK, and findings already in the
// ledger are updated by key rather than through an upsert: a statement that
// can abort by itself inside a transaction first copies every existing page
// it changes to a statement journal (64 KiB each, a tenth of the batch's
// CPU). On a constraint failure SQLite then rolls the whole transaction back
// at once, which is what Record does after any failed statement anyway:
// either the whole batch is written or none of it.
func (d *DB) Record(ctx context.Context, recs []*store.Record) ([]store.Change, error) {
	changes := make([]store.Change, len(recs))
	err := d.tx(ctx, func(tx *sql.Tx) error {
		cur := make(map[string]*store.Finding, len(recs))
		keys := make([]string, 0, len(recs))
		seen := make(map[string]bool, len(recs))
		for _, r := range recs {
			if !seen[r.Finding.Key] {
				seen[r.Finding.Key] = true
				keys = append(keys, r.Finding.Key)
			}
		}
		if err := d.selectKeys(ctx, tx, keys, cur); err != nil {
			return err
		}
		inLedger := make(map[string]bool, len(cur))
		for k := range cur {
			inLedger[k] = true
		}
		var fRows, dRows, sRows, eRows [][]any
		fIndex := map[string]int{} // key → its row in fRows (the batch's last version wins)
		for i, r := range recs {
			f := r.Finding
			prev := cur[f.Key]
			ch := store.Compare(prev, f)
			changes[i] = ch
			if ch != store.New && ch != store.Updated {
				continue
			}
			f.FirstSeen, f.Revision = f.LastSeen, 1
			if prev != nil {
				f.FirstSeen, f.Revision = prev.FirstSeen, prev.Revision+1
			}
			cur[f.Key] = f
			row := []any{f.Key, f.AccountID, f.Region, f.ID, f.Type, f.Severity, b2i(f.Sample), ns(f.UpdatedAt), f.Count, f.Revision, ns(f.FirstSeen), ns(f.LastSeen), nullBytes(f.Raw), keyHash(f.Key)}
			if j, ok := fIndex[f.Key]; ok {
				fRows[j] = row
			} else {
				fIndex[f.Key] = len(fRows)
				fRows = append(fRows, row)
			}
			if dec := r.Decision; dec != nil {
				dec.Revision = f.Revision
				dRows = append(dRows, []any{dec.ID, dec.FindingKey, dec.Revision, dec.AccountID, ns(dec.CreatedAt), ns(dec.UpdatedAt), dec.Mode, dec.Status, dec.Summary, ns(dec.ExpiresAt), nullBytes(dec.Plan), keyHash(dec.FindingKey)})
			}
			for _, s := range r.Steps {
				sRows = append(sRows, []any{s.Key, s.DecisionID, s.FindingKey, s.Seq, s.Name, s.Target, nullBytes(s.Params), s.State, s.Attempts, nullBytes(s.Prior), nullBytes(s.Result), s.Reason, ns(s.PlannedAt), ns(s.StartedAt), ns(s.EndedAt)})
			}
			for _, e := range r.Events {
				eRows = append(eRows, []any{ns(e.At), e.Kind, e.FindingKey, e.DecisionID, e.StepKey, e.Actor, e.Message, nullBytes(e.Data)})
			}
		}
		var newRows [][]any
		for _, row := range fRows {
			if !inLedger[row[0].(string)] {
				newRows = append(newRows, row)
				continue
			}
			// key, account, region, id and first_seen stay
			if err := d.exec(ctx, tx, `UPDATE findings SET type=?, severity=?, sample=?, updated_at=?, count=?, revision=?, last_seen=?, raw=? WHERE key_hash=? AND key=?`,
				[]any{row[4], row[5], row[6], row[7], row[8], row[9], row[11], row[12], row[13], row[0]}); err != nil {
				return fmt.Errorf("findings: %w", err)
			}
		}
		if err := d.insertRows(ctx, tx, `INSERT OR ROLLBACK INTO findings(`+findingCols+`, key_hash) VALUES `, newRows, ""); err != nil {
			return fmt.Errorf("findings: %w", err)
		}
		if err := d.insertRows(ctx, tx, `INSERT OR ROLLBACK INTO decisions(`+decisionCols+`, finding_hash) VALUES `, dRows, ""); err != nil {
			return fmt.Errorf("decisions: %w", err)
		}
		if err := d.insertRows(ctx, tx, `INSERT INTO steps(`+stepCols+`) VALUES `, sRows, `
			ON CONFLICT(key) DO UPDATE SET decision_id=excluded.decision_id, seq=excluded.seq, params=excluded.params,
			state=excluded.state, attempts=0, prior=NULL, result=NULL, reason='', planned_at=excluded.planned_at, started_at=0, ended_at=0
			WHERE steps.state = 'cancelled'`); err != nil {
			return fmt.Errorf("steps: %w", err)
		}
		if err := d.insertRows(ctx, tx, `INSERT OR ROLLBACK INTO events(at, kind, finding_key, decision_id, step_key, actor, message, data) VALUES `, eRows, ""); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: record: %w", err)
	}
	return changes, nil
}

// insertChunk is the most rows one INSERT statement writes (SQLite allows
// 32766 parameters).
const insertChunk = 1024

// insertRows writes rows with multi-row INSERT statements of up to
// insertChunk rows. Few statements matter more than their size: inside the
// transaction each statement first copies every existing 64 KiB page it
// changes to its statement journal, and a batch's rows change the same
// index pages. The statements stay prepared (a batch size repeats).
func (d *DB) insertRows(ctx context.Context, tx *sql.Tx, head string, rows [][]any, tail string) error {
	if len(rows) == 0 {
		return nil
	}
	one := "(" + placeholders(len(rows[0])) + ")"
	args := make([]any, 0, min(insertChunk, len(rows))*len(rows[0]))
	chunk := min(insertChunk, 32766/len(rows[0]))
	for len(rows) > 0 {
		n := min(chunk, len(rows))
		var q strings.Builder
		q.Grow(len(head) + n*(len(one)+1) + len(tail))
		q.WriteString(head)
		args = args[:0]
		for i, r := range rows[:n] {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(one)
			args = append(args, r...)
		}
		q.WriteString(tail)
		if err := d.exec(ctx, tx, q.String(), args); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// exec runs query in tx through the statement cache.
func (d *DB) exec(ctx context.Context, tx *sql.Tx, query string, args []any) error {
	st, err := d.stmt(ctx, query)
	if err != nil {
		return err
	}
	if st == nil {
		_, err = tx.ExecContext(ctx, query, args...)
		return err
	}
	_, err = tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	return err
}

// keyChunk is the most keys one lookup statement reads.
const keyChunk = 512

// selectKeys reads the current versions (without raw) of the findings
// keyed by keys into out, in tx when it is not nil. The IN lists are padded
// to a power of two (repeating the last key, which changes nothing) so that
// their statements stay prepared.
func (d *DB) selectKeys(ctx context.Context, tx *sql.Tx, keys []string, out map[string]*store.Finding) error {
	args := make([]any, 0, 2*min(keyChunk, max(8, len(keys))))
	for len(keys) > 0 {
		n := min(keyChunk, len(keys))
		size := 8
		for size < n {
			size *= 2
		}
		args = args[:0]
		for _, k := range keys[:n] {
			args = append(args, keyHash(k))
		}
		for len(args) < size {
			args = append(args, keyHash(keys[n-1]))
		}
		for _, k := range keys[:n] {
			args = append(args, k)
		}
		for len(args) < 2*size {
			args = append(args, keys[n-1])
		}
		// a row whose hash is in the first list and key in the second: the
		// rows of these keys (a key's hash is in the list with it)
		q := `SELECT key, account_id, region, id, type, severity, sample, updated_at, count, revision, first_seen, last_seen, NULL FROM findings WHERE key_hash IN (` + placeholders(size) + `) AND key IN (` + placeholders(size) + `)`
		st, err := d.stmt(ctx, q)
		if err != nil {
			return err
		}
		var rows *sql.Rows
		switch {
		case st != nil && tx != nil:
			rows, err = tx.StmtContext(ctx, st).QueryContext(ctx, args...)
		case st != nil:
			rows, err = st.QueryContext(ctx, args...)
		case tx != nil:
			rows, err = tx.QueryContext(ctx, q, args...)
		default:
			rows, err = d.db.QueryContext(ctx, q, args...)
		}
		if err != nil {
			return err
		}
		for rows.Next() {
			f, err := scanFinding(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out[f.Key] = f
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

func insertEvent(ctx context.Context, st *sql.Stmt, e *store.Event) error {
	res, err := st.ExecContext(ctx, ns(e.At), e.Kind, e.FindingKey, e.DecisionID, e.StepKey, e.Actor, e.Message, nullBytes(e.Data))
	if err != nil {
		return fmt.Errorf("event: %w", err)
	}
	e.Seq, _ = res.LastInsertId()
	return nil
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return err
}

// Finding implements store.Ledger.
func (d *DB) Finding(ctx context.Context, key string) (*store.Finding, error) {
	f, err := scanFinding(d.db.QueryRowContext(ctx, `SELECT `+findingCols+` FROM findings WHERE key_hash = ? AND key = ?`, keyHash(key), key))
	return f, notFound(err, "finding "+key)
}

// Lookup implements store.Ledger.
func (d *DB) Lookup(ctx context.Context, keys []string) (map[string]*store.Finding, error) {
	out := make(map[string]*store.Finding, len(keys))
	if err := d.selectKeys(ctx, nil, keys, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Decision implements store.Ledger.
func (d *DB) Decision(ctx context.Context, id string) (*store.Decision, error) {
	dec, err := scanDecision(d.db.QueryRowContext(ctx, `SELECT `+decisionCols+` FROM decisions WHERE id = ?`, id))
	return dec, notFound(err, "decision "+id)
}

// LatestDecision implements store.Ledger.
func (d *DB) LatestDecision(ctx context.Context, findingKey string) (*store.Decision, error) {
	dec, err := scanDecision(d.db.QueryRowContext(ctx, `SELECT `+decisionCols+` FROM decisions WHERE finding_hash = ? AND finding_key = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`,
		keyHash(findingKey), findingKey))
	return dec, notFound(err, "decision for finding "+findingKey)
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// SetDecisionStatus implements store.Ledger.
func (d *DB) SetDecisionStatus(ctx context.Context, id string, from []string, status string, at time.Time) error {
	args := []any{status, ns(at), id}
	for _, f := range from {
		args = append(args, f)
	}
	res, err := d.db.ExecContext(ctx, `UPDATE decisions SET status = ?, updated_at = ? WHERE id = ? AND status IN (`+placeholders(len(from))+`)`, args...)
	if err != nil {
		return fmt.Errorf("ledger: decision %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := d.Decision(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("decision %s is not %s: %w", id, strings.Join(from, " or "), store.ErrConflict)
	}
	return nil
}

func (d *DB) decisions(ctx context.Context, where string, args ...any) ([]*store.Decision, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+decisionCols+` FROM decisions `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Decision
	for rows.Next() {
		dec, err := scanDecision(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, dec)
	}
	return out, rows.Err()
}

// Unfinished implements store.Ledger.
func (d *DB) Unfinished(ctx context.Context) ([]*store.Decision, error) {
	return d.decisions(ctx, `WHERE status IN ('approved', 'running') ORDER BY rowid`)
}

// Expire implements store.Ledger.
func (d *DB) Expire(ctx context.Context, now time.Time) ([]*store.Decision, error) {
	var out []*store.Decision
	err := d.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+decisionCols+` FROM decisions WHERE status = 'pending-approval' AND expires_at > 0 AND expires_at < ?`, ns(now))
		if err != nil {
			return err
		}
		for rows.Next() {
			dec, err := scanDecision(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, dec)
		}
		rows.Close()
		for _, dec := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE decisions SET status = ?, updated_at = ? WHERE id = ?`, store.DecisionExpired, ns(now), dec.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE steps SET state = ?, reason = ?, ended_at = ? WHERE decision_id = ? AND state = ?`,
				store.StepCancelled, "approval expired", ns(now), dec.ID, store.StepPlanned); err != nil {
				return err
			}
			dec.Status = store.DecisionExpired
		}
		return nil
	})
	return out, err
}

// Step implements store.Ledger.
func (d *DB) Step(ctx context.Context, key string) (*store.Step, error) {
	s, err := scanStep(d.db.QueryRowContext(ctx, `SELECT `+stepCols+` FROM steps WHERE key = ?`, key))
	return s, notFound(err, "step "+key)
}

// DecisionSteps implements store.Ledger.
func (d *DB) DecisionSteps(ctx context.Context, decisionID string) ([]*store.Step, error) {
	return d.steps(ctx, `WHERE decision_id = ? ORDER BY seq`, decisionID)
}

func (d *DB) steps(ctx context.Context, where string, args ...any) ([]*store.Step, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+stepCols+` FROM steps `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Step
	for rows.Next() {
		s, err := scanStep(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// StartStep implements store.Ledger.
func (d *DB) StartStep(ctx context.Context, key string, at time.Time) (*store.Step, error) {
	var s *store.Step
	err := d.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE steps SET state = ?, attempts = attempts + 1, started_at = ? WHERE key = ? AND state IN (?, ?)`,
			store.StepStarted, ns(at), key, store.StepPlanned, store.StepStarted)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		s, err = scanStep(tx.QueryRowContext(ctx, `SELECT `+stepCols+` FROM steps WHERE key = ?`, key))
		if err != nil {
			return notFound(err, "step "+key)
		}
		if n == 0 {
			return fmt.Errorf("step %s already %s: %w", key, s.State, store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	return s, nil
}

// EndStep implements store.Ledger.
func (d *DB) EndStep(ctx context.Context, s *store.Step) error {
	if !store.Ended(s.State) {
		return fmt.Errorf("step %s: end state %q is not final", s.Key, s.State)
	}
	res, err := d.db.ExecContext(ctx, `UPDATE steps SET state = ?, prior = ?, result = ?, reason = ?, ended_at = ? WHERE key = ? AND state = ?`,
		s.State, nullBytes(s.Prior), nullBytes(s.Result), s.Reason, ns(s.EndedAt), s.Key, store.StepStarted)
	if err != nil {
		return fmt.Errorf("ledger: step %s: %w", s.Key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("step %s is not started: %w", s.Key, store.ErrConflict)
	}
	return nil
}

// CancelSteps implements store.Ledger.
func (d *DB) CancelSteps(ctx context.Context, decisionID, reason string, at time.Time) error {
	_, err := d.db.ExecContext(ctx, `UPDATE steps SET state = ?, reason = ?, ended_at = ? WHERE decision_id = ? AND state = ?`,
		store.StepCancelled, reason, ns(at), decisionID, store.StepPlanned)
	return err
}

// Approve implements store.Ledger.
func (d *DB) Approve(ctx context.Context, a *store.Approval) error {
	to := store.DecisionApproved
	if a.Verdict == store.DecisionDenied {
		to = store.DecisionDenied
	} else if a.Verdict != store.DecisionApproved {
		return fmt.Errorf("approval verdict %q: want approved or denied", a.Verdict)
	}
	return d.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE decisions SET status = ?, updated_at = ? WHERE id = ? AND status = ?`, to, ns(a.At), a.DecisionID, store.DecisionPending)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			dec, err := scanDecision(tx.QueryRowContext(ctx, `SELECT `+decisionCols+` FROM decisions WHERE id = ?`, a.DecisionID))
			if err != nil {
				return notFound(err, "decision "+a.DecisionID)
			}
			return fmt.Errorf("decision %s is %s, not pending approval: %w", a.DecisionID, dec.Status, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO approvals(decision_id, verdict, by_whom, reason, at) VALUES (?,?,?,?,?)`, a.DecisionID, a.Verdict, a.By, a.Reason, ns(a.At)); err != nil {
			return err
		}
		if to == store.DecisionDenied {
			if _, err := tx.ExecContext(ctx, `UPDATE steps SET state = ?, reason = ?, ended_at = ? WHERE decision_id = ? AND state = ?`,
				store.StepCancelled, "denied by "+a.By, ns(a.At), a.DecisionID, store.StepPlanned); err != nil {
				return err
			}
		}
		return nil
	})
}

// Approvals implements store.Ledger.
func (d *DB) Approvals(ctx context.Context, f store.Filter) ([]*store.Approval, error) {
	where, args := filterSQL(f, "decision_id", "", "", "", "verdict", "at")
	rows, err := d.db.QueryContext(ctx, `SELECT decision_id, verdict, by_whom, reason, at FROM approvals `+where+` ORDER BY at, rowid`+limit(f), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Approval
	for rows.Next() {
		var a store.Approval
		var at int64
		if err := rows.Scan(&a.DecisionID, &a.Verdict, &a.By, &a.Reason, &at); err != nil {
			return nil, err
		}
		a.At = tm(at)
		out = append(out, &a)
	}
	return out, rows.Err()
}

// TakeBudget implements store.Ledger.
func (d *DB) TakeBudget(ctx context.Context, keys []store.BudgetKey) (bool, *store.BudgetKey, error) {
	var full *store.BudgetKey
	err := d.tx(ctx, func(tx *sql.Tx) error {
		for i, k := range keys {
			var n int
			err := tx.QueryRowContext(ctx, `SELECT count FROM budget WHERE scope = ? AND window = ?`, k.Scope, ns(k.Window)).Scan(&n)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if n >= k.Limit {
				full = &keys[i]
				return nil
			}
		}
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO budget(scope, window, count) VALUES (?, ?, 1) ON CONFLICT(scope, window) DO UPDATE SET count = count + 1`, k.Scope, ns(k.Window)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, nil, fmt.Errorf("ledger: budget: %w", err)
	}
	return full == nil, full, nil
}

// BudgetUsed implements store.Ledger.
func (d *DB) BudgetUsed(ctx context.Context, k store.BudgetKey) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count FROM budget WHERE scope = ? AND window = ?`, k.Scope, ns(k.Window)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// Append implements store.Ledger.
func (d *DB) Append(ctx context.Context, es ...*store.Event) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO events(at, kind, finding_key, decision_id, step_key, actor, message, data) VALUES (?,?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, e := range es {
			if err := insertEvent(ctx, st, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// filterSQL builds a WHERE clause from f for a table whose columns are named
// by the arguments ("" when the table has no such column); findingHashCol
// is the indexed hash of findingCol (see keyHash).
func filterSQL(f store.Filter, decisionCol, findingCol, findingHashCol, accountCol, statusCol, timeCol string) (string, []any) {
	var conds []string
	var args []any
	add := func(col, v string) {
		if col != "" && v != "" {
			conds = append(conds, col+" = ?")
			args = append(args, v)
		}
	}
	add(decisionCol, f.DecisionID)
	if findingHashCol != "" && f.FindingKey != "" {
		conds = append(conds, findingHashCol+" = ?")
		args = append(args, keyHash(f.FindingKey))
	}
	add(findingCol, f.FindingKey)
	add(accountCol, f.AccountID)
	add(statusCol, f.Status)
	if timeCol != "" && !f.Since.IsZero() {
		conds = append(conds, timeCol+" >= ?")
		args = append(args, ns(f.Since))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return "WHERE " + strings.Join(conds, " AND "), args
}

func limit(f store.Filter) string {
	if f.Limit > 0 {
		return fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return ""
}

// Findings implements store.Ledger (newest first, without Raw unless a
// single finding is asked for).
func (d *DB) Findings(ctx context.Context, f store.Filter) ([]*store.Finding, error) {
	where, args := filterSQL(f, "", "key", "key_hash", "account_id", "", "last_seen")
	rows, err := d.db.QueryContext(ctx, `SELECT `+findingCols+` FROM findings `+where+` ORDER BY rowid DESC`+limit(f), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Finding
	for rows.Next() {
		fd, err := scanFinding(rows)
		if err != nil {
			return nil, err
		}
		if f.FindingKey == "" {
			fd.Raw = nil
		}
		out = append(out, fd)
	}
	return out, rows.Err()
}

// Decisions implements store.Ledger (newest first).
func (d *DB) Decisions(ctx context.Context, f store.Filter) ([]*store.Decision, error) {
	where, args := filterSQL(f, "id", "finding_key", "finding_hash", "account_id", "status", "created_at")
	return d.decisions(ctx, where+` ORDER BY rowid DESC`+limit(f), args...)
}

// Steps implements store.Ledger (in plan order).
func (d *DB) Steps(ctx context.Context, f store.Filter) ([]*store.Step, error) {
	where, args := filterSQL(f, "decision_id", "finding_key", "", "", "state", "planned_at")
	return d.steps(ctx, where+` ORDER BY planned_at, decision_id, seq`+limit(f), args...)
}

// Events implements store.Ledger (in order).
func (d *DB) Events(ctx context.Context, f store.Filter) ([]*store.Event, error) {
	where, args := filterSQL(f, "decision_id", "finding_key", "", "", "kind", "at")
	rows, err := d.db.QueryContext(ctx, `SELECT seq, at, kind, finding_key, decision_id, step_key, actor, message, data FROM events `+where+` ORDER BY seq`+limit(f), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Event
	for rows.Next() {
		var e store.Event
		var at int64
		var data []byte
		if err := rows.Scan(&e.Seq, &at, &e.Kind, &e.FindingKey, &e.DecisionID, &e.StepKey, &e.Actor, &e.Message, &data); err != nil {
			return nil, err
		}
		e.At, e.Data = tm(at), data
		out = append(out, &e)
	}
	return out, rows.Err()
}
