package gate

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// newBenchGate returns a Gate wired as the Caddy handler wires it, on a
// real bbolt file and the real clock, with the given identity source and
// carriers.
func newBenchGate(b *testing.B, source identity.Source, carriers []identity.Carrier) *Gate {
	b.Helper()
	db, err := store.OpenBolt(filepath.Join(b.TempDir(), "twofactor.db"), store.BoltOptions{})
	if err != nil {
		b.Fatalf("OpenBolt: %v", err)
	}
	b.Cleanup(func() { db.Close() })
	keys, err := crypto.Derive([]byte(strings.Repeat("gate bench secret ", 2)))
	if err != nil {
		b.Fatalf("Derive: %v", err)
	}
	realm := store.WithRealm(db, "default")
	return &Gate{
		Store: realm,
		Keys:  &crypto.Keyring{Current: keys},
		Sessions: &account.Sessions{
			Store:  realm,
			Policy: account.SessionPolicy{TTL: 12 * time.Hour, Idle: 30 * time.Minute},
			Now:    time.Now,
		},
		Source:   source,
		Logger:   zap.NewNop(),
		Now:      time.Now,
		Carriers: carriers,
		UIPath:   "/user/2fa/ui",
		IsHTTPS:  func(r *http.Request) bool { return r.TLS != nil },
		ClientIP: func(*http.Request) string { return "127.0.0.1" },
	}
}

// verifyBenchSession resolves a request with header, stores its user with
// TOTP on and its session verified by TOTP, and returns the user id.
func verifyBenchSession(b *testing.B, g *Gate, header http.Header) string {
	b.Helper()
	r := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
	r.Header = header.Clone()
	res, e := g.Resolve(r.Context(), r)
	if e != nil || res.Identity == nil || res.Caller.SessionKey == "" {
		b.Fatalf("Resolve = %+v, %v, want a user with a session key", res, e)
	}
	c := res.Caller
	err := g.Sessions.UpdateUser(c.UserID, func(tx store.Tx) error {
		err := account.SaveUser(tx, &account.User{
			ID:   c.UserID,
			TOTP: &account.TOTP{SealedSecret: []byte("sealed"), CompletedAt: time.Now()},
		})
		if err != nil {
			return err
		}
		return g.Sessions.Verify(tx, c.UserID, c.SessionKey, "", account.MethodTOTP)
	})
	if err != nil {
		b.Fatalf("verifying the session: %v", err)
	}
	return c.UserID
}

// runGate measures Resolve and Check of a request with header on a
// verified session, in parallel. Check strips module parts from the
// request it passes, so each round starts from a fresh copy of header.
// The copy is part of the measured time.
func runGate(b *testing.B, g *Gate, header http.Header, userID string) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
		for pb.Next() {
			r.Header = header.Clone()
			res, e := g.Resolve(r.Context(), r)
			if e != nil {
				b.Errorf("Resolve: %v", e)
				return
			}
			if d := g.Check(r, res); d.UserID != userID || d.Error != nil || d.Redirect != "" {
				b.Errorf("Check = %+v, want a pass of user %s", d, userID)
				return
			}
		}
	})
}

// BenchmarkGateVerified measures the gate's work on a request of a
// verified session, with two identity sources. The JWT source gets a
// bearer token with a session claim. The introspect source gets a session
// cookie plus the module cookie, and its cache already contains them, so
// no request reaches the app. The session check hits the Sessions cache
// in both.
func BenchmarkGateVerified(b *testing.B) {
	b.Run("jwt", func(b *testing.B) {
		secret := []byte(strings.Repeat("j", 32))
		source, err := identity.NewJWT(identity.JWTConfig{HMACSecret: secret, SessionClaim: "sid"})
		if err != nil {
			b.Fatalf("NewJWT: %v", err)
		}
		bearer := identity.Carrier{Kind: identity.CarrierHeader, Name: "Authorization", Scheme: "Bearer"}
		g := newBenchGate(b, source, []identity.Carrier{bearer})
		token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "1", "email": "alice@example.com", "sid": "s1",
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		}).SignedString(secret)
		if err != nil {
			b.Fatalf("signing: %v", err)
		}
		header := http.Header{"Authorization": {"Bearer " + token}, "Accept": {"application/json"}}
		runGate(b, g, header, verifyBenchSession(b, g, header))
	})
	b.Run("introspect warm", func(b *testing.B) {
		app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id":1,"username":"alice","email":"alice@example.com"}`))
		}))
		b.Cleanup(app.Close)
		cache := time.Hour
		source, err := identity.NewIntrospect(identity.IntrospectConfig{URL: app.URL + "/api/me", Cache: &cache})
		if err != nil {
			b.Fatalf("NewIntrospect: %v", err)
		}
		g := newBenchGate(b, source, []identity.Carrier{
			{Kind: identity.CarrierCookie, Name: "session"},
			{Kind: identity.CarrierCookie, Name: "remember"},
			{Kind: identity.CarrierHeader, Name: "Authorization", Scheme: "Bearer"},
		})
		g.AnyCredential = true
		moduleCookie, err := crypto.NewToken(rand.Reader, "")
		if err != nil {
			b.Fatalf("NewToken: %v", err)
		}
		header := http.Header{
			"Cookie": {"session=GJ0t1Yy6C9nJ3kq2F8m4vXzR7pL5wQeA1sD0fH9bK2c; twofactor=" + moduleCookie},
			"Accept": {"text/html"},
		}
		runGate(b, g, header, verifyBenchSession(b, g, header))
	})
}
