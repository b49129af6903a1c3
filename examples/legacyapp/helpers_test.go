package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for expiry tests.
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
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is a log sink that is safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testApp is a legacy app on an httptest server.
type testApp struct {
	t         *testing.T
	srv       *httptest.Server
	cfg       config
	clock     *fakeClock
	logs      *syncBuffer
	codesFile string
}

// newTestApp starts the app with the default settings, changed by edit when
// it is not nil.
func newTestApp(t *testing.T, edit func(*config)) *testApp {
	t.Helper()
	clock := &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	logs := &syncBuffer{}
	cfg := config{
		Listen:         "127.0.0.1:0",
		JWTSecret:      []byte("test-secret-test-secret-test-secret"),
		CookieName:     "session",
		AnonymousMe:    anonymousStatus401,
		ResetCodesFile: filepath.Join(t.TempDir(), "codes.jsonl"),
		Log:            logs,
		Now:            clock.Now,
	}
	if edit != nil {
		edit(&cfg)
	}
	srv := httptest.NewServer(newServer(cfg))
	t.Cleanup(srv.Close)
	return &testApp{t: t, srv: srv, cfg: cfg, clock: clock, logs: logs, codesFile: cfg.ResetCodesFile}
}

// response is a finished request: status, headers and body.
type response struct {
	Status int
	Header http.Header
	Body   string
	resp   *http.Response
}

// Cookie returns the cookie that the response sets under name.
func (r response) Cookie(name string) (*http.Cookie, bool) {
	for _, c := range r.resp.Cookies() {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// request sends one request without following redirects. body is sent as
// JSON unless it is a url.Values, which is sent as a form. Headers come in
// name, value pairs.
func (a *testApp) request(method, path string, body any, cookies []*http.Cookie, headers ...string) response {
	a.t.Helper()

	var reader io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		reader = strings.NewReader(b.Encode())
		contentType = "application/x-www-form-urlencoded"
	case string:
		reader = strings.NewReader(b)
		contentType = "application/json"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			a.t.Fatalf("encoding request body: %v", err)
		}
		reader = bytes.NewReader(raw)
		contentType = "application/json"
	}

	req, err := http.NewRequest(method, a.srv.URL+path, reader)
	if err != nil {
		a.t.Fatalf("building request %s %s: %v", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("reading answer of %s %s: %v", method, path, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(raw), resp: resp}
}

// formLogin logs in through the form and returns the session and
// remember-me cookies.
func (a *testApp) formLogin(username, password string) (session, remember *http.Cookie) {
	a.t.Helper()
	resp := a.request("POST", "/login", url.Values{"username": {username}, "password": {password}}, nil)
	if resp.Status != http.StatusSeeOther {
		a.t.Fatalf("form login of %s: status = %d, want 303", username, resp.Status)
	}
	session, ok := resp.Cookie(a.cfg.CookieName)
	if !ok {
		a.t.Fatalf("form login of %s set no session cookie", username)
	}
	remember, ok = resp.Cookie(rememberCookieName)
	if !ok {
		a.t.Fatalf("form login of %s set no remember-me cookie", username)
	}
	return session, remember
}

// apiLogin logs in through /api/login and returns the tokens and the session
// cookie.
func (a *testApp) apiLogin(username, password string) (tokenResponse, *http.Cookie) {
	a.t.Helper()
	resp := a.request("POST", "/api/login", map[string]string{"username": username, "password": password}, nil)
	if resp.Status != http.StatusOK {
		a.t.Fatalf("JSON login of %s: status = %d, want 200; body %s", username, resp.Status, resp.Body)
	}
	var tokens tokenResponse
	decodeJSON(a.t, resp.Body, &tokens)
	session, ok := resp.Cookie(a.cfg.CookieName)
	if !ok {
		a.t.Fatalf("JSON login of %s set no session cookie", username)
	}
	return tokens, session
}

// mailedCodes returns the lines of the codes file, none if it is missing.
func (a *testApp) mailedCodes() []mailedCode {
	a.t.Helper()
	f, err := os.Open(a.codesFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		a.t.Fatalf("opening codes file: %v", err)
	}
	defer f.Close()

	var codes []mailedCode
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		var c mailedCode
		decodeJSON(a.t, scanner.Text(), &c)
		codes = append(codes, c)
	}
	if err := scanner.Err(); err != nil {
		a.t.Fatalf("reading codes file: %v", err)
	}
	return codes
}

// lastCode returns the code of the last mail of that kind to that address.
func (a *testApp) lastCode(kind, email string) string {
	a.t.Helper()
	codes := a.mailedCodes()
	for i := len(codes) - 1; i >= 0; i-- {
		if codes[i].Kind == kind && codes[i].Email == email {
			return codes[i].Code
		}
	}
	a.t.Fatalf("no %s code mailed to %s; codes file has %+v", kind, email, codes)
	return ""
}

// decodeJSON decodes raw into v or fails the test.
func decodeJSON(t *testing.T, raw string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		t.Fatalf("decoding %q: %v", raw, err)
	}
}

// bearer returns the header pair of a bearer access token.
func bearer(token string) []string {
	return []string{"Authorization", "Bearer " + token}
}
