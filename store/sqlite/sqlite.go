// Package sqlite is the embedded ledger: store.Ledger on SQLite
// (modernc.org/sqlite, pure Go) in WAL mode with versioned migrations.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
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

	// stmts caches the prepared statements of Lookup: their IN lists are
	// long, and parsing one again for every chunk cost as much as the
	// lookup.
	mu    sync.Mutex
	stmts map[string]*sql.Stmt

	w writer // Record's connection

	// unhashed: a ledger opened read-only before migration 2, without the
	// key hashes; its lookups use the keys.
	unhashed bool
}

// maxCachedStmts bounds the statement caches (DB.stmts, the writer's): the
// texts cached are those of the batch sizes seen first (a stream repeats
// its batch size) and the few IN-list sizes of the lookups; other texts are
// run unprepared.
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
	} else if v, err := d.SchemaVersion(context.Background()); err == nil && v < 2 {
		// not migrated (read-only): read it by its keys
		d.unhashed = true
	}
	return d, nil
}

// Path returns the ledger's file.
func (d *DB) Path() string { return d.path }

// Close closes the database.
func (d *DB) Close() error {
	d.w.mu.Lock()
	d.w.close()
	d.w.mu.Unlock()
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

// keyChunk is the most keys one lookup statement reads.
const keyChunk = 512

// lookupChunks calls fn with the query reading the current versions
// (without raw) of the findings whose key hashes are in an IN list, and
// the list's hashes, for each chunk of keys. The lists are padded to a
// power of two (repeating the last hash, which changes nothing) so that
// their statements stay prepared. The rows may include findings with other
// keys (a hash collision): the caller keeps those it asked for.
func lookupChunks(keys []string, fn func(query string, hashes []int64) error) error {
	hashes := make([]int64, 0, min(keyChunk, max(8, len(keys))))
	for len(keys) > 0 {
		n := min(keyChunk, len(keys))
		size := 8
		for size < n {
			size *= 2
		}
		hashes = hashes[:0]
		for _, k := range keys[:n] {
			hashes = append(hashes, keyHash(k))
		}
		for len(hashes) < size {
			hashes = append(hashes, hashes[n-1])
		}
		q := `SELECT key, account_id, region, id, type, severity, sample, updated_at, count, revision, first_seen, last_seen, NULL FROM findings WHERE key_hash IN (` + placeholders(size) + `)`
		if err := fn(q, hashes); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// selectKeys reads the current versions (without raw) of the findings
// keyed by keys into out.
func (d *DB) selectKeys(ctx context.Context, keys []string, out map[string]*store.Finding) error {
	if d.unhashed {
		for _, k := range keys {
			if f, err := d.Finding(ctx, k); err == nil {
				f.Raw = nil
				out[k] = f
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	}
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	var args []any
	return lookupChunks(keys, func(q string, hashes []int64) error {
		args = args[:0]
		for _, h := range hashes {
			args = append(args, h)
		}
		st, err := d.stmt(ctx, q)
		if err != nil {
			return err
		}
		var rows *sql.Rows
		if st != nil {
			rows, err = st.QueryContext(ctx, args...)
		} else {
			rows, err = d.db.QueryContext(ctx, q, args...)
		}
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			f, err := scanFinding(rows)
			if err != nil {
				return err
			}
			if want[f.Key] {
				out[f.Key] = f
			}
		}
		return rows.Err()
	})
}

// findingOf is scanFinding for the driver's values of a row.
func findingOf(v []driver.Value) (*store.Finding, error) {
	var f store.Finding
	var ok [12]bool
	f.Key, ok[0] = v[0].(string)
	f.AccountID, ok[1] = v[1].(string)
	f.Region, ok[2] = v[2].(string)
	f.ID, ok[3] = v[3].(string)
	f.Type, ok[4] = v[4].(string)
	switch x := v[5].(type) {
	case float64:
		f.Severity, ok[5] = x, true
	case int64:
		f.Severity, ok[5] = float64(x), true
	}
	var sample, upd, rev, first, last int64
	sample, ok[6] = v[6].(int64)
	upd, ok[7] = v[7].(int64)
	f.Count, ok[8] = v[8].(int64)
	rev, ok[9] = v[9].(int64)
	first, ok[10] = v[10].(int64)
	last, ok[11] = v[11].(int64)
	for i, good := range ok {
		if !good {
			return nil, fmt.Errorf("findings: column %d is %T", i, v[i])
		}
	}
	f.Sample, f.Revision = sample != 0, int(rev)
	f.UpdatedAt, f.FirstSeen, f.LastSeen = tm(upd), tm(first), tm(last)
	return &f, nil
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
	q, args := `SELECT `+findingCols+` FROM findings WHERE key_hash = ? AND key = ?`, []any{keyHash(key), key}
	if d.unhashed {
		q, args = `SELECT `+findingCols+` FROM findings WHERE key = ?`, []any{key}
	}
	f, err := scanFinding(d.db.QueryRowContext(ctx, q, args...))
	return f, notFound(err, "finding "+key)
}

// Lookup implements store.Ledger.
func (d *DB) Lookup(ctx context.Context, keys []string) (map[string]*store.Finding, error) {
	out := make(map[string]*store.Finding, len(keys))
	if err := d.selectKeys(ctx, keys, out); err != nil {
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
	q, args := `SELECT `+decisionCols+` FROM decisions WHERE finding_hash = ? AND finding_key = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`, []any{keyHash(findingKey), findingKey}
	if d.unhashed {
		q, args = `SELECT `+decisionCols+` FROM decisions WHERE finding_key = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`, []any{findingKey}
	}
	dec, err := scanDecision(d.db.QueryRowContext(ctx, q, args...))
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

// CheckpointStep implements store.Ledger.
func (d *DB) CheckpointStep(ctx context.Context, key string, prior json.RawMessage) error {
	res, err := d.db.ExecContext(ctx, `UPDATE steps SET prior = ? WHERE key = ? AND state = ?`, nullBytes(prior), key, store.StepStarted)
	if err != nil {
		return fmt.Errorf("ledger: checkpoint step %s: %w", key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("step %s is not started: %w", key, store.ErrConflict)
	}
	return nil
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

// hashCol is col, a key-hash column, or "" in a ledger without them.
func (d *DB) hashCol(col string) string {
	if d.unhashed {
		return ""
	}
	return col
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
	where, args := filterSQL(f, "", "key", d.hashCol("key_hash"), "account_id", "", "last_seen")
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
	where, args := filterSQL(f, "id", "finding_key", d.hashCol("finding_hash"), "account_id", "status", "created_at")
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
