package account

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/testkit"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// t0 is the fake clock's start, on a whole minute so that offsets read easily.
var t0 = time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)

// fakeClock is the shared fake clock of the tests.
type fakeClock = testkit.Clock

// newSessions returns Sessions on a real bbolt file whose expiry uses the
// same fake clock, behind the default realm.
func newSessions(t *testing.T, policy SessionPolicy) (*Sessions, *fakeClock) {
	t.Helper()
	clock := testkit.NewClock(t0)
	db, err := store.OpenBolt(filepath.Join(t.TempDir(), "twofactor.db"), store.BoltOptions{Now: clock.Now})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	s := &Sessions{Store: store.WithRealm(db, "default"), Policy: policy, Now: clock.Now}
	return s, clock
}

var defaultPolicy = SessionPolicy{TTL: 12 * time.Hour, Idle: 30 * time.Minute}

// verify marks a session verified in its own UpdateUser.
func verify(t *testing.T, s *Sessions, userID, key, previous, method string) {
	t.Helper()
	err := s.UpdateUser(userID, func(tx store.Tx) error {
		return s.Verify(tx, userID, key, previous, method)
	})
	if err != nil {
		t.Fatalf("Verify(%q, %q): %v", userID, key, err)
	}
}

// verified calls Verified and fails the test on an error.
func verified(t *testing.T, s *Sessions, userID, key string) (string, bool) {
	t.Helper()
	method, ok, err := s.Verified(userID, key)
	if err != nil {
		t.Fatalf("Verified(%q, %q): %v", userID, key, err)
	}
	return method, ok
}

// storedSession reads a session record straight from the store.
func storedSession(t *testing.T, s *Sessions, userID, key string) *Session {
	t.Helper()
	var session *Session
	err := s.Store.View(func(tx store.Tx) error {
		var err error
		session, err = getSession(tx, sessionStoreKey(userID, key))
		return err
	})
	if err != nil {
		t.Fatalf("reading session: %v", err)
	}
	return session
}

func putSudo(t *testing.T, s *Sessions, mac string, token *SudoToken) {
	t.Helper()
	err := s.Store.Update(func(tx store.Tx) error { return PutSudoToken(tx, mac, token) })
	if err != nil {
		t.Fatalf("PutSudoToken: %v", err)
	}
}

func getSudo(t *testing.T, s *Sessions, mac string) *SudoToken {
	t.Helper()
	var token *SudoToken
	err := s.Store.View(func(tx store.Tx) error {
		var err error
		token, err = GetSudoToken(tx, mac)
		return err
	})
	if err != nil {
		t.Fatalf("GetSudoToken: %v", err)
	}
	return token
}

func TestVerifiedUnknownSession(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	verify(t, s, "alice", "key-a", "", MethodTOTP)

	tests := []struct{ user, key string }{
		{"", "key-a"},
		{"alice", ""},
		{"alice", "key-other"},
		{"bob", "key-a"},
	}
	for _, tt := range tests {
		if _, ok := verified(t, s, tt.user, tt.key); ok {
			t.Errorf("Verified(%q, %q) = true, want false", tt.user, tt.key)
		}
	}
}

func TestVerifiedAfterVerify(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	verify(t, s, "alice", "key-a", "", MethodRecoveryCode)

	method, ok := verified(t, s, "alice", "key-a")
	if !ok {
		t.Fatal("Verified = false after Verify, want true")
	}
	if method != MethodRecoveryCode {
		t.Errorf("method = %q, want %q", method, MethodRecoveryCode)
	}
}

func TestVerifiedTTLExpiry(t *testing.T) {
	policy := SessionPolicy{TTL: time.Hour, Idle: 30 * time.Minute}
	s, clock := newSessions(t, policy)
	verify(t, s, "alice", "key-a", "", MethodTOTP)

	// A use every 20 minutes keeps the idle limit away, but the TTL still ends the session.
	for elapsed := 20 * time.Minute; elapsed < time.Hour; elapsed += 20 * time.Minute {
		clock.Advance(20 * time.Minute)
		if _, ok := verified(t, s, "alice", "key-a"); !ok {
			t.Fatalf("Verified at +%v = false, want true", elapsed)
		}
	}
	clock.Advance(20 * time.Minute) // +60m: exactly the TTL
	if _, ok := verified(t, s, "alice", "key-a"); ok {
		t.Error("Verified at the TTL = true, want false")
	}
	// The store keeps a record idleWriteInterval past its expiry, for a
	// due idle write; after that it is gone.
	clock.Advance(idleWriteInterval)
	if got := storedSession(t, s, "alice", "key-a"); got != nil {
		t.Errorf("stored session a minute after the TTL = %+v, want none", got)
	}
}

func TestVerifiedIdleExpiry(t *testing.T) {
	s, clock := newSessions(t, defaultPolicy)
	verify(t, s, "alice", "key-a", "", MethodTOTP)

	clock.Advance(30*time.Minute - time.Nanosecond)
	if _, ok := verified(t, s, "alice", "key-a"); !ok {
		t.Fatal("Verified just before the idle limit = false, want true")
	}
	clock.Advance(30 * time.Minute)
	if _, ok := verified(t, s, "alice", "key-a"); ok {
		t.Error("Verified 30 minutes after the last use = true, want false")
	}
}

func TestVerifiedIdleExpiryFromStore(t *testing.T) {
	// A second Sessions on the same store has an empty cache, as after a
	// restart: the stored record alone must expire the session.
	s, clock := newSessions(t, defaultPolicy)
	verify(t, s, "alice", "key-a", "", MethodTOTP)
	fresh := &Sessions{Store: s.Store, Policy: s.Policy, Now: s.Now}

	clock.Advance(29 * time.Minute)
	if _, ok := verified(t, fresh, "alice", "key-a"); !ok {
		t.Fatal("Verified from the store at +29m = false, want true")
	}
	other := &Sessions{Store: s.Store, Policy: s.Policy, Now: s.Now}
	clock.Advance(time.Minute + 30*time.Minute)
	if _, ok := verified(t, other, "alice", "key-a"); ok {
		t.Error("Verified from the store after the idle limit = true, want false")
	}
}

func TestVerifiedIdleWriteOncePerMinute(t *testing.T) {
	s, clock := newSessions(t, defaultPolicy)
	verify(t, s, "alice", "key-a", "", MethodTOTP)

	steps := []struct {
		advance   time.Duration
		wantSaved time.Duration // stored LastUsed, as an offset from t0
	}{
		{10 * time.Second, 0},
		{20 * time.Second, 0},                 // +30s
		{31 * time.Second, 61 * time.Second},  // +61s: a minute since the last write
		{29 * time.Second, 61 * time.Second},  // +90s
		{30 * time.Second, 61 * time.Second},  // +120s: 59s since +61s
		{1 * time.Second, 121 * time.Second},  // +121s: a minute since +61s
		{1 * time.Second, 121 * time.Second},  // +122s
		{5 * time.Minute, 422 * time.Second},  // +422s
		{59 * time.Second, 422 * time.Second}, // +481s
	}
	for _, step := range steps {
		clock.Advance(step.advance)
		if _, ok := verified(t, s, "alice", "key-a"); !ok {
			t.Fatalf("Verified at %v = false, want true", clock.Now().Sub(t0))
		}
		got := storedSession(t, s, "alice", "key-a")
		if got == nil {
			t.Fatalf("stored session at %v missing", clock.Now().Sub(t0))
		}
		if want := t0.Add(step.wantSaved); !got.LastUsed.Equal(want) {
			t.Errorf("stored LastUsed at %v = %v, want %v",
				clock.Now().Sub(t0), got.LastUsed.Sub(t0), want.Sub(t0))
		}
	}
}

func TestVerifiedIdleWriteNearExpiry(t *testing.T) {
	// The session is used at +59s (not written: under a minute since the
	// verification) and again at +30m1s, within 30 minutes of that use. The
	// write due then finds the stored record already expired (its expiry
	// is +30m) and writes nothing, so the session lives only in the cache.
	s, clock := newSessions(t, defaultPolicy)
	verify(t, s, "alice", "key-a", "", MethodTOTP)
	clock.Advance(59 * time.Second)
	verified(t, s, "alice", "key-a")
	clock.Advance(30*time.Minute - 58*time.Second)
	if _, ok := verified(t, s, "alice", "key-a"); !ok {
		t.Fatal("Verified at +30m1s = false, want true: the last use was at +59s")
	}

	// Any change to the user drops the cache. The session was used a
	// second ago, so it must still be verified.
	if err := s.UpdateUser("alice", func(store.Tx) error { return nil }); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	clock.Advance(time.Second)
	if _, ok := verified(t, s, "alice", "key-a"); !ok {
		t.Error("Verified at +30m2s after a cache drop = false, want true: the last use was at +30m1s")
	}
}

func TestVerifiedRecordOfAnotherUser(t *testing.T) {
	// A record under alice's key that names bob must not verify alice.
	s, _ := newSessions(t, defaultPolicy)
	err := s.Store.Update(func(tx store.Tx) error {
		forged := &Session{UserID: "bob", Method: MethodTOTP, VerifiedAt: t0, LastUsed: t0}
		return s.put(tx, sessionStoreKey("alice", "key-a"), forged)
	})
	if err != nil {
		t.Fatalf("storing forged record: %v", err)
	}
	if _, ok := verified(t, s, "alice", "key-a"); ok {
		t.Error("Verified(alice) with a record naming bob = true, want false")
	}
	if _, ok := verified(t, s, "bob", "key-a"); ok {
		t.Error("Verified(bob) with a record stored under alice = true, want false")
	}
}

func TestSessionPrefixSeparatesUsers(t *testing.T) {
	// User ids that share a prefix, or contain the separator, must not
	// reach each other's sessions in a prefix scan.
	s, _ := newSessions(t, defaultPolicy)
	verify(t, s, "a", "k", "", MethodTOTP)
	verify(t, s, "a:k", "x", "", MethodTOTP)
	verify(t, s, "ab", "k", "", MethodTOTP)

	err := s.UpdateUser("a", func(tx store.Tx) error { return s.RevokeUser(tx, "a", "") })
	if err != nil {
		t.Fatalf("RevokeUser: %v", err)
	}
	if _, ok := verified(t, s, "a", "k"); ok {
		t.Error("Verified(a) after RevokeUser(a) = true, want false")
	}
	for _, user := range []struct{ id, key string }{{"a:k", "x"}, {"ab", "k"}} {
		if _, ok := verified(t, s, user.id, user.key); !ok {
			t.Errorf("Verified(%q) after RevokeUser(a) = false, want true", user.id)
		}
	}
}

func TestVerifyRotationMovesSession(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	verify(t, s, "alice", "key-old", "", MethodTOTP)
	expires := t0.Add(5 * time.Minute)
	putSudo(t, s, "mac-old", &SudoToken{UserID: "alice", SessionKey: "key-old", Method: MethodTOTP, Expires: expires})
	putSudo(t, s, "mac-other", &SudoToken{UserID: "alice", SessionKey: "key-other", Method: MethodTOTP, Expires: expires})
	putSudo(t, s, "mac-bob", &SudoToken{UserID: "bob", SessionKey: "key-old", Method: MethodTOTP, Expires: expires})
	if _, ok := verified(t, s, "alice", "key-old"); !ok {
		t.Fatal("old session not verified before the rotation")
	}

	verify(t, s, "alice", "key-new", "key-old", MethodRecoveryCode)

	if _, ok := verified(t, s, "alice", "key-old"); ok {
		t.Error("old key still verified after the rotation")
	}
	if method, ok := verified(t, s, "alice", "key-new"); !ok || method != MethodRecoveryCode {
		t.Errorf("new key: Verified = %q, %v, want %q, true", method, ok, MethodRecoveryCode)
	}
	if got := getSudo(t, s, "mac-old"); got == nil || got.SessionKey != "key-new" {
		t.Errorf("sudo token of the rotated session = %+v, want it bound to key-new", got)
	}
	if got := getSudo(t, s, "mac-other"); got == nil || got.SessionKey != "key-other" {
		t.Errorf("sudo token of another session = %+v, want it left on key-other", got)
	}
	if got := getSudo(t, s, "mac-bob"); got == nil || got.SessionKey != "key-old" {
		t.Errorf("sudo token of another user = %+v, want it left on key-old", got)
	}
}

func TestVerifyRestartsTTL(t *testing.T) {
	policy := SessionPolicy{TTL: time.Hour, Idle: time.Hour}
	s, clock := newSessions(t, policy)
	verify(t, s, "alice", "key-a", "", MethodTOTP)
	clock.Advance(50 * time.Minute)
	verify(t, s, "alice", "key-a", "", MethodTOTP)
	clock.Advance(50 * time.Minute)
	if _, ok := verified(t, s, "alice", "key-a"); !ok {
		t.Error("Verified 50 minutes after a second Verify = false, want true")
	}
}

func TestRevokeOneSession(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	verify(t, s, "alice", "key-a", "", MethodTOTP)
	verify(t, s, "alice", "key-b", "", MethodTOTP)
	expires := t0.Add(5 * time.Minute)
	putSudo(t, s, "mac-a", &SudoToken{UserID: "alice", SessionKey: "key-a", Expires: expires})
	putSudo(t, s, "mac-b", &SudoToken{UserID: "alice", SessionKey: "key-b", Expires: expires})
	verified(t, s, "alice", "key-a") // fill the cache

	err := s.UpdateUser("alice", func(tx store.Tx) error { return s.Revoke(tx, "alice", "key-a") })
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if _, ok := verified(t, s, "alice", "key-a"); ok {
		t.Error("revoked session still verified")
	}
	if _, ok := verified(t, s, "alice", "key-b"); !ok {
		t.Error("other session no longer verified after Revoke of key-a")
	}
	if got := getSudo(t, s, "mac-a"); got != nil {
		t.Errorf("sudo token of the revoked session = %+v, want none", got)
	}
	if got := getSudo(t, s, "mac-b"); got == nil {
		t.Error("sudo token of the other session was deleted")
	}
}

func TestRevokeUserKeepsCaller(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	for _, key := range []string{"key-a", "key-b", "key-c"} {
		verify(t, s, "alice", key, "", MethodTOTP)
		verified(t, s, "alice", key) // fill the cache
	}
	verify(t, s, "bob", "key-b", "", MethodTOTP)
	expires := t0.Add(5 * time.Minute)
	tokens := map[string]*SudoToken{
		"mac-a1": {UserID: "alice", SessionKey: "key-a", Expires: expires},
		"mac-a2": {UserID: "alice", SessionKey: "key-a", Expires: expires},
		"mac-b":  {UserID: "alice", SessionKey: "key-b", Expires: expires},
		"mac-c":  {UserID: "alice", SessionKey: "key-c", Expires: expires},
		"mac-0":  {UserID: "alice", SessionKey: "", Expires: expires},
		"mac-x":  {UserID: "bob", SessionKey: "key-b", Expires: expires},
	}
	for mac, token := range tokens {
		putSudo(t, s, mac, token)
	}

	err := s.UpdateUser("alice", func(tx store.Tx) error { return s.RevokeUser(tx, "alice", "key-a") })
	if err != nil {
		t.Fatalf("RevokeUser: %v", err)
	}

	sessions := []struct {
		user, key string
		want      bool
	}{
		{"alice", "key-a", true},
		{"alice", "key-b", false},
		{"alice", "key-c", false},
		{"bob", "key-b", true},
	}
	for _, tt := range sessions {
		if _, ok := verified(t, s, tt.user, tt.key); ok != tt.want {
			t.Errorf("Verified(%q, %q) after RevokeUser = %v, want %v", tt.user, tt.key, ok, tt.want)
		}
	}
	kept := map[string]bool{"mac-a1": true, "mac-a2": true, "mac-x": true}
	for mac := range tokens {
		if got := getSudo(t, s, mac) != nil; got != kept[mac] {
			t.Errorf("sudo token %s kept = %v, want %v", mac, got, kept[mac])
		}
	}
}

func TestRevokeUserWithoutKeep(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	verify(t, s, "alice", "key-a", "", MethodTOTP)
	verify(t, s, "alice", "key-b", "", MethodTOTP)
	putSudo(t, s, "mac-a", &SudoToken{UserID: "alice", SessionKey: "key-a", Expires: t0.Add(time.Minute)})

	err := s.UpdateUser("alice", func(tx store.Tx) error { return s.RevokeUser(tx, "alice", "") })
	if err != nil {
		t.Fatalf("RevokeUser: %v", err)
	}
	for _, key := range []string{"key-a", "key-b"} {
		if _, ok := verified(t, s, "alice", key); ok {
			t.Errorf("Verified(alice, %q) after RevokeUser without a kept key = true, want false", key)
		}
	}
	if got := getSudo(t, s, "mac-a"); got != nil {
		t.Errorf("sudo token after RevokeUser without a kept key = %+v, want none", got)
	}
}

func TestCacheNeverOutlivesRevocation(t *testing.T) {
	revocations := []struct {
		name   string
		revoke func(s *Sessions, tx store.Tx) error
	}{
		{"Revoke", func(s *Sessions, tx store.Tx) error { return s.Revoke(tx, "alice", "key-a") }},
		{"RevokeUser", func(s *Sessions, tx store.Tx) error { return s.RevokeUser(tx, "alice", "key-z") }},
		{"RevokeUserAll", func(s *Sessions, tx store.Tx) error { return s.RevokeUser(tx, "alice", "") }},
	}
	for _, rv := range revocations {
		t.Run(rv.name, func(t *testing.T) {
			s, clock := newSessions(t, defaultPolicy)
			verify(t, s, "alice", "key-a", "", MethodTOTP)
			// Two hits fill the cache and make the next call a cache hit.
			verified(t, s, "alice", "key-a")
			clock.Advance(time.Second)
			verified(t, s, "alice", "key-a")

			err := s.UpdateUser("alice", func(tx store.Tx) error { return rv.revoke(s, tx) })
			if err != nil {
				t.Fatalf("revoking: %v", err)
			}
			if _, ok := verified(t, s, "alice", "key-a"); ok {
				t.Error("Verified after the revocation = true, want false")
			}
		})
	}
}

func TestVerifiedConcurrentWithRevokeUser(t *testing.T) {
	// Readers call Verified in a loop while the user's sessions are revoked
	// several times. A call that starts after UpdateUser returned must
	// see the revocation, whatever the readers cached in between.
	s, _ := newSessions(t, defaultPolicy)
	const readers = 8
	const rounds = 20
	keys := []string{"key-a", "key-b", "key-c"}

	for round := 0; round < rounds; round++ {
		for _, key := range keys {
			verify(t, s, "alice", key, "", MethodTOTP)
		}
		var revoked atomic.Bool
		var stale atomic.Int64
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for i := 0; i < readers; i++ {
			wg.Add(1)
			go func(key string) {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					after := revoked.Load()
					_, ok, err := s.Verified("alice", key)
					if err != nil {
						t.Errorf("Verified: %v", err)
						return
					}
					if after && ok {
						stale.Add(1)
					}
				}
			}(keys[i%len(keys)])
		}
		err := s.UpdateUser("alice", func(tx store.Tx) error { return s.RevokeUser(tx, "alice", "") })
		if err != nil {
			t.Fatalf("RevokeUser: %v", err)
		}
		revoked.Store(true)
		close(stop)
		wg.Wait()

		if n := stale.Load(); n > 0 {
			t.Fatalf("round %d: %d Verified calls after RevokeUser returned true", round, n)
		}
		for _, key := range keys {
			if _, ok := verified(t, s, "alice", key); ok {
				t.Fatalf("round %d: %s verified after RevokeUser", round, key)
			}
		}
	}
}

func TestVerifiedConcurrentWithVerify(t *testing.T) {
	// Parallel verifications and checks of many users must neither race
	// nor mix users up. Each goroutine has a user of its own, because a
	// change to the same user can make Verified miss (see
	// TestVerifiedDuringOtherUpdate).
	s, _ := newSessions(t, defaultPolicy)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			user := fmt.Sprintf("user-%d", i)
			key := fmt.Sprintf("key-%d", i)
			err := s.UpdateUser(user, func(tx store.Tx) error {
				return s.Verify(tx, user, key, "", MethodTOTP)
			})
			if err != nil {
				t.Errorf("Verify: %v", err)
				return
			}
			for j := 0; j < 20; j++ {
				if _, ok, err := s.Verified(user, key); err != nil || !ok {
					t.Errorf("Verified(%s, %s) = %v, %v, want true", user, key, ok, err)
					return
				}
				if _, ok, _ := s.Verified("user-x", key); ok {
					t.Errorf("Verified(user-x, %s) = true, want false", key)
					return
				}
			}
		}(i)
	}
	wg.Wait()
}

// viewHookStore runs a hook once, at the start of the next View, to place
// another transaction between the steps of a call under test.
type viewHookStore struct {
	store.Store
	hook func()
}

func (h *viewHookStore) View(fn func(store.Tx) error) error {
	if h.hook != nil {
		hook := h.hook
		h.hook = nil // once
		hook()
	}
	return h.Store.View(fn)
}

func TestVerifiedDuringOtherUpdate(t *testing.T) {
	// Another request of the same user (a TOTP guess from another device,
	// say) changes the user while Verified loads this session from the
	// store. Nothing about this session changed, so it is still verified.
	s, _ := newSessions(t, defaultPolicy)
	verify(t, s, "alice", "key-a", "", MethodTOTP)
	hooked := &viewHookStore{Store: s.Store}
	s.Store = hooked
	hooked.hook = func() {
		if err := s.UpdateUser("alice", func(store.Tx) error { return nil }); err != nil {
			t.Errorf("UpdateUser: %v", err)
		}
	}

	if _, ok := verified(t, s, "alice", "key-a"); !ok {
		t.Error("Verified = false for a verified session while another change of its user ran")
	}
}

func TestVerifiedStoreUnavailable(t *testing.T) {
	clock := testkit.NewClock(t0)
	db, err := store.OpenBolt(filepath.Join(t.TempDir(), "twofactor.db"), store.BoltOptions{Now: clock.Now})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	s := &Sessions{Store: store.WithRealm(db, "default"), Policy: defaultPolicy, Now: clock.Now}
	verify(t, s, "alice", "key-a", "", MethodTOTP)
	db.Close()

	_, ok, err := s.Verified("alice", "key-a")
	if err == nil {
		t.Fatal("Verified on a closed store: no error")
	}
	if ok {
		t.Error("Verified on a closed store = true, want false")
	}
}

func TestSharedCacheRevocation(t *testing.T) {
	a, clock := newSessions(t, defaultPolicy)
	b := &Sessions{Store: a.Store, Policy: defaultPolicy, Now: clock.Now, Cache: a.cache()}
	verify(t, a, "alice", "key-a", "", MethodTOTP)
	if _, ok := verified(t, b, "alice", "key-a"); !ok {
		t.Fatal("Verified through the second Sessions = false, want true")
	}
	err := a.UpdateUser("alice", func(tx store.Tx) error { return a.RevokeUser(tx, "alice", "") })
	if err != nil {
		t.Fatalf("RevokeUser: %v", err)
	}
	if _, ok := verified(t, b, "alice", "key-a"); ok {
		t.Error("Verified through the second Sessions after a revocation through the first = true, want false")
	}
}
