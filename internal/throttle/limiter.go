package throttle

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// Limiter counts events per key in a sliding window, in memory, for the
// anonymous routes whose limits are per instance: at most one event per
// interval and at most perWindow events within any span of window. It is
// safe for concurrent use.
//
// Memory is bounded: it keeps at most maxKeys keys, each with at most
// max(perWindow, 1) event times. When a new key arrives at a full Limiter,
// the least recently used key is evicted, denied requests counting as use.
// An evicted key loses its history, so it can again take perWindow events
// in a window it had already used up. That is the only way a key exceeds
// its limit, and it needs maxKeys other keys to be used after the key's own
// last request. So while fewer than maxKeys distinct keys are active within
// one window, every limit holds exactly. Beyond that, each eviction of a
// key gives it at most one extra allowance of perWindow events.
type Limiter struct {
	mu      sync.Mutex
	maxKeys int
	entries map[string]*list.Element // values are *limiterEntry
	recency *list.List               // front is the most recently used
}

// limiterEntry is the history of one key.
type limiterEntry struct {
	key    string
	events []time.Time // oldest first
}

// NewLimiter returns a Limiter that keeps at most maxKeys keys. A maxKeys
// below 1 is treated as 1.
func NewLimiter(maxKeys int) *Limiter {
	maxKeys = max(maxKeys, 1)
	return &Limiter{
		maxKeys: maxKeys,
		entries: make(map[string]*list.Element),
		recency: list.New(),
	}
}

// Allow reports how long key must wait before its next event at now, and
// records the event when that wait is zero. A request with a nonzero wait is
// not recorded and should get 429. An interval <= 0 disables the spacing
// and a perWindow <= 0 disables the window limit. Callers that use one
// Limiter for several routes put the route in the key, because the history
// of a key is kept only for the interval and window of its latest call.
func (l *Limiter) Allow(key string, now time.Time, interval time.Duration, perWindow int, window time.Duration) (wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()

	entry := l.touch(key)

	wait = slidingWait(entry.events, now, interval, perWindow, window)
	if wait > 0 {
		return wait
	}

	entry.events = record(entry.events, now, max(interval, window), max(perWindow, 1))
	return 0
}

// Len returns the number of keys the Limiter keeps, at most maxKeys.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// touch returns the entry of key, created if needed, and marks it as the
// most recently used. Creating an entry in a full Limiter evicts the least
// recently used one. The caller holds l.mu.
func (l *Limiter) touch(key string) *limiterEntry {
	if element, ok := l.entries[key]; ok {
		l.recency.MoveToFront(element)
		return element.Value.(*limiterEntry)
	}

	for len(l.entries) >= l.maxKeys {
		oldest := l.recency.Back()
		l.recency.Remove(oldest)
		delete(l.entries, oldest.Value.(*limiterEntry).key)
	}

	entry := &limiterEntry{key: key}
	l.entries[key] = l.recency.PushFront(entry)
	return entry
}

// ClientKey returns the Limiter key of a client address. An IPv4 address
// is used as it is, and an IPv4-mapped IPv6 address as its IPv4 address.
// Any other IPv6 address is cut to its /64 prefix ("2001:db8::/64"),
// because a host can pick new addresses within its /64 at will (SLAAC
// privacy addresses). A zone is ignored. The zero Addr gives "", so
// clients whose address could not be parsed share one key.
func ClientKey(ip netip.Addr) string {
	ip = ip.WithZone("").Unmap()
	switch {
	case !ip.IsValid():
		return ""
	case ip.Is4():
		return ip.String()
	}

	prefix, err := ip.Prefix(64)
	if err != nil {
		return "" // unreachable: every IPv6 address has a /64 prefix
	}
	return prefix.String()
}
