package gate

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/testkit"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// t0 is the fake clock's start, a whole minute.
var t0 = time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)

// fakeClock is the shared fake clock of the tests.
type fakeClock = testkit.Clock

// fakeSource resolves each presented carrier value to a fixed identity.
// Unknown values are rejected, and values of different users are
// ambiguous, as the real sources do.
type fakeSource struct {
	mu     sync.Mutex
	users  map[string]identity.Identity
	anyone *identity.Identity // returned when no carrier is presented
	err    error
	calls  int
	header http.Header // headers of the last request it saw
}

func (s *fakeSource) Resolve(_ context.Context, r *http.Request, creds identity.Credentials) (identity.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.header = r.Header.Clone()
	if s.err != nil {
		return identity.Result{}, s.err
	}
	var result identity.Result
	for _, p := range creds.Presented {
		id, ok := s.users[p.Value]
		if !ok {
			result.Rejected = append(result.Rejected, p)
			continue
		}
		if result.Identity != nil && result.Identity.UserID != id.UserID {
			return identity.Result{}, identity.ErrAmbiguous
		}
		result.Identity = &id
	}
	if len(creds.Presented) == 0 && s.anyone != nil {
		id := *s.anyone
		result.Identity = &id
	}
	return result, nil
}

var sidCookie = identity.Carrier{Kind: identity.CarrierCookie, Name: "sid"}

// gateFixture is a Gate and an api.Server wired as the Caddy handler wires
// them, on a real bbolt file with a fake clock.
type gateFixture struct {
	t      *testing.T
	clock  *fakeClock
	db     *store.Bolt
	keys   *crypto.Keyring
	source *fakeSource
	gate   *Gate
	server *api.Server
	logs   *observer.ObservedLogs
}

func newGateFixture(t *testing.T) *gateFixture {
	t.Helper()
	clock := testkit.NewClock(t0)
	db, err := store.OpenBolt(filepath.Join(t.TempDir(), "twofactor.db"), store.BoltOptions{Now: clock.Now})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { db.Close() })

	keys, err := crypto.Derive([]byte(strings.Repeat("gate test secret ", 2)))
	if err != nil {
		t.Fatalf("Derive: %v", err)
	}
	keyring := &crypto.Keyring{Current: keys}
	realm := store.WithRealm(db, "default")
	sessions := &account.Sessions{
		Store:  realm,
		Policy: account.SessionPolicy{TTL: 12 * time.Hour, Idle: 30 * time.Minute},
		Now:    clock.Now,
	}
	source := &fakeSource{users: map[string]identity.Identity{
		"sid-alice":   {UserID: "alice", Email: "alice@example.com"},
		"sid-alice-2": {UserID: "alice", Email: "alice@example.com"},
		"sid-bob":     {UserID: "bob"},
	}}
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)

	g := &Gate{
		Store:    realm,
		Keys:     keyring,
		Sessions: sessions,
		Source:   source,
		Logger:   logger,
		Now:      clock.Now,
		Carriers: []identity.Carrier{sidCookie},
		UIPath:   "/user/2fa/ui",
		IsHTTPS:  func(r *http.Request) bool { return r.TLS != nil },
		ClientIP: func(*http.Request) string { return "127.0.0.1" },
	}
	server := &api.Server{
		Store:    realm,
		Keys:     keyring,
		Sessions: sessions,
		Config:   api.Config{Skew: 1, SudoTTL: 5 * time.Minute},
		Now:      clock.Now,
		Random:   rand.Reader,
		Logger:   logger,
	}
	return &gateFixture{t: t, clock: clock, db: db, keys: keyring, source: source, gate: g, server: server, logs: logs}
}

// request returns a request for target with the given Cookie header.
func request(method, target, cookie string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

func (f *gateFixture) resolve(r *http.Request) *Resolution {
	f.t.Helper()
	res, e := f.gate.Resolve(r.Context(), r)
	if e != nil {
		f.t.Fatalf("Resolve: %v", e)
	}
	return res
}

// enable turns 2FA on for a user: TOTP and recovery codes are stored.
func (f *gateFixture) enable(userID string) {
	f.t.Helper()
	err := f.gate.Store.Update(func(tx store.Tx) error {
		return account.SaveUser(tx, &account.User{
			ID:       userID,
			TOTP:     &account.TOTP{SealedSecret: []byte("sealed"), CompletedAt: t0},
			Recovery: &account.Recovery{MACs: []string{"m1", "m2"}, CompletedAt: t0},
		})
	})
	if err != nil {
		f.t.Fatalf("SaveUser: %v", err)
	}
}

// verify marks a session verified by method.
func (f *gateFixture) verify(userID, sessionKey, method string) {
	f.t.Helper()
	err := f.gate.Sessions.UpdateUser(userID, func(tx store.Tx) error {
		return f.gate.Sessions.Verify(tx, userID, sessionKey, "", method)
	})
	if err != nil {
		f.t.Fatalf("Verify: %v", err)
	}
}

// mintSudo stores a sudo token bound to a session, valid 5 minutes.
func (f *gateFixture) mintSudo(userID, sessionKey, method string) string {
	f.t.Helper()
	token, err := crypto.NewToken(rand.Reader, api.SudoPrefix)
	if err != nil {
		f.t.Fatalf("NewToken: %v", err)
	}
	record := &account.SudoToken{UserID: userID, SessionKey: sessionKey, Method: method, Expires: f.clock.Now().Add(5 * time.Minute)}
	err = f.gate.Store.Update(func(tx store.Tx) error {
		return account.PutSudoToken(tx, api.SudoMAC(f.keys, token), record)
	})
	if err != nil {
		f.t.Fatalf("PutSudoToken: %v", err)
	}
	return token
}

// check resolves and checks r, failing the test if Resolve fails.
func (f *gateFixture) check(r *http.Request) Decision {
	f.t.Helper()
	return f.gate.Check(r, f.resolve(r))
}

func wantDecisionError(t *testing.T, d Decision, status int, message string) {
	t.Helper()
	if d.Error == nil {
		t.Fatalf("decision = %+v, want %d %s", d, status, message)
	}
	if d.Error.Status != status || d.Error.Message != message {
		t.Errorf("decision error = %d %s, want %d %s", d.Error.Status, d.Error.Message, status, message)
	}
	if d.Redirect != "" || d.UserID != "" {
		t.Errorf("decision with an error also has redirect %q, user %q", d.Redirect, d.UserID)
	}
}

func wantPass(t *testing.T, d Decision) {
	t.Helper()
	if d.Error != nil || d.Redirect != "" || d.UserID != "" || d.Method != "" {
		t.Errorf("decision = %+v (error %v), want a plain pass", d, d.Error)
	}
}
