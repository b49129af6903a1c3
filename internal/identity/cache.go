package identity

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"sync"
	"time"
)

// credentialHeaders holds the headers an introspection request carries: every
// Cookie header and every Authorization header that is not a module token,
// in the order the client sent them.
type credentialHeaders struct {
	cookie        []string
	authorization []string
}

// credentialHeadersOf collects the credential headers of r. Module tokens are
// left out so that they never reach the app.
func credentialHeadersOf(r *http.Request) credentialHeaders {
	var h credentialHeaders
	if r == nil {
		return h
	}
	h.cookie = headerValues(r.Header, headerCookie)
	for _, value := range headerValues(r.Header, headerAuthorization) {
		if !IsModuleToken(value) {
			h.authorization = append(h.authorization, value)
		}
	}
	return h
}

func (h credentialHeaders) empty() bool {
	return len(h.cookie) == 0 && len(h.authorization) == 0
}

// copyTo sets the credential headers on an outgoing request's header, one
// header line per value, as the client sent them.
func (h credentialHeaders) copyTo(dst http.Header) {
	if len(h.cookie) > 0 {
		dst[headerCookie] = append([]string(nil), h.cookie...)
	}
	if len(h.authorization) > 0 {
		dst[headerAuthorization] = append([]string(nil), h.authorization...)
	}
}

// cacheKey is the SHA-256 of every header name and value, each prefixed by
// its length so that no two header sets share an encoding.
func (h credentialHeaders) cacheKey() [sha256.Size]byte {
	digest := sha256.New()
	write := func(s string) {
		var length [8]byte
		binary.BigEndian.PutUint64(length[:], uint64(len(s)))
		digest.Write(length[:])
		digest.Write([]byte(s))
	}
	for _, value := range h.cookie {
		write(headerCookie)
		write(value)
	}
	for _, value := range h.authorization {
		write(headerAuthorization)
		write(value)
	}

	var key [sha256.Size]byte
	digest.Sum(key[:0])
	return key
}

// identityCache maps credential hashes to logged-in identities. It is safe
// for concurrent use and holds at most capacity entries. Every entry has the
// same time to live, so insertion order is expiry order: the front of the
// list is both the oldest entry and the first to expire.
type identityCache struct {
	mu       sync.Mutex
	entries  map[[sha256.Size]byte]*list.Element
	order    *list.List // of *cacheEntry, oldest first
	capacity int
	forgets  uint64 // number of forget calls
}

type cacheEntry struct {
	key      [sha256.Size]byte
	identity Identity
	expires  time.Time
}

func newIdentityCache(capacity int) *identityCache {
	return &identityCache{
		entries:  make(map[[sha256.Size]byte]*list.Element),
		order:    list.New(),
		capacity: capacity,
	}
}

// get returns a copy of the unexpired identity cached under key.
func (c *identityCache) get(key [sha256.Size]byte, now time.Time) (*Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()

	element, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	entry := element.Value.(*cacheEntry)
	if !now.Before(entry.expires) {
		c.remove(element)
		return nil, false
	}
	id := entry.identity
	return &id, true
}

// generation returns a value for put to compare, so that a lookup that
// started before a forget does not store an identity the forget dropped.
func (c *identityCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.forgets
}

// put caches id under key for ttl from now, unless forget ran since the
// lookup read generation. It first drops expired entries, then the oldest
// while the cache is full.
func (c *identityCache) put(key [sha256.Size]byte, id Identity, now time.Time, ttl time.Duration,
	generation uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()

	if generation != c.forgets {
		return
	}
	if element, ok := c.entries[key]; ok {
		c.remove(element)
	}

	for front := c.order.Front(); front != nil; front = c.order.Front() {
		if now.Before(front.Value.(*cacheEntry).expires) && c.order.Len() < c.capacity {
			break
		}
		c.remove(front)
	}
	entry := &cacheEntry{key: key, identity: id, expires: now.Add(ttl)}
	c.entries[key] = c.order.PushBack(entry)
}

// forget drops the entry under key and stops lookups in flight from caching.
func (c *identityCache) forget(key [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()

	c.forgets++
	if element, ok := c.entries[key]; ok {
		c.remove(element)
	}
}

func (c *identityCache) remove(element *list.Element) {
	delete(c.entries, element.Value.(*cacheEntry).key)
	c.order.Remove(element)
}
