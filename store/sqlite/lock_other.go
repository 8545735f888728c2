//go:build !unix

package sqlite

// LockExecution is a no-op where flock is not available: run one executor
// per ledger file there.
func (d *DB) LockExecution() (unlock func(), err error) { return func() {}, nil }
