package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// DefaultOpenTimeout is how long Open waits for the file lock of another process.
const DefaultOpenTimeout = 5 * time.Second

// batchDelay is how long a Batch call waits for others to share its
// commit. It is about one commit on an SSD (an estimate: two fdatasync
// calls), so a batch gathers the calls that arrive while the previous
// commit waits for the disk. bbolt's own default, 10 ms, held 16
// concurrent TOTP verifications to about 1,200 a second, where 2 ms let
// them reach 3,500 on the same disk.
const batchDelay = 2 * time.Millisecond

// Each value is stored behind an 8-byte header: its expiry in Unix
// nanoseconds, big-endian, 0 for none.
const headerSize = 8

// Bolt is the bbolt implementation of Store.
type Bolt struct {
	db  *bolt.DB
	now func() time.Time
}

// BoltOptions configures OpenBolt.
type BoltOptions struct {
	// Timeout for the file lock. Default: DefaultOpenTimeout.
	Timeout time.Duration
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// OpenBolt opens or creates the database file at path (mode 0600, its
// folder 0700) and creates the buckets. It fails after opts.Timeout when
// another process holds the file's lock.
func OpenBolt(path string, opts BoltOptions) (*Bolt, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultOpenTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the folder of database %s: %v", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("opening database %s: another process holds its lock "+
			"(waited %s); stop that process or set db to another file", path, opts.Timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %v", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range Buckets {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("creating buckets in %s: %v", path, err)
	}
	db.MaxBatchDelay = batchDelay
	return &Bolt{db: db, now: opts.Now}, nil
}

// Path returns the database file's path.
func (b *Bolt) Path() string { return b.db.Path() }

// Close closes the file. Transactions still running block it.
func (b *Bolt) Close() error { return b.db.Close() }

// View implements Store.
func (b *Bolt) View(fn func(Tx) error) error {
	return b.wrap(b.db.View(func(tx *bolt.Tx) error {
		return fn(&boltTx{tx: tx, now: b.now()})
	}))
}

// Update implements Store.
func (b *Bolt) Update(fn func(Tx) error) error {
	return b.wrap(b.db.Update(func(tx *bolt.Tx) error {
		return fn(&boltTx{tx: tx, now: b.now()})
	}))
}

// Batch implements Store with bbolt's DB.Batch. A call waits up to
// batchDelay for others to join it.
func (b *Bolt) Batch(fn func(Tx) error) error {
	return b.wrap(b.db.Batch(func(tx *bolt.Tx) error {
		return fn(&boltTx{tx: tx, now: b.now()})
	}))
}

func (b *Bolt) wrap(err error) error {
	var txErr txError
	if errors.As(err, &txErr) {
		return fmt.Errorf("%w: %v", ErrUnavailable, txErr.err)
	}
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) || errors.Is(err, bolterrors.ErrDatabaseReadOnly) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

// sweepBatch bounds the records one sweep transaction visits, so a sweep
// holds bbolt's single writer lock only briefly and verifications wait
// behind it for at most one batch.
const sweepBatch = 1000

// Sweep deletes every expired record and returns how many it deleted. It
// skips the buckets whose records never expire (meta and users) and works
// in transactions of at most sweepBatch records.
func (b *Bolt) Sweep() (int, error) {
	deleted := 0
	for _, name := range Buckets {
		if name == BucketMeta || name == BucketUsers {
			continue
		}
		var start []byte
		for {
			n, next, err := b.sweepBatch(name, start)
			deleted += n
			if err != nil {
				return deleted, b.wrap(err)
			}
			if next == nil {
				break
			}
			start = next
		}
	}
	return deleted, nil
}

// sweepBatch deletes the expired records among at most sweepBatch records
// of a bucket from start on, and returns the key to go on from, nil at the
// end of the bucket.
func (b *Bolt) sweepBatch(name string, start []byte) (int, []byte, error) {
	deleted := 0
	var next []byte
	err := b.db.Update(func(tx *bolt.Tx) error {
		bucket := tx.Bucket([]byte(name))
		if bucket == nil {
			return nil
		}
		now := b.now().UnixNano()
		c := bucket.Cursor()
		k, v := c.First()
		if start != nil {
			k, v = c.Seek(start)
		}
		for visited := 0; k != nil && visited < sweepBatch; visited++ {
			if !expired(v, now) {
				k, v = c.Next()
				continue
			}
			key := bytes.Clone(k)
			if err := c.Delete(); err != nil {
				return err
			}
			deleted++
			k, v = c.Seek(key)
		}
		if k != nil {
			next = bytes.Clone(k)
		}
		return nil
	})
	return deleted, next, err
}

// txError marks failures of bbolt itself, as opposed to errors of fn.
type txError struct{ err error }

func (e txError) Error() string { return e.err.Error() }

type boltTx struct {
	tx  *bolt.Tx
	now time.Time
}

func (t *boltTx) bucket(name string) (*bolt.Bucket, error) {
	b := t.tx.Bucket([]byte(name))
	if b == nil {
		return nil, fmt.Errorf("unknown bucket %q", name)
	}
	return b, nil
}

func (t *boltTx) Get(bucket, key string) ([]byte, error) {
	b, err := t.bucket(bucket)
	if err != nil {
		return nil, err
	}
	v := b.Get([]byte(key))
	if v == nil || expired(v, t.now.UnixNano()) {
		return nil, nil
	}
	return v[headerSize:], nil
}

func (t *boltTx) Put(bucket, key string, value []byte, expires time.Time) error {
	b, err := t.bucket(bucket)
	if err != nil {
		return err
	}
	record := make([]byte, headerSize+len(value))
	if !expires.IsZero() {
		binary.BigEndian.PutUint64(record, uint64(expires.UnixNano()))
	}
	copy(record[headerSize:], value)
	if err := b.Put([]byte(key), record); err != nil {
		return txError{err}
	}
	return nil
}

func (t *boltTx) Delete(bucket, key string) error {
	b, err := t.bucket(bucket)
	if err != nil {
		return err
	}
	if err := b.Delete([]byte(key)); err != nil {
		return txError{err}
	}
	return nil
}

func (t *boltTx) Scan(bucket, prefix string, fn func(key string, value []byte) error) error {
	b, err := t.bucket(bucket)
	if err != nil {
		return err
	}
	now := t.now.UnixNano()
	c := b.Cursor()
	p := []byte(prefix)
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if expired(v, now) {
			continue
		}
		if err := fn(string(k), v[headerSize:]); err != nil {
			return err
		}
	}
	return nil
}

// expired reports whether a stored record is past its expiry at now (Unix
// nanoseconds). A record shorter than its header is treated as expired, so
// a damaged value is never read.
func expired(record []byte, now int64) bool {
	if len(record) < headerSize {
		return true
	}
	at := int64(binary.BigEndian.Uint64(record))
	return at != 0 && at <= now
}

var _ Store = (*Bolt)(nil)
