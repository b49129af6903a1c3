package gate

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/testkit"

	"github.com/golang-jwt/jwt/v5"
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

func TestCheckNoCredential(t *testing.T) {
	f := newGateFixture(t)
	r := request(http.MethodGet, "/docs", "theme=dark")
	r.Header.Set("X-Other", "kept")

	wantPass(t, f.check(r))
	if f.source.calls != 0 {
		t.Errorf("identity source called %d times for a request without a credential", f.source.calls)
	}
	if got := r.Header.Get("Cookie"); got != "theme=dark" {
		t.Errorf("Cookie = %q, want theme=dark untouched", got)
	}
	if got := r.Header.Get("X-Other"); got != "kept" {
		t.Errorf("X-Other = %q, want it kept", got)
	}
}

func TestCheckNotLoggedIn(t *testing.T) {
	f := newGateFixture(t)
	r := request(http.MethodGet, "/docs", "sid=expired; theme=dark")
	wantPass(t, f.check(r))
	if got := r.Header.Get("Cookie"); got != "theme=dark" {
		t.Errorf("Cookie = %q, want the rejected carrier removed", got)
	}
}

func TestCheckUserWithoutMethod(t *testing.T) {
	f := newGateFixture(t)
	wantPass(t, f.check(request(http.MethodGet, "/docs", "sid=sid-bob")))

	f.gate.EnforceRequired = true
	d := f.check(request(http.MethodPost, "/docs", "sid=sid-bob"))
	wantDecisionError(t, d, http.StatusForbidden, api.CodeEnrollmentRequired)

	navigation := request(http.MethodGet, "/docs?a=1", "sid=sid-bob")
	navigation.Header.Set("Sec-Fetch-Mode", "navigate")
	d = f.check(navigation)
	if want := "/user/2fa/ui/enroll?next=%2Fdocs%3Fa%3D1"; d.Redirect != want || d.Error != nil {
		t.Errorf("navigation: redirect %q, error %v, want %q", d.Redirect, d.Error, want)
	}
}

func TestCheck2FARequired(t *testing.T) {
	f := newGateFixture(t)
	f.enable("alice")

	d := f.check(request(http.MethodGet, "/docs", "sid=sid-alice"))
	wantDecisionError(t, d, http.StatusUnauthorized, api.Code2FARequired)
	if d.Error != nil && !slices.Equal(d.Error.Methods, []string{"totp", "recoveryCode"}) {
		t.Errorf("methods = %v, want [totp recoveryCode]", d.Error.Methods)
	}
}

func TestCheckBrowserNavigation(t *testing.T) {
	tests := []struct {
		name, method, target string
		header               map[string]string
		redirect             string // empty: a 401
	}{
		{"navigate", http.MethodGet, "/docs/a?b=1&c=%20", map[string]string{"Sec-Fetch-Mode": "navigate"},
			"/user/2fa/ui/challenge?next=%2Fdocs%2Fa%3Fb%3D1%26c%3D%2520"},
		{"accept html", http.MethodGet, "/docs", map[string]string{"Accept": "text/html,*/*;q=0.8"},
			"/user/2fa/ui/challenge?next=%2Fdocs"},
		{"head", http.MethodHead, "/", map[string]string{"Accept": "text/html"},
			"/user/2fa/ui/challenge?next=%2F"},
		{"post form", http.MethodPost, "/docs", map[string]string{"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}, ""},
		{"api client", http.MethodGet, "/docs", map[string]string{"Accept": "*/*"}, ""},
		{"html refused", http.MethodGet, "/docs", map[string]string{"Accept": "text/html;q=0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGateFixture(t)
			f.enable("alice")
			r := request(tt.method, tt.target, "sid=sid-alice")
			for name, value := range tt.header {
				r.Header.Set(name, value)
			}
			d := f.check(r)
			if tt.redirect == "" {
				wantDecisionError(t, d, http.StatusUnauthorized, api.Code2FARequired)
				return
			}
			if d.Redirect != tt.redirect || d.Error != nil {
				t.Errorf("redirect %q, error %v, want %q", d.Redirect, d.Error, tt.redirect)
			}
		})
	}
}

func TestCheckRedirectNextFromRequestURI(t *testing.T) {
	// handle_path rewrites r.URL, so next comes from the original URI, and
	// an unsafe one becomes "/".
	tests := []struct{ requestURI, next string }{
		{"/app/docs?x=1", "%2Fapp%2Fdocs%3Fx%3D1"},
		{"//evil.example/x", "%2F"},
		{"/\\evil.example", "%2F"},
		{"http://evil.example/x", "%2F"},
	}
	for _, tt := range tests {
		f := newGateFixture(t)
		f.enable("alice")
		r := request(http.MethodGet, "/docs", "sid=sid-alice")
		r.RequestURI = tt.requestURI
		r.Header.Set("Sec-Fetch-Mode", "navigate")
		d := f.check(r)
		if want := "/user/2fa/ui/challenge?next=" + tt.next; d.Redirect != want {
			t.Errorf("RequestURI %q: redirect %q, want %q", tt.requestURI, d.Redirect, want)
		}
	}
}

func TestCheckReportMode(t *testing.T) {
	f := newGateFixture(t)
	f.gate.Report = true
	f.gate.EnforceRequired = true
	f.enable("alice")

	for _, tt := range []struct{ cookie, message string }{
		{"sid=sid-alice", api.Code2FARequired},
		{"sid=sid-bob", api.CodeEnrollmentRequired},
	} {
		r := request(http.MethodGet, "/docs", tt.cookie)
		r.Header.Set("Sec-Fetch-Mode", "navigate")
		wantPass(t, f.check(r))

		entries := f.logs.FilterMessage("report mode: request would be stopped").
			FilterField(zap.String("message", tt.message)).All()
		if len(entries) != 1 {
			t.Errorf("%s: %d report log lines with %s, want 1", tt.cookie, len(entries), tt.message)
			continue
		}
		if entries[0].Level != zapcore.WarnLevel {
			t.Errorf("report log level = %v, want warn", entries[0].Level)
		}
	}
}

func TestCheckVerifiedSession(t *testing.T) {
	f := newGateFixture(t)
	f.enable("alice")
	r := request(http.MethodGet, "/docs", "sid=sid-alice; twofactor=module-1")
	res := f.resolve(r)
	f.verify("alice", res.Caller.SessionKey, account.MethodRecoveryCode)

	d := f.gate.Check(r, res)
	if d.Error != nil || d.Redirect != "" {
		t.Fatalf("decision = %+v (error %v), want a pass", d, d.Error)
	}
	if d.UserID != "alice" || d.Method != account.MethodRecoveryCode {
		t.Errorf("UserID, Method = %q, %q, want alice, recoveryCode", d.UserID, d.Method)
	}
	if got := r.Header.Get("Cookie"); got != "sid=sid-alice" {
		t.Errorf("forwarded Cookie = %q, want the module cookie removed", got)
	}
}

func TestCheckSessionNeedsModuleCookie(t *testing.T) {
	// A cookie session is verified only with the module cookie it was
	// verified with, and only for the same app cookie.
	f := newGateFixture(t)
	f.enable("alice")
	res := f.resolve(request(http.MethodGet, "/", "sid=sid-alice; twofactor=module-1"))
	f.verify("alice", res.Caller.SessionKey, account.MethodTOTP)

	for _, cookie := range []string{
		"sid=sid-alice",
		"sid=sid-alice; twofactor=module-2",
		"sid=sid-alice; __Host-twofactor=module-1",
		"sid=sid-alice-2; twofactor=module-1",
	} {
		d := f.check(request(http.MethodGet, "/docs", cookie))
		if d.Error == nil || d.Error.Message != api.Code2FARequired {
			t.Errorf("%s: decision %+v, want 2FA_REQUIRED", cookie, d)
		}
	}
}

func TestCheckPartialToken(t *testing.T) {
	f := newGateFixture(t)
	r := request(http.MethodGet, "/docs", "")
	r.Header.Set("Authorization", "Bearer partial_abc")
	wantDecisionError(t, f.check(r), http.StatusUnauthorized, api.CodeInvalidToken)
	if got := r.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want the partial token removed", got)
	}
}

func TestCheckSudoTokenAlone(t *testing.T) {
	// A sudo token is no app credential: alone, the request goes on as
	// anonymous, and the token does not reach the app.
	f := newGateFixture(t)
	f.enable("alice")
	sudo := f.mintSudo("alice", "some-session", account.MethodTOTP)
	r := request(http.MethodGet, "/docs", "")
	r.Header.Set("Authorization", "Bearer "+sudo)

	wantPass(t, f.check(r))
	if got := r.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want the sudo token removed", got)
	}
}

func TestCheckStoreUnavailable(t *testing.T) {
	f := newGateFixture(t)
	r := request(http.MethodGet, "/docs", "sid=sid-alice; twofactor=module-1")
	res := f.resolve(r)
	f.db.Close()
	wantDecisionError(t, f.gate.Check(r, res), http.StatusServiceUnavailable, api.CodeStoreUnavailable)
}

func TestPrepareForwardStrips(t *testing.T) {
	bearer := identity.Carrier{Kind: identity.CarrierHeader, Name: "Authorization", Scheme: "Bearer"}
	tests := []struct {
		name        string
		carriers    []identity.Carrier
		passHeaders []string
		cookie      string
		header      map[string]string
		wantCookie  string
		wantAuth    string
	}{
		{
			name:       "module parts and foreign authorization",
			carriers:   []identity.Carrier{sidCookie},
			cookie:     "sid=sid-bob; twofactor=m1; theme=dark; __Host-twofactor=m2",
			header:     map[string]string{"Authorization": "Basic dXNlcjpwYXNz"},
			wantCookie: "sid=sid-bob; theme=dark",
		},
		{
			name:        "pass_header keeps authorization",
			carriers:    []identity.Carrier{sidCookie},
			passHeaders: []string{"authorization"},
			cookie:      "sid=sid-bob",
			header:      map[string]string{"Authorization": "Basic dXNlcjpwYXNz"},
			wantCookie:  "sid=sid-bob",
			wantAuth:    "Basic dXNlcjpwYXNz",
		},
		{
			name:       "rejected carrier",
			carriers:   []identity.Carrier{sidCookie},
			cookie:     "theme=dark; sid=forged",
			wantCookie: "theme=dark",
		},
		{
			name:     "authorization carrier kept",
			carriers: []identity.Carrier{bearer},
			header:   map[string]string{"Authorization": "Bearer sid-bob"},
			wantAuth: "Bearer sid-bob",
		},
		{
			name:     "rejected authorization carrier",
			carriers: []identity.Carrier{bearer},
			header:   map[string]string{"Authorization": "Bearer forged"},
		},
		{
			name:        "sudo token despite pass_header",
			carriers:    []identity.Carrier{sidCookie},
			passHeaders: []string{"Authorization"},
			header:      map[string]string{"Authorization": "Bearer SUDO"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGateFixture(t)
			f.gate.Carriers = tt.carriers
			f.gate.PassHeaders = tt.passHeaders
			sudo := f.mintSudo("bob", "", account.MethodTOTP)
			r := request(http.MethodGet, "/docs", tt.cookie)
			for name, value := range tt.header {
				r.Header.Set(name, strings.ReplaceAll(value, "SUDO", sudo))
			}

			wantPass(t, f.check(r))
			if got := r.Header.Get("Cookie"); got != tt.wantCookie {
				t.Errorf("Cookie = %q, want %q", got, tt.wantCookie)
			}
			if got := r.Header.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", got, tt.wantAuth)
			}
		})
	}
}

func TestPrepareForwardStripsSudoHeader(t *testing.T) {
	f := newGateFixture(t)
	f.enable("alice")
	r := request(http.MethodGet, "/docs", "sid=sid-alice; twofactor=module-1")
	res := f.resolve(r)
	f.verify("alice", res.Caller.SessionKey, account.MethodTOTP)
	sudo := f.mintSudo("alice", res.Caller.SessionKey, account.MethodTOTP)
	r.Header.Set(SudoHeader, sudo)

	d := f.check(r)
	if d.UserID != "alice" {
		t.Fatalf("decision = %+v, want a pass for alice", d)
	}
	if got := r.Header.Values(SudoHeader); len(got) != 0 {
		t.Errorf("X-Sudo-Token = %q, want it removed", got)
	}
}

func TestPrepareForwardForeignSchemeOfCarrierHeader(t *testing.T) {
	f := newGateFixture(t)
	f.enable("alice")
	f.gate.Carriers = []identity.Carrier{{Kind: identity.CarrierHeader, Name: "Authorization", Scheme: "Bearer"}}
	r := request(http.MethodGet, "/docs", "")
	r.Header.Set("Authorization", "Basic YWxpY2U6cGFzc3dvcmQ=")

	wantPass(t, f.check(r))
	if got := r.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want it removed: it is neither a configured carrier nor passed", got)
	}
}

// totpCode computes an RFC 6238 code (HMAC-SHA1, 30 s steps, 6 digits)
// independently of the code under test.
func totpCode(secret []byte, at time.Time) string {
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

// serveAPI serves one API request for a resolved caller.
func (f *gateFixture) serveAPI(method, subpath string, c *api.Caller, body string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(method, api.Prefix+subpath, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	f.server.ServeAPI(w, r, subpath, c)
	if w.Code != http.StatusOK {
		f.t.Fatalf("%s %s: status %d, body %s", method, subpath, w.Code, w.Body.String())
	}
	return w
}

func TestGateAfterEnrolment(t *testing.T) {
	// Enrol through the API with the caller the gate resolved, then come
	// back with the module cookie the enable set.
	f := newGateFixture(t)
	res := f.resolve(request(http.MethodPost, "/user/2fa/totp/setup", "sid=sid-alice"))
	if res.Caller.SessionKey != "" || res.Caller.Rekey == nil {
		t.Fatalf("caller without the module cookie: key %q, rekey set %v, want no key and a rekey",
			res.Caller.SessionKey, res.Caller.Rekey != nil)
	}
	var setup struct {
		URL string `json:"url"`
	}
	w := f.serveAPI(http.MethodPost, "/totp/setup", res.Caller, "{}")
	if err := json.Unmarshal(w.Body.Bytes(), &setup); err != nil {
		t.Fatalf("decoding setup: %v", err)
	}
	keyURL, err := url.Parse(setup.URL)
	if err != nil {
		t.Fatalf("parsing the key URL: %v", err)
	}
	if !strings.Contains(keyURL.Path, "alice@example.com") {
		t.Errorf("key URL %q does not name the identity's email", setup.URL)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(keyURL.Query().Get("secret"))
	if err != nil {
		t.Fatalf("decoding the secret: %v", err)
	}

	w = f.serveAPI(http.MethodPost, "/totp/enable", res.Caller, `{"totp":"`+totpCode(secret, t0)+`"}`)
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "twofactor" {
		t.Fatalf("enable set cookies %v, want one twofactor cookie", cookies)
	}
	moduleCookie := "twofactor=" + cookies[0].Value

	d := f.check(request(http.MethodGet, "/docs", "sid=sid-alice; "+moduleCookie))
	if d.UserID != "alice" || d.Method != account.MethodTOTP {
		t.Errorf("with the module cookie: decision %+v, want alice verified by totp", d)
	}
	d = f.check(request(http.MethodGet, "/docs", "sid=sid-alice"))
	wantDecisionError(t, d, http.StatusUnauthorized, api.Code2FARequired)
	d = f.check(request(http.MethodGet, "/docs", "sid=sid-alice-2; "+moduleCookie))
	wantDecisionError(t, d, http.StatusUnauthorized, api.Code2FARequired)

	// A sudo token minted in that session is accepted beside its cookies,
	// and the rotated module cookie it set keeps the session verified.
	f.clock.Advance(30 * time.Second)
	again := f.resolve(request(http.MethodPost, "/user/2fa/totp/authenticate", "sid=sid-alice; "+moduleCookie))
	w = f.serveAPI(http.MethodPost, "/totp/authenticate", again.Caller, `{"totp":"`+totpCode(secret, f.clock.Now())+`"}`)
	var answer struct {
		SudoToken string `json:"sudoToken"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
		t.Fatalf("decoding authenticate: %v", err)
	}
	rotated := w.Result().Cookies()
	if len(rotated) != 1 || rotated[0].Value == cookies[0].Value {
		t.Fatalf("authenticate set cookies %v, want a new twofactor cookie", rotated)
	}
	r := request(http.MethodDelete, "/user/2fa/totp", "sid=sid-alice; twofactor="+rotated[0].Value)
	r.Header.Set("Authorization", "Bearer "+answer.SudoToken)
	if res := f.resolve(r); res.Caller.Sudo == nil {
		t.Error("the sudo token is not accepted beside its session's cookies")
	}
	d = f.check(request(http.MethodGet, "/docs", "sid=sid-alice; "+moduleCookie))
	wantDecisionError(t, d, http.StatusUnauthorized, api.Code2FARequired)
	d = f.check(request(http.MethodGet, "/docs", "sid=sid-alice; twofactor="+rotated[0].Value))
	if d.UserID != "alice" {
		t.Errorf("with the rotated module cookie: decision %+v, want alice verified", d)
	}
}

func TestSessionKeyCookieCarrier(t *testing.T) {
	f := newGateFixture(t)
	bare := f.resolve(request(http.MethodGet, "/", "sid=sid-alice")).Caller
	if bare.SessionKey != "" {
		t.Errorf("key without the module cookie = %q, want none", bare.SessionKey)
	}
	if bare.Rekey == nil {
		t.Fatal("Rekey = nil for a cookie carrier, want the module cookie in the key")
	}

	key := func(cookie string) string { return f.resolve(request(http.MethodGet, "/", cookie)).Caller.SessionKey }
	k1 := key("sid=sid-alice; twofactor=m1")
	if k1 == "" || k1 != bare.Rekey("m1") {
		t.Errorf("key with module cookie m1 = %q, want Rekey(m1) = %q", k1, bare.Rekey("m1"))
	}
	if again := key("twofactor=m1; sid=sid-alice"); again != k1 {
		t.Errorf("same cookies in another order give key %q, want %q", again, k1)
	}
	for _, cookie := range []string{
		"sid=sid-alice; twofactor=m2",
		"sid=sid-alice-2; twofactor=m1",
		"sid=sid-bob; twofactor=m1",
	} {
		if got := key(cookie); got == k1 || got == "" {
			t.Errorf("%s: key %q, want a key other than that of sid-alice with m1", cookie, got)
		}
	}
}

func TestSessionKeyHTTPSCookieName(t *testing.T) {
	f := newGateFixture(t)
	key := func(cookie string) *api.Caller {
		r := request(http.MethodGet, "https://app.example/", cookie)
		r.TLS = &tls.ConnectionState{HandshakeComplete: true}
		return f.resolve(r).Caller
	}
	if c := key("sid=sid-alice; twofactor=m1"); c.SessionKey != "" || !c.HTTPS {
		t.Errorf("HTTPS with the plain cookie name: key %q, HTTPS %v, want no key over HTTPS", c.SessionKey, c.HTTPS)
	}
	if c := key("sid=sid-alice; __Host-twofactor=m1"); c.SessionKey == "" || c.SessionKey != c.Rekey("m1") {
		t.Errorf("HTTPS with __Host-twofactor: key %q, want Rekey(m1)", c.SessionKey)
	}
}

// signJWT returns an HS256 token with the given claims and an exp an hour
// after t0.
func signJWT(t *testing.T, secret []byte, claims jwt.MapClaims) string {
	t.Helper()
	claims["exp"] = t0.Add(time.Hour).Unix()
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return token
}

func TestSessionKeyBearerJWT(t *testing.T) {
	secret := []byte(strings.Repeat("j", 32))
	tests := []struct {
		name         string
		sessionClaim string
		sameSession  bool // whether two tokens with one sid share a key
	}{
		{"without session claim", "", false},
		{"with session claim", "sid", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGateFixture(t)
			source, err := identity.NewJWT(identity.JWTConfig{HMACSecret: secret, SessionClaim: tt.sessionClaim, Now: f.clock.Now})
			if err != nil {
				t.Fatalf("NewJWT: %v", err)
			}
			f.gate.Source = source
			f.gate.Carriers = []identity.Carrier{{Kind: identity.CarrierHeader, Name: "Authorization", Scheme: "Bearer"}}
			resolve := func(token, cookie string) *api.Caller {
				r := request(http.MethodGet, "/", cookie)
				r.Header.Set("Authorization", "Bearer "+token)
				return f.resolve(r).Caller
			}
			first := signJWT(t, secret, jwt.MapClaims{"sub": "alice", "sid": "s1", "iat": t0.Unix()})
			second := signJWT(t, secret, jwt.MapClaims{"sub": "alice", "sid": "s1", "iat": t0.Unix() + 60})
			other := signJWT(t, secret, jwt.MapClaims{"sub": "alice", "sid": "s2", "iat": t0.Unix()})

			c := resolve(first, "")
			if c.UserID != "alice" || c.SessionKey == "" {
				t.Fatalf("caller = %+v, want alice with a session key", c)
			}
			if c.Rekey != nil {
				t.Error("Rekey set for a bearer token, want the module cookie left out of the key")
			}
			if got := resolve(first, "twofactor=m1").SessionKey; got != c.SessionKey {
				t.Error("the module cookie changed a bearer session's key")
			}
			if got := resolve(second, "").SessionKey; (got == c.SessionKey) != tt.sameSession {
				t.Errorf("second token with the same sid: same key = %v, want %v", got == c.SessionKey, tt.sameSession)
			}
			if got := resolve(other, "").SessionKey; got == c.SessionKey {
				t.Error("tokens with different sids share a key")
			}
		})
	}
}

func TestSessionKeyBasicCarrier(t *testing.T) {
	tests := []struct {
		name      string
		carrier   identity.Carrier
		header    string
		value     string // the value the source sees
		wantRekey bool
	}{
		{"basic scheme", identity.Carrier{Kind: identity.CarrierHeader, Name: "Authorization", Scheme: "Basic"},
			"Basic YWxpY2U6cHc=", "YWxpY2U6cHc=", true},
		{"basic without scheme", identity.Carrier{Kind: identity.CarrierHeader, Name: "Authorization"},
			"basic YWxpY2U6cHc=", "basic YWxpY2U6cHc=", true},
		{"bearer without scheme", identity.Carrier{Kind: identity.CarrierHeader, Name: "Authorization"},
			"Bearer tok", "Bearer tok", false},
		{"api key header", identity.Carrier{Kind: identity.CarrierHeader, Name: "X-Api-Key"},
			"key-1", "key-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGateFixture(t)
			f.gate.Carriers = []identity.Carrier{tt.carrier}
			f.source.users[tt.value] = identity.Identity{UserID: "alice"}
			r := request(http.MethodGet, "/", "")
			r.Header.Set(tt.carrier.Name, tt.header)
			c := f.resolve(r).Caller
			if c.UserID != "alice" {
				t.Fatalf("caller = %+v, want alice", c)
			}
			if (c.Rekey != nil) != tt.wantRekey {
				t.Errorf("module cookie in the key = %v, want %v", c.Rekey != nil, tt.wantRekey)
			}
			if !tt.wantRekey && c.SessionKey == "" {
				t.Error("no session key for a carrier that needs no module cookie")
			}
		})
	}
}

func TestSessionKeyModuleCookieAlways(t *testing.T) {
	// The placeholder source: the module cookie is always in the key,
	// also with no carrier at all.
	f := newGateFixture(t)
	f.gate.ModuleCookieAlways = true
	caller := &api.Caller{UserID: "alice"}
	r := request(http.MethodGet, "/", "twofactor=m1")
	f.gate.sessionKeys(r, caller, &identity.Identity{UserID: "alice"}, nil)
	if caller.Rekey == nil || caller.SessionKey == "" || caller.SessionKey != caller.Rekey("m1") {
		t.Errorf("key %q, rekey set %v, want the key of module cookie m1", caller.SessionKey, caller.Rekey != nil)
	}
}

func TestSessionKeyWithoutCarrier(t *testing.T) {
	// Introspection let the request in by a cookie that is no configured
	// carrier: there is no session key, so the session is never verified.
	f := newGateFixture(t)
	f.gate.Carriers = nil
	f.gate.AnyCredential = true
	f.source.anyone = &identity.Identity{UserID: "alice"}
	f.enable("alice")

	r := request(http.MethodGet, "/docs", "legacy=1; twofactor=m1")
	res := f.resolve(r)
	if res.Caller.UserID != "alice" {
		t.Fatalf("caller = %+v, want alice", res.Caller)
	}
	if res.Caller.SessionKey != "" || res.Caller.Rekey != nil {
		t.Errorf("key %q, rekey set %v, want neither", res.Caller.SessionKey, res.Caller.Rekey != nil)
	}
	wantDecisionError(t, f.gate.Check(r, res), http.StatusUnauthorized, api.Code2FARequired)
}
