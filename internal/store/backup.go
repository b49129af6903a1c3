package store

import (
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the whole database file, every realm
// included, to w. The copy comes from one read transaction, so writers go
// on meanwhile. size, when not nil, gets the copy's length in bytes before
// the first byte is written, for a Content-Length. Backup returns the
// number of bytes written.
func (b *Bolt) Backup(w io.Writer, size func(int64)) (int64, error) {
	var n int64
	err := b.db.View(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("copying database %s: %w", b.Path(), err)
	}
	return n, nil
}
