package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/reflexsec/reflex/store"
)

// writer is the connection Record writes with, taken from the pool once and
// held: its page cache stays warm (the index pages every batch changes),
// and its statements run on the driver directly, with arguments built in
// place, without database/sql's per-statement locking, argument conversion
// and copies ([][]any rows boxed every value twice).
type writer struct {
	mu    sync.Mutex // one Record at a time
	conn  *sql.Conn
	stmts map[string]driver.Stmt // prepared on conn
	args  []driver.NamedValue    // one statement's arguments, reused
}

// rawConn is what the writer needs of the driver's connection.
type rawConn interface {
	driver.ConnBeginTx
	driver.ConnPrepareContext
}

// run runs fn in a write transaction (BEGIN IMMEDIATE, from the DSN) on the
// writer's connection, committed when fn succeeds, rolled back otherwise.
func (w *writer) run(ctx context.Context, db *sql.DB, fn func(rawConn) error) error {
	if w.conn == nil {
		// not ctx: the connection outlives this call
		conn, err := db.Conn(context.Background())
		if err != nil {
			return err
		}
		w.conn = conn
	}
	err := w.conn.Raw(func(dc any) error {
		c, ok := dc.(rawConn)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T: no transactions or prepared statements", dc)
		}
		tx, err := c.BeginTx(ctx, driver.TxOptions{})
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			if rbErr := tx.Rollback(); rbErr != nil {
				// possibly still in the transaction: database/sql discards
				// a connection that reports itself bad
				return errors.Join(err, rbErr, driver.ErrBadConn)
			}
			return err
		}
		return tx.Commit() // rolls back itself when it fails
	})
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		w.close() // the next call takes another connection
	}
	return err
}

// close closes the writer's statements and gives its connection back.
func (w *writer) close() {
	if w.conn == nil {
		return
	}
	w.conn.Raw(func(any) error {
		for q, st := range w.stmts {
			st.Close()
			delete(w.stmts, q)
		}
		return nil
	})
	w.stmts = nil
	w.conn.Close()
	w.conn = nil
}

// stmt returns query's prepared statement on c, kept for reuse while
// fewer than maxCachedStmts are; release closes one that was not kept.
func (w *writer) stmt(ctx context.Context, c rawConn, query string) (st driver.Stmt, release func(), err error) {
	if st, ok := w.stmts[query]; ok {
		return st, func() {}, nil
	}
	if st, err = c.PrepareContext(ctx, query); err != nil {
		return nil, nil, err
	}
	if len(w.stmts) >= maxCachedStmts {
		return st, func() { st.Close() }, nil
	}
	if w.stmts == nil {
		w.stmts = map[string]driver.Stmt{}
	}
	w.stmts[query] = st
	return st, func() {}, nil
}

// exec runs query with args (the first n of w.args) on c, through the
// writer's prepared statements.
func (w *writer) exec(ctx context.Context, c rawConn, query string, args []driver.NamedValue) error {
	st, release, err := w.stmt(ctx, c, query)
	if err != nil {
		return err
	}
	defer release()
	ex, ok := st.(driver.StmtExecContext)
	if !ok {
		return fmt.Errorf("sqlite driver statement %T: no ExecContext", st)
	}
	_, err = ex.ExecContext(ctx, args)
	clear(args) // no finding's bytes kept alive by the reused arguments
	return err
}

// query runs query with args on c and calls row for each row.
func (w *writer) query(ctx context.Context, c rawConn, query string, args []driver.NamedValue, ncol int, row func([]driver.Value) error) error {
	st, release, err := w.stmt(ctx, c, query)
	if err != nil {
		return err
	}
	defer release()
	q, ok := st.(driver.StmtQueryContext)
	if !ok {
		return fmt.Errorf("sqlite driver statement %T: no QueryContext", st)
	}
	rows, err := q.QueryContext(ctx, args)
	clear(args)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]driver.Value, ncol)
	for {
		if err := rows.Next(vals); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := row(vals); err != nil {
			return err
		}
	}
}

// arg appends v as the next positional argument.
func arg(args []driver.NamedValue, v driver.Value) []driver.NamedValue {
	return append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: v})
}

// blob is b as an argument: NULL when empty, as database/sql bound it.
func blob(b []byte) driver.Value {
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
// either the whole batch is written or none of it. The findings' keys are
// unique because this transaction, holding the write lock, reads them first
// and inserts only those absent (the index on their hash is not unique).
func (d *DB) Record(ctx context.Context, recs []*store.Record) ([]store.Change, error) {
	changes := make([]store.Change, len(recs))
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	err := d.w.run(ctx, d.db, func(c rawConn) error { return d.w.record(ctx, c, recs, changes) })
	if err != nil {
		return nil, fmt.Errorf("ledger: record: %w", err)
	}
	return changes, nil
}

func (w *writer) record(ctx context.Context, c rawConn, recs []*store.Record, changes []store.Change) error {
	cur := make(map[string]*store.Finding, len(recs))
	keys := make([]string, 0, len(recs))
	for _, r := range recs {
		if _, ok := cur[r.Finding.Key]; !ok {
			cur[r.Finding.Key] = nil
			keys = append(keys, r.Finding.Key)
		}
	}
	if err := w.selectKeys(ctx, c, keys, cur); err != nil {
		return err
	}
	inLedger := make(map[string]bool, len(cur))
	for k, f := range cur {
		if f != nil {
			inLedger[k] = true
		}
	}
	var fs, updated []*store.Finding
	var decs []*store.Decision
	var steps []*store.Step
	var events []*store.Event
	fIndex := map[string]int{} // key → its place in fs (the batch's last version wins)
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
		if j, ok := fIndex[f.Key]; ok {
			fs[j] = f
		} else {
			fIndex[f.Key] = len(fs)
			fs = append(fs, f)
		}
		if dec := r.Decision; dec != nil {
			dec.Revision = f.Revision
			decs = append(decs, dec)
		}
		steps = append(steps, r.Steps...)
		events = append(events, r.Events...)
	}
	n := 0
	for _, f := range fs {
		if inLedger[f.Key] {
			updated = append(updated, f)
		} else {
			fs[n] = f
			n++
		}
	}
	fs = fs[:n]
	for _, f := range updated {
		// key, account, region, id and first_seen stay
		a := w.args[:0]
		for _, v := range []driver.Value{f.Type, f.Severity, int64(b2i(f.Sample)), ns(f.UpdatedAt), f.Count, int64(f.Revision), ns(f.LastSeen), blob(f.Raw), keyHash(f.Key), f.Key} {
			a = arg(a, v)
		}
		w.args = a
		if err := w.exec(ctx, c, `UPDATE findings SET type=?, severity=?, sample=?, updated_at=?, count=?, revision=?, last_seen=?, raw=? WHERE key_hash=? AND key=?`, a); err != nil {
			return fmt.Errorf("findings: %w", err)
		}
	}
	err := w.insert(ctx, c, `INSERT OR ROLLBACK INTO findings(`+findingCols+`, key_hash) VALUES `, 14, len(fs), "", func(a []driver.NamedValue, i int) []driver.NamedValue {
		f := fs[i]
		for _, v := range []driver.Value{f.Key, f.AccountID, f.Region, f.ID, f.Type, f.Severity, int64(b2i(f.Sample)), ns(f.UpdatedAt), f.Count, int64(f.Revision), ns(f.FirstSeen), ns(f.LastSeen), blob(f.Raw), keyHash(f.Key)} {
			a = arg(a, v)
		}
		return a
	})
	if err != nil {
		return fmt.Errorf("findings: %w", err)
	}
	err = w.insert(ctx, c, `INSERT OR ROLLBACK INTO decisions(`+decisionCols+`, finding_hash) VALUES `, 12, len(decs), "", func(a []driver.NamedValue, i int) []driver.NamedValue {
		d := decs[i]
		for _, v := range []driver.Value{d.ID, d.FindingKey, int64(d.Revision), d.AccountID, ns(d.CreatedAt), ns(d.UpdatedAt), d.Mode, d.Status, d.Summary, ns(d.ExpiresAt), blob(d.Plan), keyHash(d.FindingKey)} {
			a = arg(a, v)
		}
		return a
	})
	if err != nil {
		return fmt.Errorf("decisions: %w", err)
	}
	err = w.insert(ctx, c, `INSERT INTO steps(`+stepCols+`) VALUES `, 15, len(steps), `
		ON CONFLICT(key) DO UPDATE SET decision_id=excluded.decision_id, seq=excluded.seq, params=excluded.params,
		state=excluded.state, attempts=0, prior=NULL, result=NULL, reason='', planned_at=excluded.planned_at, started_at=0, ended_at=0
		WHERE steps.state = 'cancelled'`, func(a []driver.NamedValue, i int) []driver.NamedValue {
		s := steps[i]
		for _, v := range []driver.Value{s.Key, s.DecisionID, s.FindingKey, int64(s.Seq), s.Name, s.Target, blob(s.Params), s.State, int64(s.Attempts), blob(s.Prior), blob(s.Result), s.Reason, ns(s.PlannedAt), ns(s.StartedAt), ns(s.EndedAt)} {
			a = arg(a, v)
		}
		return a
	})
	if err != nil {
		return fmt.Errorf("steps: %w", err)
	}
	err = w.insert(ctx, c, `INSERT OR ROLLBACK INTO events(at, kind, finding_key, decision_id, step_key, actor, message, data) VALUES `, 8, len(events), "", func(a []driver.NamedValue, i int) []driver.NamedValue {
		e := events[i]
		for _, v := range []driver.Value{ns(e.At), e.Kind, e.FindingKey, e.DecisionID, e.StepKey, e.Actor, e.Message, blob(e.Data)} {
			a = arg(a, v)
		}
		return a
	})
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	return nil
}

// insertChunk is the most rows one INSERT statement writes (SQLite allows
// 32766 parameters).
const insertChunk = 1024

// insert writes n rows of ncol columns, row(args, i) appending the i-th
// row's, with multi-row INSERT statements of up to insertChunk rows. Few
// statements matter more than their size: inside the transaction each
// statement first copies every existing 64 KiB page it changes to its
// statement journal, and a batch's rows change the same index pages. The
// statements stay prepared (a batch size repeats).
func (w *writer) insert(ctx context.Context, c rawConn, head string, ncol, n int, tail string, row func([]driver.NamedValue, int) []driver.NamedValue) error {
	chunk := min(insertChunk, 32766/ncol)
	for i := 0; i < n; {
		m := min(chunk, n-i)
		a := w.args[:0]
		for j := range m {
			a = row(a, i+j)
		}
		w.args = a
		if err := w.exec(ctx, c, insertText(head, ncol, m, tail), a); err != nil {
			return err
		}
		i += m
	}
	return nil
}

type insertKey struct {
	head, tail string
	ncol, rows int
}

var insertTexts sync.Map // insertKey → string

// insertText is the text of an INSERT of rows rows of ncol values, built
// once per shape.
func insertText(head string, ncol, rows int, tail string) string {
	k := insertKey{head, tail, ncol, rows}
	if q, ok := insertTexts.Load(k); ok {
		return q.(string)
	}
	one := "(" + placeholders(ncol) + ")"
	var q strings.Builder
	q.Grow(len(head) + rows*(len(one)+1) + len(tail))
	q.WriteString(head)
	for i := range rows {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(one)
	}
	q.WriteString(tail)
	insertTexts.Store(k, q.String())
	return q.String()
}

// selectKeys is DB.selectKeys on the writer's connection, inside its
// transaction.
func (w *writer) selectKeys(ctx context.Context, c rawConn, keys []string, out map[string]*store.Finding) error {
	return lookupChunks(keys, func(q string, hashes []int64) error {
		a := w.args[:0]
		for _, h := range hashes {
			a = arg(a, h)
		}
		w.args = a
		return w.query(ctx, c, q, a, 13, func(v []driver.Value) error {
			f, err := findingOf(v)
			if err != nil {
				return err
			}
			if _, want := out[f.Key]; want {
				out[f.Key] = f
			}
			return nil
		})
	})
}
