package account

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/caddy-twofactor/caddy-twofactor/internal/testkit"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// benchSessions is the number of stored sessions the cold benchmark cycles
// through.
const benchSessions = 1000

// newBenchSessions returns Sessions on a real bbolt file with a clock
// fixed at t0, so no idle write falls due while a benchmark runs, and
// stores benchSessions verified sessions of user "alice" under the keys
// benchKey(i).
func newBenchSessions(b *testing.B) *Sessions {
	b.Helper()
	clock := testkit.NewClock(t0)
	db, err := store.OpenBolt(filepath.Join(b.TempDir(), "twofactor.db"), store.BoltOptions{Now: clock.Now})
	if err != nil {
		b.Fatalf("OpenBolt: %v", err)
	}
	b.Cleanup(func() { db.Close() })
	s := &Sessions{Store: store.WithRealm(db, "default"), Policy: defaultPolicy, Now: clock.Now}
	err = s.UpdateUser("alice", func(tx store.Tx) error {
		for i := range benchSessions {
			if err := s.Verify(tx, "alice", benchKey(i), "", MethodTOTP); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("storing sessions: %v", err)
	}
	return s
}

func benchKey(i int) string { return fmt.Sprintf("session-key-%04d", i) }

// BenchmarkSessionsVerified measures the session check of the gate in
// three cases. A hit is a cached session: every request of a verified
// session after its first. A stored miss is a session not yet cached, as
// after a restart. An absent miss is a session never verified, which
// reads the store on every call. The hit case runs in parallel because
// its cost is the cache's lock.
func BenchmarkSessionsVerified(b *testing.B) {
	b.Run("hit", func(b *testing.B) {
		s := newBenchSessions(b)
		if !wantVerified(b, s, benchKey(0)) {
			return
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() && wantVerified(b, s, benchKey(0)) {
			}
		})
	})
	b.Run("miss stored", func(b *testing.B) {
		stored := newBenchSessions(b)
		b.ReportAllocs()
		var s *Sessions
		i := 0
		for b.Loop() {
			// A new Sessions has an empty cache: each pass over the keys
			// reads every one of them from bbolt again.
			if i%benchSessions == 0 {
				s = &Sessions{Store: stored.Store, Policy: stored.Policy, Now: stored.Now}
			}
			if !wantVerified(b, s, benchKey(i%benchSessions)) {
				return
			}
			i++
		}
	})
	b.Run("miss absent", func(b *testing.B) {
		s := newBenchSessions(b)
		b.ReportAllocs()
		for b.Loop() {
			_, ok, err := s.Verified("alice", "never-verified")
			if err != nil || ok {
				b.Fatalf("Verified of an unknown session = %v, %v, want false, nil", ok, err)
			}
		}
	})
}

// wantVerified checks that the session under key is verified by TOTP. It
// reports a failure with Errorf, which parallel goroutines may call, and
// returns false so the caller stops.
func wantVerified(b *testing.B, s *Sessions, key string) bool {
	method, ok, err := s.Verified("alice", key)
	if err != nil || !ok || method != MethodTOTP {
		b.Errorf("Verified(%q) = %q, %v, %v, want %s, true, nil", key, method, ok, err, MethodTOTP)
		return false
	}
	return true
}
