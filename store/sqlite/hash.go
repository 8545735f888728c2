package sqlite

import (
	"database/sql/driver"
	"fmt"

	"modernc.org/sqlite"
)

// keyHash is the 64-bit FNV-1a hash of a finding's key. The ledger indexes
// findings, and the decisions of a finding, by it rather than by the key:
// an index entry is a few bytes instead of the key's sixty, so the index
// has a fifth of the pages, and a batch's inserts, random in any key
// order, dirty (and write to the WAL) a fifth as many. The rows keep the
// key and every query compares it too: a collision costs a row read,
// never a wrong answer.
//
// It is stored in the ledger: never change it (migration 2 computed it for
// the rows it found).
func keyHash(key string) int64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return int64(h)
}

// keyHashSQL is the name of keyHash in the ledger's SQL, used by the
// migration that added the hashes and by the queries that look one key up.
const keyHashSQL = "reflex_key_hash"

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(keyHashSQL, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch k := args[0].(type) {
		case string:
			return keyHash(k), nil
		case []byte:
			return keyHash(string(k)), nil
		default:
			return nil, fmt.Errorf("%s(%T): want text", keyHashSQL, args[0])
		}
	})
}
