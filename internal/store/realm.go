package store

import (
	"time"
)

// WithRealm returns a view of s in which every key of every bucket but
// BucketMeta is prefixed with the realm's name, so two handlers that share
// a file keep apart users with the same id.
func WithRealm(s Store, realm string) Store {
	return realmStore{s: s, prefix: realm + "\x00"}
}

type realmStore struct {
	s      Store
	prefix string
}

func (r realmStore) View(fn func(Tx) error) error {
	return r.s.View(func(tx Tx) error { return fn(realmTx{tx, r.prefix}) })
}

func (r realmStore) Update(fn func(Tx) error) error {
	return r.s.Update(func(tx Tx) error { return fn(realmTx{tx, r.prefix}) })
}

func (r realmStore) Batch(fn func(Tx) error) error {
	return r.s.Batch(func(tx Tx) error { return fn(realmTx{tx, r.prefix}) })
}

type realmTx struct {
	tx     Tx
	prefix string
}

func (r realmTx) key(bucket, key string) string {
	if bucket == BucketMeta {
		return key
	}
	return r.prefix + key
}

func (r realmTx) Get(bucket, key string) ([]byte, error) {
	return r.tx.Get(bucket, r.key(bucket, key))
}

func (r realmTx) Put(bucket, key string, value []byte, expires time.Time) error {
	return r.tx.Put(bucket, r.key(bucket, key), value, expires)
}

func (r realmTx) Delete(bucket, key string) error {
	return r.tx.Delete(bucket, r.key(bucket, key))
}

func (r realmTx) Scan(bucket, prefix string, fn func(key string, value []byte) error) error {
	full := r.key(bucket, prefix)
	cut := len(full) - len(prefix)
	return r.tx.Scan(bucket, full, func(key string, value []byte) error {
		return fn(key[cut:], value)
	})
}

// maxRealmLength bounds a realm's name, which also names its generated
// key file.
const maxRealmLength = 64

// ValidRealm reports whether name can be used as a realm: 1 to 64 ASCII
// letters, digits, '.', '_' or '-', not starting with '.'. The name becomes
// part of a key file's name, so it must not hold a path separator.
func ValidRealm(name string) bool {
	if name == "" || len(name) > maxRealmLength || name[0] == '.' {
		return false
	}
	for _, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}
