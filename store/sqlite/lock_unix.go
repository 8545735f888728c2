//go:build unix

package sqlite

import (
	"fmt"
	"os"
	"syscall"
)

// LockExecution takes the ledger's executor lock (an flock on LEDGER.lock),
// waiting for another process that holds it: only one process at a time
// executes steps from one ledger file, so a plan being run is never resumed
// concurrently. The kernel releases the lock when a process dies, so a
// killed run never blocks the next one.
func (d *DB) LockExecution() (unlock func(), err error) {
	f, err := os.OpenFile(d.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ledger lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("ledger lock: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
