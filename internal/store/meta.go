package store

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// SchemaVersion is the layout of the records this code reads and writes.
// A file written by a newer version is refused rather than misread.
const SchemaVersion = 1

const (
	metaSchema   = "schema_version"
	metaKeyCheck = "key_check"
)

// ErrWrongKey means the store was written under a secret_key that is
// neither the current one nor one of previous_keys.
var ErrWrongKey = errors.New("secret_key does not match the key this database was written with")

// CheckMeta verifies the schema version of a store and the key-check value
// of a realm, and records both on first use. current is the check value of
// the current key; previous are those of previous_keys. When the stored
// value matches a previous key, it is replaced by current: the key has been
// rotated. Each realm keeps its own value, so realms sharing a file may
// use different keys.
func CheckMeta(s Store, realm string, current []byte, previous [][]byte) error {
	keyCheck := metaKeyCheck + "\x00" + realm
	return s.Update(func(tx Tx) error {
		version, err := tx.Get(BucketMeta, metaSchema)
		if err != nil {
			return err
		}
		switch {
		case version == nil:
			var buf [8]byte
			binary.BigEndian.PutUint64(buf[:], SchemaVersion)
			if err := tx.Put(BucketMeta, metaSchema, buf[:], time.Time{}); err != nil {
				return err
			}
		case len(version) != 8:
			return fmt.Errorf("database schema version is damaged (%d bytes)", len(version))
		case binary.BigEndian.Uint64(version) > SchemaVersion:
			return fmt.Errorf("database schema version %d is newer than this build supports (%d): "+
				"upgrade the module", binary.BigEndian.Uint64(version), SchemaVersion)
		}

		stored, err := tx.Get(BucketMeta, keyCheck)
		if err != nil {
			return err
		}
		if stored == nil || subtle.ConstantTimeCompare(stored, current) == 1 {
			return tx.Put(BucketMeta, keyCheck, current, time.Time{})
		}
		for _, p := range previous {
			if subtle.ConstantTimeCompare(stored, p) == 1 {
				return tx.Put(BucketMeta, keyCheck, current, time.Time{})
			}
		}
		return ErrWrongKey
	})
}
