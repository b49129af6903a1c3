package account

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// idleWriteInterval is how often the last use of a session is written to
// the store. Between writes it lives in memory, so a busy session costs one
// write a minute instead of one per request. A restart may therefore cut
// the idle time of a session short by up to this much.
const idleWriteInterval = time.Minute

// Session is a verified session of a user.
type Session struct {
	UserID     string    `json:"userId"`
	Method     string    `json:"method"`
	VerifiedAt time.Time `json:"verifiedAt"`
	LastUsed   time.Time `json:"lastUsed"`
}

// SessionPolicy sets how long a verified session lasts.
type SessionPolicy struct {
	TTL  time.Duration // after the second factor
	Idle time.Duration // after the last use
}

// expires returns when s stops being verified under p.
func (p SessionPolicy) expires(s *Session) time.Time {
	hard := s.VerifiedAt.Add(p.TTL)
	idle := s.LastUsed.Add(p.Idle)
	if idle.Before(hard) {
		return idle
	}
	return hard
}

// sessionPrefix returns the key prefix of every session of a user. The
// user id is base64url-encoded, so no id can run into the separator.
func sessionPrefix(userID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(userID)) + ":"
}

func sessionStoreKey(userID, sessionKey string) string {
	return sessionPrefix(userID) + sessionKey
}

// Sessions tracks verified sessions in the store, with an in-memory cache
// in front of it. A cache entry never outlives the stored session: every
// revocation goes through a Sessions sharing the cache, and a load that
// raced with a revocation of the same user is not cached.
type Sessions struct {
	Store  store.Store
	Policy SessionPolicy
	Now    func() time.Time
	// Cache is the cache shared by every Sessions of the same realm and
	// store. Nil: a private one, right only while no other Sessions
	// changes the same realm.
	Cache *SessionCache

	once sync.Once
}

// cache returns the Sessions' cache, creating a private one when none is set.
func (s *Sessions) cache() *SessionCache {
	s.once.Do(func() {
		if s.Cache == nil {
			s.Cache = &SessionCache{}
		}
	})
	return s.Cache
}

// maxVerifyAttempts bounds how often Verified reloads a session whose
// user changed while it read. Past it, Verified fails closed.
const maxVerifyAttempts = 5

// Verified returns the method that verified the session, and whether the
// session is verified for userID now. It records the use.
func (s *Sessions) Verified(userID, sessionKey string) (string, bool, error) {
	if userID == "" || sessionKey == "" {
		return "", false, nil
	}
	for range maxVerifyAttempts {
		method, ok, done, err := s.verifiedOnce(userID, sessionKey)
		if done || err != nil {
			return method, ok, err
		}
	}
	return "", false, nil
}

// verifiedOnce is one attempt of Verified. done is false when a
// transaction about the user ran meanwhile: what it read may predate a
// revocation, so the caller reads again.
func (s *Sessions) verifiedOnce(userID, sessionKey string) (method string, ok, done bool, err error) {
	now := s.Now()
	key := sessionStoreKey(userID, sessionKey)
	cache := s.cache()
	entry, hit, st := cache.get(userID, key)

	if !hit {
		session, err := s.load(key)
		if err != nil {
			return "", false, true, err
		}
		if session == nil {
			return "", false, cache.current(userID, st), nil
		}
		entry = cachedSession{session: *session, lastWritten: session.LastUsed}
	}
	if entry.session.UserID != userID || !now.Before(s.Policy.expires(&entry.session)) {
		cache.forget(userID, key)
		return "", false, true, nil
	}

	entry.session.LastUsed = now
	write := now.Sub(entry.lastWritten) >= idleWriteInterval
	if write {
		entry.lastWritten = now
	}
	if !cache.put(userID, key, entry, st) {
		return "", false, false, nil
	}
	if write {
		if err := s.touch(key, now); err != nil {
			return "", false, true, err
		}
	}
	return entry.session.Method, true, true, nil
}

func (s *Sessions) load(key string) (*Session, error) {
	var session *Session
	err := s.Store.View(func(tx store.Tx) error {
		var err error
		session, err = getSession(tx, key)
		return err
	})
	return session, err
}

// touch writes the last use of a stored session, unless it was revoked.
func (s *Sessions) touch(key string, now time.Time) error {
	return s.Store.Update(func(tx store.Tx) error {
		session, err := getSession(tx, key)
		if err != nil || session == nil {
			return err
		}
		if now.After(session.LastUsed) {
			session.LastUsed = now
		}
		return s.put(tx, key, session)
	})
}

func getSession(tx store.Tx, key string) (*Session, error) {
	raw, err := tx.Get(store.BucketSessions, key)
	if err != nil || raw == nil {
		return nil, err
	}
	var session Session
	if err := json.Unmarshal(raw, &session); err != nil {
		return nil, fmt.Errorf("decoding session record: %v", err)
	}
	return &session, nil
}

// put stores a session. The store keeps the record idleWriteInterval
// past its expiry, because uses between two idle writes live only in the
// cache: a due write must still find the record. Verified judges expiry
// from the record's own times, not from the store's.
func (s *Sessions) put(tx store.Tx, key string, session *Session) error {
	raw, err := json.Marshal(session)
	if err != nil {
		return fmt.Errorf("encoding session record: %v", err)
	}
	return tx.Put(store.BucketSessions, key, raw, s.Policy.expires(session).Add(idleWriteInterval))
}

// Verify marks a session verified by method now. Call it inside
// UpdateUser for the same user. When
// previousKey is set (the module cookie rotated), the record under it and
// its sudo tokens move to sessionKey.
func (s *Sessions) Verify(tx store.Tx, userID, sessionKey, previousKey, method string) error {
	now := s.Now()
	if previousKey != "" && previousKey != sessionKey {
		if err := tx.Delete(store.BucketSessions, sessionStoreKey(userID, previousKey)); err != nil {
			return err
		}
		if err := moveSudoTokens(tx, userID, previousKey, sessionKey); err != nil {
			return err
		}
		s.cache().forget(userID, sessionStoreKey(userID, previousKey))
	}
	session := &Session{UserID: userID, Method: method, VerifiedAt: now, LastUsed: now}
	s.cache().forget(userID, sessionStoreKey(userID, sessionKey))
	return s.put(tx, sessionStoreKey(userID, sessionKey), session)
}

// UpdateUser runs fn in a store transaction about one user. Every change
// to that user's sessions or sudo tokens must run inside it: the user's
// cached sessions are dropped both before fn runs and after the commit, so
// a concurrent Verified that read the old records cannot cache them.
func (s *Sessions) UpdateUser(userID string, fn func(tx store.Tx) error) error {
	s.bump(userID)
	defer s.bump(userID)
	return s.Store.Update(fn)
}

// BatchUser is UpdateUser on Store.Batch: concurrent calls may share one
// commit, and fn may run more than once (see store.Store.Batch).
func (s *Sessions) BatchUser(userID string, fn func(tx store.Tx) error) error {
	s.bump(userID)
	defer s.bump(userID)
	return s.Store.Batch(fn)
}

// Revoke ends one session's verification and its sudo tokens. Call it
// inside UpdateUser for the same user.
func (s *Sessions) Revoke(tx store.Tx, userID, sessionKey string) error {
	if err := tx.Delete(store.BucketSessions, sessionStoreKey(userID, sessionKey)); err != nil {
		return err
	}
	return revokeSudoTokens(tx, userID, func(t *SudoToken) bool { return t.SessionKey == sessionKey })
}

// RevokeUser ends every verified session and sudo token of a user except
// the session keepKey (may be empty). It also ends every login held for
// the user. Call it inside UpdateUser for the same user.
func (s *Sessions) RevokeUser(tx store.Tx, userID, keepKey string) error {
	var doomed []string
	err := tx.Scan(store.BucketSessions, sessionPrefix(userID), func(key string, _ []byte) error {
		if keepKey == "" || key != sessionStoreKey(userID, keepKey) {
			doomed = append(doomed, key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, key := range doomed {
		if err := tx.Delete(store.BucketSessions, key); err != nil {
			return err
		}
	}
	err = revokeSudoTokens(tx, userID, func(t *SudoToken) bool {
		return keepKey == "" || t.SessionKey != keepKey
	})
	if err != nil {
		return err
	}
	return revokeHeldLogins(tx, userID)
}

// bump drops the cached sessions of a user in the shared cache.
func (s *Sessions) bump(userID string) {
	s.cache().bump(userID)
}
