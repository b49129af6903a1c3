package guard

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/testkit"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// t0 is the fake clock's start, a whole minute, so it starts a TOTP step.
var t0 = time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)

// jwtSecret signs the test app's bearer tokens.
var jwtSecret = []byte(strings.Repeat("jwt test secret ", 3))

// fakeClock is the shared fake clock of the tests.
type fakeClock = testkit.Clock

// lockedReader makes a seeded generator safe for concurrent use.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// fixture is the guards wired as the Caddy handler wires them, on a real
// bbolt file, with the gate's JWT identity source, a fake clock and a
// test app behind them.
type fixture struct {
	t        *testing.T
	clock    *fakeClock
	store    store.Store
	keys     *crypto.Keyring
	sessions *account.Sessions
	api      *api.Server
	gate     *gate.Gate
	guards   *Guards
	app      *testApp
	forgot   []string // Authorization headers that Forget saw
}

func newFixture(t *testing.T, routes ...*Route) *fixture {
	t.Helper()
	clock := testkit.NewClock(t0)
	db, err := store.OpenBolt(filepath.Join(t.TempDir(), "twofactor.db"), store.BoltOptions{Now: clock.Now})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := crypto.Derive([]byte(strings.Repeat("test secret key ", 3)))
	if err != nil {
		t.Fatalf("Derive: %v", err)
	}
	realm := store.WithRealm(db, "default")
	keyring := &crypto.Keyring{Current: keys}
	sessions := &account.Sessions{
		Store:  realm,
		Policy: account.SessionPolicy{TTL: 12 * time.Hour, Idle: 30 * time.Minute},
		Now:    clock.Now,
	}
	source, err := identity.NewJWT(identity.JWTConfig{HMACSecret: jwtSecret, Now: clock.Now})
	if err != nil {
		t.Fatalf("NewJWT: %v", err)
	}
	logger := zap.NewNop()
	carriers := []identity.Carrier{{Kind: identity.CarrierHeader, Name: "Authorization", Scheme: "Bearer"}}
	f := &fixture{t: t, clock: clock, store: realm, keys: keyring, sessions: sessions, app: newTestApp()}
	f.api = &api.Server{
		Store: realm, Keys: keyring, Sessions: sessions,
		Config: api.Config{Skew: 1, SudoTTL: 5 * time.Minute},
		Now:    clock.Now, Random: &lockedReader{r: rand.NewChaCha8([32]byte{7})}, Logger: logger,
	}
	f.gate = &gate.Gate{
		Store: realm, Keys: keyring, Sessions: sessions, Source: source, Logger: logger,
		Now: clock.Now, Carriers: carriers, UIPath: "/user/2fa/ui",
		IsHTTPS:  func(*http.Request) bool { return false },
		ClientIP: remoteIP,
		Emails:   &account.EmailIndex{Store: realm},
	}
	if len(routes) == 0 {
		for _, kind := range Kinds {
			rt := Default(kind)
			routes = append(routes, &rt)
		}
	}
	f.guards = &Guards{
		Routes: routes, Store: realm, Sessions: sessions, API: f.api, Resolver: f.gate,
		Forget: func(r *http.Request) {
			f.forgot = append(f.forgot, r.Header.Get("Authorization"))
		},
		Carriers: carriers, Logger: logger, Now: clock.Now,
	}
	return f
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// serve runs a request through the gate and the guards as the Caddy
// handler does, with the test app as next.
func (f *fixture) serve(r *http.Request) *httptest.ResponseRecorder {
	f.t.Helper()
	w, err := f.do(r)
	if err != nil {
		f.t.Fatalf("Serve: %v", err)
	}
	return w
}

// serveConcurrent is serve for goroutines other than the test's: it
// returns the status.
func (f *fixture) serveConcurrent(r *http.Request) int {
	w, err := f.do(r)
	if err != nil {
		f.t.Errorf("Serve: %v", err)
	}
	return w.Code
}

func (f *fixture) do(r *http.Request) (*httptest.ResponseRecorder, error) {
	w := httptest.NewRecorder()
	route := f.guards.Match(r, r.URL.Path)
	original := r.Header.Clone()
	res, e := f.gate.Resolve(r.Context(), r)
	if e != nil {
		api.WriteError(w, e)
		return w, nil
	}
	decision := f.gate.Check(r, res)
	if decision.Error != nil {
		api.WriteError(w, decision.Error)
		return w, nil
	}
	next := func(w http.ResponseWriter, r *http.Request) error {
		f.app.ServeHTTP(w, r)
		return nil
	}
	if route == nil {
		f.app.ServeHTTP(w, r)
		return w, nil
	}
	err := f.guards.Serve(w, r, next, Request{Route: route, Resolution: res,
		VerifiedMethod: decision.Method, Original: original})
	return w, err
}

// request builds a request from a client address; headers come in name,
// value pairs.
func request(method, target, body string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body == "" {
		r = httptest.NewRequest(method, target, nil)
	}
	r.RemoteAddr = "192.0.2.1:40000"
	if strings.HasPrefix(body, "{") {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

// token returns a bearer token of the test app for a user, unique per sid.
func (f *fixture) token(userID, email, sid string) string {
	f.t.Helper()
	claims := jwt.MapClaims{"sub": userID, "email": email, "jti": sid,
		"exp": f.clock.Now().Add(48 * time.Hour).Unix()}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(jwtSecret)
	if err != nil {
		f.t.Fatalf("signing a token: %v", err)
	}
	return signed
}

// sessionKey resolves a bearer token as the gate does and returns the
// session key.
func (f *fixture) sessionKey(token string) string {
	f.t.Helper()
	res, e := f.gate.Resolve(context.Background(), request(http.MethodGet, "/", "", "Authorization", "Bearer "+token))
	if e != nil || res.Caller.SessionKey == "" {
		f.t.Fatalf("resolving a token: %v", e)
	}
	return res.Caller.SessionKey
}

// verify marks the session of a token verified by TOTP, as an
// authenticate does, and returns a sudo token of it.
func (f *fixture) verify(userID, token string) string {
	f.t.Helper()
	key := f.sessionKey(token)
	c := &api.Caller{UserID: userID, SessionKey: key, HasCredential: true, ClientIP: "192.0.2.1"}
	v, e := f.api.AuthenticateTOTP(c, f.totpCode(userID, f.clock.Now()))
	if e != nil {
		f.t.Fatalf("AuthenticateTOTP: %v", e)
	}
	f.clock.Advance(30 * time.Second) // the step is used
	return v.SudoToken
}

// verified reports whether the session of a token is verified.
func (f *fixture) verified(userID, token string) bool {
	f.t.Helper()
	_, ok, err := f.sessions.Verified(userID, f.sessionKey(token))
	if err != nil {
		f.t.Fatalf("Verified: %v", err)
	}
	return ok
}

// enroll turns TOTP on for a user and indexes the address, and returns the
// recovery codes.
func (f *fixture) enroll(userID, email string) []string {
	f.t.Helper()
	c := &api.Caller{UserID: userID, Email: email, HasCredential: true, ClientIP: "192.0.2.1"}
	setup, e := f.api.SetupTOTP(c, "example.com")
	if e != nil {
		f.t.Fatalf("SetupTOTP: %v", e)
	}
	f.app.setSecret(userID, setup.Secret)
	codes, _, e := f.api.EnableTOTP(request(http.MethodPost, "/", ""), c, f.totpCode(userID, f.clock.Now()))
	if e != nil {
		f.t.Fatalf("EnableTOTP: %v", e)
	}
	f.clock.Advance(30 * time.Second) // the enable code's step is used
	err := f.store.Update(func(tx store.Tx) error {
		_, err := account.IndexEmail(tx, userID, email)
		return err
	})
	if err != nil {
		f.t.Fatalf("IndexEmail: %v", err)
	}
	return codes
}

// totpCode computes an RFC 6238 code of the user's secret independently of
// the code under test.
func (f *fixture) totpCode(userID string, at time.Time) string {
	f.t.Helper()
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(f.app.secret(userID))
	if err != nil {
		f.t.Fatalf("decoding the TOTP secret: %v", err)
	}
	var counter [8]byte
	binary.BigEndian.PutUint64(counter[:], uint64(at.Unix()/30))
	mac := hmac.New(sha1.New, secret)
	mac.Write(counter[:])
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	value := uint32(sum[offset]&0x7f)<<24 | uint32(sum[offset+1])<<16 |
		uint32(sum[offset+2])<<8 | uint32(sum[offset+3])
	return fmt.Sprintf("%06d", value%1_000_000)
}

// envelope decodes a module error response.
func envelope(t *testing.T, w *httptest.ResponseRecorder) (status int, message string) {
	t.Helper()
	var body struct {
		StatusCode int      `json:"statusCode"`
		Message    string   `json:"message"`
		Methods    []string `json:"methods"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		return w.Code, ""
	}
	return w.Code, body.Message
}

// wantError fails unless w is a module error with status and message.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, message string) {
	t.Helper()
	got, msg := envelope(t, w)
	if got != status || (message != "" && msg != message) {
		t.Errorf("response %d %q, want %d %s", got, strings.TrimSpace(w.Body.String()), status, message)
	}
}

// wantStatus fails unless w has the status.
func wantStatus(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Errorf("status %d (%s), want %d", w.Code, strings.TrimSpace(w.Body.String()), status)
	}
}
