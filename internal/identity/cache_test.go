package identity

import (
	"context"
	"crypto/sha256"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/testkit"
)

// cachedSource returns an introspect source with a fake clock, backed by an
// app that returns user u1, and the app server with its call counter.
func cachedSource(t *testing.T, cfg IntrospectConfig) (*Introspect, *fakeClock, *appServer) {
	t.Helper()
	app := newAppServer(t, respondJSON(200, `{"id": "u1", "email": "a@example.com"}`))
	clock := testkit.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg.URL = app.URL
	cfg.Now = clock.Now
	return newIntrospect(t, cfg), clock, app
}

func mustResolve(t *testing.T, source *Introspect, cookie string) *Identity {
	t.Helper()
	result, err := resolveCookie(source, cookie)
	if err != nil {
		t.Fatalf("Resolve error = %v, want nil", err)
	}
	return result.Identity
}

func checkCalls(t *testing.T, app *appServer, want int64) {
	t.Helper()
	if got := app.calls.Load(); got != want {
		t.Errorf("app calls = %d, want %d", got, want)
	}
}

func TestIntrospectCacheHitAndExpiry(t *testing.T) {
	source, clock, app := cachedSource(t, IntrospectConfig{})

	mustResolve(t, source, "sid=a")
	clock.Advance(29 * time.Second)
	if id := mustResolve(t, source, "sid=a"); id == nil || id.UserID != "u1" || id.Email != "a@example.com" {
		t.Errorf("cached Identity = %+v, want u1 with email", id)
	}
	checkCalls(t, app, 1)

	clock.Advance(time.Second)
	mustResolve(t, source, "sid=a")
	checkCalls(t, app, 2)
}

func TestIntrospectCacheKeyedByCredential(t *testing.T) {
	source, _, app := cachedSource(t, IntrospectConfig{})

	mustResolve(t, source, "sid=a")
	mustResolve(t, source, "sid=b")
	mustResolve(t, source, "sid=a; theme=dark")
	checkCalls(t, app, 3)

	// The same values split differently across headers are another key.
	r := requestWith(http.Header{"Cookie": {"sid=a", "theme=dark"}})
	if _, err := source.Resolve(context.Background(), r, Credentials{Any: true}); err != nil {
		t.Fatalf("Resolve error = %v, want nil", err)
	}
	checkCalls(t, app, 4)
}

func TestIntrospectCacheDisabled(t *testing.T) {
	source, _, app := cachedSource(t, IntrospectConfig{Cache: durationPtr(0)})

	mustResolve(t, source, "sid=a")
	mustResolve(t, source, "sid=a")
	checkCalls(t, app, 2)
}

func TestIntrospectCacheReturnsCopy(t *testing.T) {
	source, _, _ := cachedSource(t, IntrospectConfig{})

	mustResolve(t, source, "sid=a").UserID = "mallory"
	if id := mustResolve(t, source, "sid=a"); id.UserID != "u1" {
		t.Errorf("UserID = %q after the caller changed a copy, want u1", id.UserID)
	}
}

func TestIntrospectNotLoggedInNotCached(t *testing.T) {
	var loggedIn atomic.Bool
	app := newAppServer(t, func(w http.ResponseWriter, r *http.Request) {
		if loggedIn.Load() {
			respondJSON(200, `{"id": "u1"}`)(w, r)
		} else {
			respondJSON(401, `{}`)(w, r)
		}
	})
	source := newIntrospect(t, IntrospectConfig{URL: app.URL})

	if id := mustResolve(t, source, "sid=a"); id != nil {
		t.Fatalf("Identity = %+v before login, want nil", id)
	}
	loggedIn.Store(true)
	if id := mustResolve(t, source, "sid=a"); id == nil || id.UserID != "u1" {
		t.Errorf("Identity = %+v after login, want u1", id)
	}
	checkCalls(t, app, 2)
}

func TestIntrospectAnonymousIDNotCached(t *testing.T) {
	source, _, app := cachedSource(t, IntrospectConfig{AnonymousID: []string{"u1"}})

	mustResolve(t, source, "sid=a")
	mustResolve(t, source, "sid=a")
	checkCalls(t, app, 2)
}

func TestIntrospectForget(t *testing.T) {
	source, _, app := cachedSource(t, IntrospectConfig{})

	mustResolve(t, source, "sid=a")
	mustResolve(t, source, "sid=b")
	source.Forget(requestWith(http.Header{"Cookie": {"sid=a"}}))
	mustResolve(t, source, "sid=a")
	mustResolve(t, source, "sid=b")
	checkCalls(t, app, 3)

	// Forget without credentials or without a cache does nothing.
	source.Forget(requestWith(http.Header{}))
	uncached, _, _ := cachedSource(t, IntrospectConfig{Cache: durationPtr(0)})
	uncached.Forget(requestWith(http.Header{"Cookie": {"sid=a"}}))
}

// A lookup in flight while Forget runs must not cache the response it got
// before the logout.
func TestIntrospectForgetDuringLookup(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	var calls atomic.Int64
	app := newAppServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			arrived <- struct{}{}
			<-release
		}
		respondJSON(200, `{"id": "u1"}`)(w, r)
	})
	source := newIntrospect(t, IntrospectConfig{URL: app.URL})

	done := make(chan error, 1)
	go func() {
		_, err := resolveCookie(source, "sid=a")
		done <- err
	}()
	<-arrived
	source.Forget(requestWith(http.Header{"Cookie": {"sid=a"}}))
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Resolve error = %v, want nil", err)
	}

	mustResolve(t, source, "sid=a")
	checkCalls(t, app, 2)
}

func TestIntrospectConcurrent(t *testing.T) {
	source, clock, _ := cachedSource(t, IntrospectConfig{CacheEntries: 4})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cookie := "sid=" + string(rune('a'+i%6))
			for range 20 {
				if _, err := resolveCookie(source, cookie); err != nil {
					t.Errorf("Resolve error = %v, want nil", err)
					return
				}
				source.Forget(requestWith(http.Header{"Cookie": {cookie}}))
				clock.Advance(time.Second)
			}
		}()
	}
	wg.Wait()
}

func TestIdentityCacheEviction(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ttl := 30 * time.Second
	key := func(n byte) [sha256.Size]byte { return [sha256.Size]byte{n} }
	cache := newIdentityCache(2)

	cache.put(key(1), Identity{UserID: "1"}, start, ttl, 0)
	cache.put(key(2), Identity{UserID: "2"}, start.Add(20*time.Second), ttl, 0)
	// Entry 1 has expired, so it makes room and entry 2 stays.
	cache.put(key(3), Identity{UserID: "3"}, start.Add(35*time.Second), ttl, 0)
	// The cache is full of live entries, so the oldest (2) goes.
	cache.put(key(4), Identity{UserID: "4"}, start.Add(36*time.Second), ttl, 0)

	now := start.Add(40 * time.Second)
	for n, want := range map[byte]bool{1: false, 2: false, 3: true, 4: true} {
		if _, ok := cache.get(key(n), now); ok != want {
			t.Errorf("entry %d cached = %v, want %v", n, ok, want)
		}
	}
	if got := cache.order.Len(); got != 2 {
		t.Errorf("entries = %d, want 2", got)
	}
}

func TestIdentityCacheReplace(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	key := [sha256.Size]byte{1}
	cache := newIdentityCache(2)

	cache.put(key, Identity{UserID: "old"}, start, time.Minute, 0)
	cache.put(key, Identity{UserID: "new"}, start, time.Minute, 0)
	if id, ok := cache.get(key, start); !ok || id.UserID != "new" {
		t.Errorf("get = %+v, %v, want new", id, ok)
	}
	if got := cache.order.Len(); got != 1 {
		t.Errorf("entries = %d, want 1", got)
	}
}

func TestIdentityCacheStaleGeneration(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	key := [sha256.Size]byte{1}
	cache := newIdentityCache(2)

	generation := cache.generation()
	cache.forget([sha256.Size]byte{2})
	cache.put(key, Identity{UserID: "u"}, start, time.Minute, generation)
	if _, ok := cache.get(key, start); ok {
		t.Error("entry stored after a forget, want it dropped")
	}
}
