package sqlite

// migrations are the schema versions, applied in order, each once, in a
// transaction with its row in schema_migrations. Never edit a released
// migration: add the next one.
var migrations = []string{
	// 1: findings, decisions, the step journal, approvals, the audit trail,
	// blast-radius counters. Times are Unix nanoseconds (UTC).
	`
CREATE TABLE findings (
	key        TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	region     TEXT NOT NULL,
	id         TEXT NOT NULL,
	type       TEXT NOT NULL,
	severity   REAL NOT NULL,
	sample     INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	count      INTEGER NOT NULL,
	revision   INTEGER NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	raw        BLOB
);
CREATE TABLE decisions (
	id          TEXT PRIMARY KEY,
	finding_key TEXT NOT NULL,
	revision    INTEGER NOT NULL,
	account_id  TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	mode        TEXT NOT NULL,
	status      TEXT NOT NULL,
	summary     TEXT NOT NULL,
	expires_at  INTEGER NOT NULL,
	plan        BLOB
);
CREATE INDEX decisions_finding ON decisions(finding_key, created_at);
-- only the few decisions that still need something are indexed by status
CREATE INDEX decisions_open ON decisions(status) WHERE status IN ('pending-approval', 'approved', 'running');
CREATE TABLE steps (
	key         TEXT PRIMARY KEY,
	decision_id TEXT NOT NULL,
	finding_key TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	name        TEXT NOT NULL,
	target      TEXT NOT NULL,
	params      BLOB,
	state       TEXT NOT NULL,
	attempts    INTEGER NOT NULL,
	prior       BLOB,
	result      BLOB,
	reason      TEXT NOT NULL,
	planned_at  INTEGER NOT NULL,
	started_at  INTEGER NOT NULL,
	ended_at    INTEGER NOT NULL
);
CREATE INDEX steps_decision ON steps(decision_id, seq);
CREATE INDEX steps_finding ON steps(finding_key);
CREATE TABLE approvals (
	decision_id TEXT NOT NULL,
	verdict     TEXT NOT NULL,
	by_whom     TEXT NOT NULL,
	reason      TEXT NOT NULL,
	at          INTEGER NOT NULL
);
CREATE INDEX approvals_decision ON approvals(decision_id);
CREATE TABLE events (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	at          INTEGER NOT NULL,
	kind        TEXT NOT NULL,
	finding_key TEXT NOT NULL,
	decision_id TEXT NOT NULL,
	step_key    TEXT NOT NULL,
	actor       TEXT NOT NULL,
	message     TEXT NOT NULL,
	data        BLOB
);
CREATE INDEX events_finding ON events(finding_key);
CREATE TABLE budget (
	scope  TEXT NOT NULL,
	window INTEGER NOT NULL,
	count  INTEGER NOT NULL,
	PRIMARY KEY (scope, window)
);
`,
	// 2: findings are indexed by the hash of their key (reflex_key_hash,
	// see keyHash), and decisions by the hash of their finding's key: the
	// TEXT keys made indexes five times larger, and each batch's random
	// inserts dirtied nearly all their pages, almost half of what a batch
	// wrote to the WAL. The key's uniqueness, which the findings' primary
	// key enforced, is Record's: it reads the batch's keys inside its write
	// transaction and inserts only those absent. The findings keep their
	// rowids (their listing order).
	`
CREATE TABLE findings_v2 (
	key        TEXT NOT NULL,
	account_id TEXT NOT NULL,
	region     TEXT NOT NULL,
	id         TEXT NOT NULL,
	type       TEXT NOT NULL,
	severity   REAL NOT NULL,
	sample     INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	count      INTEGER NOT NULL,
	revision   INTEGER NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	raw        BLOB,
	key_hash   INTEGER NOT NULL
);
INSERT INTO findings_v2(rowid, key, account_id, region, id, type, severity, sample, updated_at, count, revision, first_seen, last_seen, raw, key_hash)
	SELECT rowid, key, account_id, region, id, type, severity, sample, updated_at, count, revision, first_seen, last_seen, raw, reflex_key_hash(key)
	FROM findings ORDER BY rowid;
DROP TABLE findings;
ALTER TABLE findings_v2 RENAME TO findings;
CREATE INDEX findings_key ON findings(key_hash);
DROP INDEX decisions_finding;
ALTER TABLE decisions ADD COLUMN finding_hash INTEGER NOT NULL DEFAULT 0;
UPDATE decisions SET finding_hash = reflex_key_hash(finding_key);
CREATE INDEX decisions_finding ON decisions(finding_hash, created_at);
`,
}
