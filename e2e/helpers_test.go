package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// passwords of the example app's users, by username.
var passwords = map[string]string{
	"alice": "alice-password",
	"bob":   "bob-password",
	"carol": "carol-password",
}

// userIDs of the example app's users, as the module writes them in
// X-2FA-User.
var userIDs = map[string]string{"alice": "1", "bob": "2", "carol": "3"}

// moduleCookie is the module cookie's name over plain HTTP.
const moduleCookie = "twofactor"

// Marker texts of the app's pages behind login.
const (
	dashboardMarker = "Your numbers at a glance."
	reportMarker    = "Revenue went up."
)

// client is one user agent: its cookies and bearer token. Helpers update
// the cookies from Set-Cookie, as a browser does. A goroutine works on a
// clone, its own copy.
type client struct {
	t      *testing.T
	s      *stack
	user   string
	prefix string // prepended to every path, for sites under handle_path

	mu      sync.Mutex
	cookies []*http.Cookie
	bearer  string
	// accessToken and refreshToken are the app's tokens from a JSON login.
	accessToken, refreshToken string
}

func (s *stack) newClient(t *testing.T, user string) *client {
	return &client{t: t, s: s, user: user}
}

func (c *client) clone() *client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &client{t: c.t, s: c.s, user: c.user, prefix: c.prefix,
		cookies: slices.Clone(c.cookies), bearer: c.bearer,
		accessToken: c.accessToken, refreshToken: c.refreshToken}
}

// cookie returns the value of the named cookie, empty if the client has none.
func (c *client) cookie(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ck := range c.cookies {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// setCookie sets a cookie, or removes it when value is empty.
func (c *client) setCookie(name, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cookies = slices.DeleteFunc(c.cookies, func(ck *http.Cookie) bool { return ck.Name == name })
	if value != "" {
		c.cookies = append(c.cookies, &http.Cookie{Name: name, Value: value})
	}
}

func (c *client) cookieHeader() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	parts := make([]string, len(c.cookies))
	for i, ck := range c.cookies {
		parts[i] = ck.Name + "=" + ck.Value
	}
	return strings.Join(parts, "; ")
}

// response is the result of one request: status, headers and body.
type response struct {
	request string // "METHOD target", for messages
	status  int
	header  http.Header
	body    string
}

func (r *response) String() string {
	body := r.body
	if len(body) > 600 {
		body = body[:600] + "…"
	}
	return fmt.Sprintf("%s -> %d %s", r.request, r.status, strings.TrimSpace(body))
}

// object decodes the body as a JSON object, or returns nil.
func (r *response) object() map[string]any {
	var m map[string]any
	if json.Unmarshal([]byte(r.body), &m) != nil {
		return nil
	}
	return m
}

// message returns the message field of a module error response.
func (r *response) message() string {
	s, _ := r.object()["message"].(string)
	return s
}

// send sends one request through Caddy. Headers come in name, value pairs
// and replace what the client would send; an empty value removes the
// header.
func (c *client) send(method, path, body string, headers ...string) *response {
	c.t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.s.base+c.prefix+path, reader)
	if err != nil {
		c.t.Fatalf("building %s %s: %v", method, path, err)
	}
	if cookies := c.cookieHeader(); cookies != "" {
		req.Header.Set("Cookie", cookies)
	}
	c.mu.Lock()
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	c.mu.Unlock()
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	return c.do(req)
}

// do sends req without following redirects and records what the response
// sets.
func (c *client) do(req *http.Request) *response {
	c.t.Helper()
	r, err := c.try(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// try is do for goroutines other than the test's: it returns the error.
func (c *client) try(req *http.Request) (*response, error) {
	hc := &http.Client{
		Transport:     c.s.transport,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	target := req.Method + " " + req.URL.RequestURI()
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the response of %s: %v", target, err)
	}
	r := &response{request: target, status: resp.StatusCode, header: resp.Header, body: string(raw)}
	c.keep(resp.Cookies(), r)
	return r, nil
}

// tryGet sends a GET with the client's credentials, for goroutines other
// than the test's.
func (c *client) tryGet(path string) (*response, error) {
	req, err := http.NewRequest(http.MethodGet, c.s.base+c.prefix+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if cookies := c.cookieHeader(); cookies != "" {
		req.Header.Set("Cookie", cookies)
	}
	return c.try(req)
}

// keep applies Set-Cookie to the client and records every credential the
// response carries, for the log check.
func (c *client) keep(cookies []*http.Cookie, r *response) {
	for _, ck := range cookies {
		if ck.MaxAge < 0 || ck.Value == "" {
			c.setCookie(ck.Name, "")
			continue
		}
		c.s.secrets.add("cookie "+ck.Name, ck.Value)
		c.setCookie(ck.Name, ck.Value)
	}
	obj := r.object()
	for _, field := range []string{"accessToken", "refreshToken", "sudoToken"} {
		if v, ok := obj[field].(string); ok && v != "" {
			c.s.secrets.add(field, v)
		}
	}
	if codes, ok := obj["recoveryCodes"].([]any); ok {
		for _, code := range codes {
			if s, ok := code.(string); ok {
				c.s.secrets.add("recovery code", s)
			}
		}
	}
}

// get sends a GET as an API client that accepts JSON.
func (c *client) get(path string, headers ...string) *response {
	c.t.Helper()
	return c.send(http.MethodGet, path, "", append([]string{"Accept", "application/json"}, headers...)...)
}

// navigate sends a GET as a browser loading a page.
func (c *client) navigate(path string) *response {
	c.t.Helper()
	return c.send(http.MethodGet, path, "", "Accept", "text/html,application/xhtml+xml",
		"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Site", "none")
}

// post sends a JSON body as a same-origin script does.
func (c *client) post(path, body string, headers ...string) *response {
	c.t.Helper()
	return c.send(http.MethodPost, path, body, append([]string{
		"Content-Type", "application/json", "Origin", c.s.base, "Accept", "application/json",
	}, headers...)...)
}

// delete sends a DELETE as a same-origin script does.
func (c *client) delete(path string, headers ...string) *response {
	c.t.Helper()
	return c.send(http.MethodDelete, path, "", append([]string{
		"Content-Type", "application/json", "Origin", c.s.base, "Accept", "application/json",
	}, headers...)...)
}

// raw sends a request line as written, over a fresh connection, so that no
// client cleans the path. It adds Host, the client's cookies, Connection:
// close and, for a body, Content-Length.
func (c *client) raw(method, target, body string, headers ...string) *response {
	c.t.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(c.s.port), 10*time.Second)
	if err != nil {
		c.t.Fatalf("connecting to Caddy: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))

	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", method, target, c.s.port)
	if cookies := c.cookieHeader(); cookies != "" {
		fmt.Fprintf(&b, "Cookie: %s\r\n", cookies)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", headers[i], headers[i+1])
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		c.t.Fatalf("writing %s %s: %v", method, target, err)
	}

	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("reading the response of %s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("reading the body of %s %s: %v", method, target, err)
	}
	r := &response{request: method + " " + target, status: resp.StatusCode, header: resp.Header,
		body: string(raw)}
	c.keep(resp.Cookies(), r)
	return r
}

// loginJSON logs in through POST /api/login. The client keeps the session
// cookie and the tokens. It sends no bearer token unless its bearer field
// is set.
func (s *stack) loginJSON(t *testing.T, user string) *client {
	t.Helper()
	c := s.newClient(t, user)
	s.secrets.add("password", passwords[user])
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, user, passwords[user])
	r := c.send(http.MethodPost, "/api/login", body, "Content-Type", "application/json")
	if r.status != http.StatusOK {
		t.Fatalf("JSON login of %s: %v, want 200", user, r)
	}
	c.accessToken, _ = r.object()["accessToken"].(string)
	c.refreshToken, _ = r.object()["refreshToken"].(string)
	if c.cookie("session") == "" || c.accessToken == "" {
		t.Fatalf("JSON login of %s gave no session cookie or access token: %v", user, r)
	}
	return c
}

// loginBearer logs in through POST /api/login and keeps only the access
// token, which it sends as a bearer token.
func (s *stack) loginBearer(t *testing.T, user string) *client {
	t.Helper()
	c := s.loginJSON(t, user)
	c.setCookie("session", "")
	c.bearer = c.accessToken
	return c
}

// loginForm logs in through the login form, which sets the session and
// remember-me cookies.
func (s *stack) loginForm(t *testing.T, user string) *client {
	t.Helper()
	c := s.newClient(t, user)
	s.secrets.add("password", passwords[user])
	form := url.Values{"username": {user}, "password": {passwords[user]}, "next": {"/dashboard"}}
	r := c.send(http.MethodPost, "/login", form.Encode(),
		"Content-Type", "application/x-www-form-urlencoded", "Origin", s.base)
	if r.status != http.StatusSeeOther || c.cookie("session") == "" || c.cookie("remember") == "" {
		t.Fatalf("form login of %s: %v, want 303 with session and remember cookies", user, r)
	}
	return c
}
