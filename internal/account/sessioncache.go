package account

import (
	"sync"
	"time"
)

// Bounds of a SessionCache. Past either, the whole cache starts afresh:
// it is a cache of the store, so emptying it only costs reads.
const (
	maxCachedSessions = 100_000
	maxTrackedUsers   = 100_000
)

// SessionCache keeps verified sessions of one realm of one store in
// memory. Every Sessions of that realm and store must share one, so a
// revocation through any handler drops what all of them read. It is safe
// for concurrent use; the zero value is ready.
type SessionCache struct {
	mu sync.Mutex
	// users maps a user id to that user's cached sessions by store key.
	users map[string]map[string]*cachedSession
	size  int
	// generations counts the transactions about each user; epoch counts
	// the times the whole cache started afresh. A reader that saw either
	// change while it loaded a session does not cache what it loaded.
	generations map[string]uint64
	epoch       uint64
}

type cachedSession struct {
	session     Session
	lastWritten time.Time
}

// stamp identifies the state of one user's cache entries at a moment.
type stamp struct{ epoch, generation uint64 }

// get returns a copy of a cached session and the user's stamp.
func (c *SessionCache) get(userID, key string) (cachedSession, bool, stamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := stamp{c.epoch, c.generations[userID]}
	if entry, ok := c.users[userID][key]; ok {
		return *entry, true, st
	}
	return cachedSession{}, false, st
}

// current reports whether the user's stamp is still st.
func (c *SessionCache) current(userID string, st stamp) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return st == stamp{c.epoch, c.generations[userID]}
}

// put caches entry unless the user's stamp moved since st, and reports
// whether it did.
func (c *SessionCache) put(userID, key string, entry cachedSession, st stamp) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st != (stamp{c.epoch, c.generations[userID]}) {
		return false
	}
	if c.size >= maxCachedSessions {
		c.users, c.size = nil, 0
	}
	if c.users == nil {
		c.users = map[string]map[string]*cachedSession{}
	}
	sessions := c.users[userID]
	if sessions == nil {
		sessions = map[string]*cachedSession{}
		c.users[userID] = sessions
	}
	if _, ok := sessions[key]; !ok {
		c.size++
	}
	sessions[key] = &entry
	return true
}

// forget drops one cached session.
func (c *SessionCache) forget(userID, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.users[userID][key]; ok {
		delete(c.users[userID], key)
		c.size--
	}
}

// bump drops the cached sessions of a user and moves the user's stamp, so
// a Verified call that loaded a session before the bump discards it.
func (c *SessionCache) bump(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.size -= len(c.users[userID])
	delete(c.users, userID)
	if c.generations == nil || len(c.generations) >= maxTrackedUsers {
		// Starting afresh moves every user's stamp at once.
		c.generations = map[string]uint64{}
		c.users, c.size = nil, 0
		c.epoch++
	}
	c.generations[userID]++
}
