package api

import (
	"crypto/rand"
	"crypto/sha1"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// Shape of BenchmarkAuthenticateTOTP. Each user passes TOTP at most once
// per time step (a code is single use), so the benchmark walks through
// benchUsers users per step and then moves the clock on one step.
// benchUsers is far above the number of goroutines, so a user's next
// verification never starts before its previous one ended.
const (
	benchUsers       = 1024
	benchParallelism = 8 // goroutines per GOMAXPROCS: requests in flight
)

// stepClock is a clock that is at the start of a TOTP time step after t0
// and only moves forward. It is safe for concurrent use.
type stepClock struct{ step atomic.Int64 }

func (c *stepClock) Now() time.Time {
	return t0.Add(time.Duration(c.step.Load()) * 30 * time.Second)
}

// reach moves the clock to step unless it is already there or later.
func (c *stepClock) reach(step int64) {
	for {
		current := c.step.Load()
		if current >= step || c.step.CompareAndSwap(current, step) {
			return
		}
	}
}

// benchSecret returns a user's TOTP secret, derived from the id.
func benchSecret(userID string) []byte {
	sum := sha1.Sum([]byte("bench secret " + userID))
	return sum[:]
}

func benchUserID(i int) string { return fmt.Sprintf("user-%04d", i) }

// newBenchServer returns a Server wired as the Caddy handler wires it, on a
// real bbolt file, with benchUsers users whose TOTP is on. The users are
// written directly in one transaction: enrolling them through the API
// would cost two commits each before the benchmark starts.
func newBenchServer(b *testing.B, clock *stepClock) *Server {
	b.Helper()
	db, err := store.OpenBolt(filepath.Join(b.TempDir(), "twofactor.db"), store.BoltOptions{Now: clock.Now})
	if err != nil {
		b.Fatalf("OpenBolt: %v", err)
	}
	b.Cleanup(func() { db.Close() })
	keys, err := crypto.Derive([]byte(strings.Repeat("bench secret key ", 2)))
	if err != nil {
		b.Fatalf("Derive: %v", err)
	}
	realm := store.WithRealm(db, "default")
	s := &Server{
		Store: realm,
		Keys:  &crypto.Keyring{Current: keys},
		Sessions: &account.Sessions{
			Store:  realm,
			Policy: account.SessionPolicy{TTL: 12 * time.Hour, Idle: 30 * time.Minute},
			Now:    clock.Now,
		},
		Config: Config{Skew: 1, SudoTTL: 5 * time.Minute},
		Now:    clock.Now,
		Random: rand.Reader,
		Logger: zap.NewNop(),
	}
	err = realm.Update(func(tx store.Tx) error {
		for i := range benchUsers {
			id := benchUserID(i)
			sealed, err := keys.Seal(benchSecret(id), totpAD(id))
			if err != nil {
				return err
			}
			u := &account.User{ID: id, TOTP: &account.TOTP{SealedSecret: sealed, Skew: 1, CompletedAt: t0}}
			if err := account.SaveUser(tx, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("storing users: %v", err)
	}
	return s
}

// benchCaller is a caller whose credential is a cookie, so a pass rotates
// the module cookie as it does for the demo app.
func benchCaller(s *Server, userID string) *Caller {
	rekey := func(moduleCookie string) string {
		return s.Keys.Current.MAC("session", userID, "module cookie", moduleCookie)
	}
	return &Caller{UserID: userID, HasCredential: true, SessionKey: rekey("m0"), Rekey: rekey,
		ClientIP: "127.0.0.1"}
}

// BenchmarkAuthenticateTOTP measures TOTP verification end to end against
// a real bbolt file: the guess slot, the code check, the user record and
// verified session written, and a sudo token minted, all committed to
// disk. benchParallelism × GOMAXPROCS requests are in flight at once,
// each for another user, so no throttle interferes. Codes come from the
// tests' own RFC 6238 implementation. It reports verifications/s.
func BenchmarkAuthenticateTOTP(b *testing.B) {
	clock := &stepClock{}
	s := newBenchServer(b, clock)
	callers := make([]*Caller, benchUsers)
	for i := range callers {
		callers[i] = benchCaller(s, benchUserID(i))
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			step := i / benchUsers
			clock.reach(step)
			c := callers[i%benchUsers]
			code := totpCode(benchSecret(c.UserID), t0.Add(time.Duration(step)*30*time.Second))
			v, e := s.AuthenticateTOTP(c, code)
			if e != nil {
				b.Errorf("AuthenticateTOTP of %s at step %d: %v", c.UserID, step, e)
				return
			}
			if v.SudoToken == "" {
				b.Errorf("AuthenticateTOTP of %s: no sudo token", c.UserID)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}
