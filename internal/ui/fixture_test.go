package ui

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/testkit"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// t0 is the fake clock's start, a whole minute and so the start of a TOTP
// time step.
var t0 = time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)

const uiPath = "/user/2fa/ui"

// fakeClock is the shared fake clock of the tests.
type fakeClock = testkit.Clock

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

// wrongCode returns six digits that match no time step near at.
func wrongCode(secret []byte, at time.Time) string {
	valid := map[string]bool{}
	for offset := -2; offset <= 2; offset++ {
		valid[totpCode(secret, at.Add(time.Duration(offset)*30*time.Second))] = true
	}
	for i := 0; ; i++ {
		code := fmt.Sprintf("%06d", i)
		if !valid[code] {
			return code
		}
	}
}

// sidSource resolves the app's sid cookie: "sid-<user>" is that user. It
// records the Cookie headers it was given, so tests can see what an
// identity source that forwards them would send to the app.
type sidSource struct {
	mu      sync.Mutex
	cookies []string
}

func (s *sidSource) Resolve(_ context.Context, r *http.Request, creds identity.Credentials) (identity.Result, error) {
	s.mu.Lock()
	s.cookies = append(s.cookies, r.Header.Values("Cookie")...)
	s.mu.Unlock()
	var result identity.Result
	for _, p := range creds.Presented {
		user, ok := strings.CutPrefix(p.Value, "sid-")
		if !ok {
			result.Rejected = append(result.Rejected, p)
			continue
		}
		result.Identity = &identity.Identity{UserID: user, Email: user + "@example.com"}
	}
	return result, nil
}

func (s *sidSource) seen() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.cookies, "\n")
}

// pagesFixture is the built-in pages with the API and the gate, wired as
// the Caddy handler wires them, on a real bbolt file with a fake clock.
type pagesFixture struct {
	t      *testing.T
	clock  *fakeClock
	keys   *crypto.Keyring
	source *sidSource
	pages  *Pages
	mail   *smtpSink // nil until withMail
}

func newPagesFixture(t *testing.T) *pagesFixture {
	t.Helper()
	clock := testkit.NewClock(t0)
	db, err := store.OpenBolt(filepath.Join(t.TempDir(), "twofactor.db"), store.BoltOptions{Now: clock.Now})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { db.Close() })

	keys, err := crypto.Derive([]byte(strings.Repeat("pages test secret ", 2)))
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
	logger := zap.NewNop()
	source := &sidSource{}

	g := &gate.Gate{
		Store:    realm,
		Keys:     keyring,
		Sessions: sessions,
		Source:   source,
		Logger:   logger,
		Now:      clock.Now,
		Carriers: []identity.Carrier{{Kind: identity.CarrierCookie, Name: "sid"}},
		UIPath:   uiPath,
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
	pages := &Pages{API: server, Gate: g, Path: uiPath, Keys: keyring}
	return &pagesFixture{t: t, clock: clock, keys: keyring, source: source, pages: pages}
}

// serve sends one request to the pages and checks the headers every page
// must carry.
func (f *pagesFixture) serve(r *http.Request) *httptest.ResponseRecorder {
	f.t.Helper()
	w := httptest.NewRecorder()
	f.pages.ServeHTTP(w, r)
	checkSecurityHeaders(f.t, r, w)
	return w
}

func checkSecurityHeaders(t *testing.T, r *http.Request, w *httptest.ResponseRecorder) {
	t.Helper()
	want := map[string]string{
		"X-Frame-Options":        "DENY",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	}
	for name, value := range want {
		if got := w.Header().Get(name); got != value {
			t.Errorf("%s %s: %s = %q, want %q", r.Method, r.URL, name, got, value)
		}
	}
	csp := w.Header().Get("Content-Security-Policy")
	for _, directive := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'",
		"form-action 'self'", "img-src data:", "style-src 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, directive) {
			t.Errorf("%s %s: Content-Security-Policy %q lacks %q", r.Method, r.URL, csp, directive)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("%s %s: Content-Security-Policy %q allows unsafe sources", r.Method, r.URL, csp)
	}
}

func get(target, cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

func post(target, cookie string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "http://example.com")
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

// hidden returns the value of the first hidden form field named name,
// unescaped.
func hidden(t *testing.T, body, name string) string {
	t.Helper()
	value, ok := findHidden(body, name)
	if !ok {
		t.Fatalf("page has no hidden field %q:\n%s", name, body)
	}
	return value
}

func findHidden(body, name string) (string, bool) {
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2]), true
		}
	}
	return "", false
}

// setCookie returns the cookie named name that a response sets, or nil.
func setCookie(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// wantText checks that a page contains a sentence, HTML-escaped as the
// templates escape it.
func wantText(t *testing.T, w *httptest.ResponseRecorder, text string) {
	t.Helper()
	if !strings.Contains(w.Body.String(), html.EscapeString(text)) {
		t.Errorf("page (status %d) lacks %q:\n%s", w.Code, text, w.Body.String())
	}
}

// wantRedirect checks a 303 to location.
func wantRedirect(t *testing.T, w *httptest.ResponseRecorder, location string) {
	t.Helper()
	if w.Code != http.StatusSeeOther {
		t.Fatalf("status %d, want 303 to %s:\n%s", w.Code, location, w.Body.String())
	}
	if got := w.Header().Get("Location"); got != location {
		t.Errorf("Location = %q, want %q", got, location)
	}
}

// callerOf resolves the gate's caller for a Cookie header.
func (f *pagesFixture) callerOf(cookie string) *api.Caller {
	f.t.Helper()
	r := get("/", cookie)
	res, e := f.pages.Gate.Resolve(r.Context(), r)
	if e != nil {
		f.t.Fatalf("Resolve: %v", e)
	}
	return res.Caller
}

// enroll turns TOTP on for user through the JSON API and returns the
// secret and the recovery codes.
func (f *pagesFixture) enroll(user string) ([]byte, []string) {
	f.t.Helper()
	c := f.callerOf("sid=sid-" + user)
	serve := func(subpath, body string) []byte {
		r := httptest.NewRequest(http.MethodPost, api.Prefix+subpath, strings.NewReader(body))
		w := httptest.NewRecorder()
		f.pages.API.ServeAPI(w, r, subpath, c)
		if w.Code != http.StatusOK {
			f.t.Fatalf("POST %s: %d %s", subpath, w.Code, w.Body.String())
		}
		return w.Body.Bytes()
	}
	var setup struct {
		URL string `json:"url"`
	}
	json.Unmarshal(serve("/totp/setup", "{}"), &setup)
	keyURL, err := url.Parse(setup.URL)
	if err != nil {
		f.t.Fatalf("parsing the key URL: %v", err)
	}
	secret := decodeSecret(f.t, keyURL.Query().Get("secret"))
	var enable struct {
		RecoveryCodes []string `json:"recoveryCodes"`
	}
	json.Unmarshal(serve("/totp/enable", `{"totp":"`+totpCode(secret, f.clock.Now())+`"}`), &enable)
	return secret, enable.RecoveryCodes
}

// decodeSecret decodes a base32 TOTP secret as apps read it: spaces
// ignored, no padding.
func decodeSecret(t *testing.T, text string) []byte {
	t.Helper()
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(text, " ", ""))
	if err != nil {
		t.Fatalf("decoding the secret %q: %v", text, err)
	}
	return secret
}

// passes reports whether the gate lets a request with cookie through as
// a verified session.
func (f *pagesFixture) passes(cookie string) bool {
	f.t.Helper()
	r := get("/docs", cookie)
	res, e := f.pages.Gate.Resolve(r.Context(), r)
	if e != nil {
		f.t.Fatalf("Resolve: %v", e)
	}
	return f.pages.Gate.Check(r, res).UserID != ""
}

// user reads a user's stored record.
func (f *pagesFixture) user(id string) *account.User {
	f.t.Helper()
	u, e := f.pages.API.User(&api.Caller{UserID: id})
	if e != nil {
		f.t.Fatalf("User: %v", e)
	}
	return u
}
