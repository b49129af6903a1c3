package account

import (
	"strings"
	"sync"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// The email index (store.BucketEmails) maps a folded address to the id of
// the user it belongs to, so the password reset guard, which gets only an
// address, can tell whether that account has 2FA on. Identity sources are
// authoritative: the address they last reported for a user names that
// user. Email OTP addresses fill gaps only.

// maxIndexedEmail is the longest address indexed, in bytes: the path limit
// of RFC 5321. Longer values are no address any mail system delivers to.
const maxIndexedEmail = 254

// FoldEmail returns the form addresses are compared and indexed in:
// trimmed and case-folded, as api.FoldAddress.
func FoldEmail(address string) string {
	return strings.ToLower(strings.TrimSpace(address))
}

// indexable reports whether a folded address may be a key of the index:
// at most maxIndexedEmail bytes, with an "@" and no control character.
func indexable(folded string) bool {
	if folded == "" || len(folded) > maxIndexedEmail || !strings.Contains(folded, "@") {
		return false
	}
	return !strings.ContainsFunc(folded, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// reverseKey is the key under which the index keeps the address last
// reported for a user. No indexable address starts with NUL, so the two
// kinds of keys never meet.
func reverseKey(userID string) string {
	return "\x00" + userID
}

// IndexEmail records that the identity source reported address for
// userID: the address names that user from now on. Addresses reported for
// the user before keep naming the user until another user claims them,
// because an identity cached before an email change may report the old
// address after the new one: dropping either would let a password reset
// of it skip the user's second factor. An address that cannot be indexed
// is ignored. It reports whether it wrote anything.
func IndexEmail(tx store.Tx, userID, address string) (bool, error) {
	folded := FoldEmail(address)
	if userID == "" || !indexable(folded) {
		return false, nil
	}
	owner, err := tx.Get(store.BucketEmails, folded)
	if err != nil {
		return false, err
	}
	previous, err := tx.Get(store.BucketEmails, reverseKey(userID))
	if err != nil {
		return false, err
	}
	if string(owner) == userID && string(previous) == folded {
		return false, nil
	}
	if err := tx.Put(store.BucketEmails, folded, []byte(userID), time.Time{}); err != nil {
		return false, err
	}
	return true, tx.Put(store.BucketEmails, reverseKey(userID), []byte(folded), time.Time{})
}

// IndexEmailIfAbsent maps address to userID unless the index has the
// address already. It is for addresses a user proved to receive mail at
// (email OTP), which never override what the identity source reported.
func IndexEmailIfAbsent(tx store.Tx, userID, address string) error {
	folded := FoldEmail(address)
	if userID == "" || !indexable(folded) {
		return nil
	}
	owner, err := tx.Get(store.BucketEmails, folded)
	if err != nil || owner != nil {
		return err
	}
	return tx.Put(store.BucketEmails, folded, []byte(userID), time.Time{})
}

// UserByEmail returns the id of the user an address names, or "" when the
// index does not know it.
func UserByEmail(tx store.Tx, address string) (string, error) {
	folded := FoldEmail(address)
	if !indexable(folded) {
		return "", nil
	}
	owner, err := tx.Get(store.BucketEmails, folded)
	return string(owner), err
}

// maxRememberedEmails bounds EmailIndex's memory; past it, the memory is
// emptied, which costs one read per user on their next request.
const maxRememberedEmails = 100_000

// EmailIndex keeps the index current from the identities of requests
// without a store write per request: it remembers, per user, the address
// it last found or wrote, and touches the store only when a request
// reports another one. It is safe for concurrent use.
type EmailIndex struct {
	Store store.Store

	mu      sync.Mutex
	seen    map[string]string // user id -> folded address known to be indexed
	missing bool              // an identity without an address was reported
}

// FirstMissing reports true once, on the first call: callers log once that
// the identity source gave a user without an address.
func (x *EmailIndex) FirstMissing() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	first := !x.missing
	x.missing = true
	return first
}

// Observe records that a request of userID came with address.
func (x *EmailIndex) Observe(userID, address string) error {
	folded := FoldEmail(address)
	if userID == "" || !indexable(folded) {
		return nil
	}
	x.mu.Lock()
	known := x.seen[userID] == folded
	x.mu.Unlock()
	if known {
		return nil
	}

	current := false
	err := x.Store.View(func(tx store.Tx) error {
		owner, err := tx.Get(store.BucketEmails, folded)
		if err != nil {
			return err
		}
		previous, err := tx.Get(store.BucketEmails, reverseKey(userID))
		current = string(owner) == userID && string(previous) == folded
		return err
	})
	if err != nil {
		return err
	}
	if !current {
		err = x.Store.Update(func(tx store.Tx) error {
			_, err := IndexEmail(tx, userID, folded)
			return err
		})
		if err != nil {
			return err
		}
	}

	x.mu.Lock()
	if x.seen == nil || len(x.seen) >= maxRememberedEmails {
		x.seen = map[string]string{}
	}
	x.seen[userID] = folded
	x.mu.Unlock()
	return nil
}
