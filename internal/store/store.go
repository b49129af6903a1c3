// Package store keeps the module's state: a small transactional key-value
// interface with a bbolt implementation. Every check-and-consume of a
// single-use value happens inside one Update, which is what makes parallel
// requests with the same code succeed exactly once.
package store

import (
	"errors"
	"time"
)

// Buckets. Each record lives under its realm (see WithRealm), except Meta.
const (
	BucketMeta      = "meta"      // schema version and key-check value, per file
	BucketUsers     = "users"     // user id -> User
	BucketEmails    = "emails"    // folded address -> user id
	BucketSessions  = "sessions"  // user id ‖ session key -> Session
	BucketSudo      = "sudo"      // HMAC of sudo token -> SudoToken
	BucketSudoIndex = "sudoIndex" // user id ‖ HMAC of sudo token -> empty, to find a user's tokens
	BucketAudit     = "audit"     // time-ordered audit events
	BucketSends     = "sends"     // folded address -> mails sent to it in the last hour
	BucketAddresses = "addresses" // folded address -> guess counter of the password reset routes
	BucketTransfers = "transfers" // user id -> account-email changes started in the last hour
	BucketHeld      = "held"      // HMAC of partial token -> sealed login answer held until 2FA
)

// Buckets lists every bucket an implementation must create.
var Buckets = []string{BucketMeta, BucketUsers, BucketEmails, BucketSessions, BucketSudo, BucketSudoIndex,
	BucketAudit, BucketSends, BucketAddresses, BucketTransfers, BucketHeld}

// ErrUnavailable wraps failures of the storage itself (mapped to 503 STORE_UNAVAILABLE).
var ErrUnavailable = errors.New("store unavailable")

// Store runs transactions. Implementations must be safe for concurrent use
// and serialise Update transactions, or give them compare-and-swap
// semantics that retry fn on conflict (fn must then be free of side
// effects outside tx).
type Store interface {
	// View runs fn in a read-only transaction.
	View(fn func(Tx) error) error
	// Update runs fn in a read-write transaction and commits when fn
	// returns nil; any error rolls back every write of fn.
	Update(fn func(Tx) error) error
	// Batch is Update for callers that may share one commit with
	// concurrent Batch calls, which raises throughput when commits wait
	// for the disk. fn may run more than once, after the writes of other
	// calls in the same transaction. So it must read what it checks
	// inside tx, set every result it reports outside tx afresh on each
	// run, and have no other effects. A failing fn rolls back its own
	// writes only, as with Update.
	Batch(fn func(Tx) error) error
}

// Tx reads and writes records in one transaction. Values are only valid
// until the transaction ends: copy them to keep them.
type Tx interface {
	// Get returns the value of key, or nil when it is missing or expired.
	Get(bucket, key string) ([]byte, error)
	// Put stores value under key. A zero expires keeps it until deleted;
	// otherwise Get treats it as missing after that time and the sweeper
	// deletes it.
	Put(bucket, key string, value []byte, expires time.Time) error
	// Delete removes key; a missing key is no error.
	Delete(bucket, key string) error
	// Scan calls fn for every live key that starts with prefix, in key
	// order. fn must not write to the same bucket.
	Scan(bucket, prefix string, fn func(key string, value []byte) error) error
}
