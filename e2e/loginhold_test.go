package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// loginHoldTwofactor is the demo's handler setup with both logins of the
// app held until the second factor: the form login, which sets cookies,
// and the JSON login, which also gives tokens.
const loginHoldTwofactor = demoTwofactor + `login_hold POST /login
login_hold POST /api/login {
	token_field accessToken
}
`

// heldLoginJSON sends the JSON login of the client's user and checks that
// it was held: 401 2FA_REQUIRED with a partial token and the methods, and
// nothing of the app's response. It returns the partial token.
func heldLoginJSON(t *testing.T, c *client) string {
	t.Helper()
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, c.user, passwords[c.user])
	r := c.send(http.MethodPost, "/api/login", body, "Content-Type", "application/json")
	wantError(t, r, http.StatusUnauthorized, "2FA_REQUIRED")
	partial, _ := r.object()["partialToken"].(string)
	if !strings.HasPrefix(partial, "partial_") {
		t.Fatalf("%v: partialToken %q, want one that starts with partial_", r, partial)
	}
	c.s.secrets.add("partial token", partial)
	if got := methodsOf(r); got != "totp,recoveryCode" {
		t.Errorf("methods = %q, want totp,recoveryCode", got)
	}
	if got := r.header.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("the held login set cookies %q, want none", got)
	}
	for _, field := range []string{"accessToken", "refreshToken", "user", "eyJ"} {
		if strings.Contains(r.body, field) {
			t.Errorf("the held login's body %s shows %s of the app's response", r.body, field)
		}
	}
	return partial
}

// TestLoginHoldJSON logs in through the JSON API as a user with 2FA on.
// The client gets only a partial token, which works nowhere but the
// second factor, and then the app's tokens and cookie, once.
func TestLoginHoldJSON(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{Twofactor: loginHoldTwofactor})
	// Without 2FA both logins pass as the app writes them.
	s.loginForm(t, "bob")
	e := s.loginJSON(t, "alice").enrollTOTP()

	c := s.newClient(t, "alice")
	partial := heldLoginJSON(t, c)
	if got := c.cookieHeader(); got != "" {
		t.Errorf("the client holds cookies %q after the held login, want none", got)
	}
	if r := c.get("/api/me"); r.status != http.StatusUnauthorized || strings.Contains(r.body, "alice") {
		t.Errorf("%v: want the app's anonymous 401", r)
	}
	wantError(t, c.get("/api/me", bearerHeader(partial)...), http.StatusUnauthorized, "INVALID_TOKEN")
	wantError(t, c.get("/user/2fa", bearerHeader(partial)...), http.StatusUnauthorized, "INVALID_TOKEN")
	wantError(t, c.post("/user/2fa/totp/setup", "{}", bearerHeader(partial)...),
		http.StatusUnauthorized, "INVALID_TOKEN")

	r := c.post("/user/2fa/totp/authenticate", fmt.Sprintf(`{"totp":%q}`, e.freshCode(t)),
		bearerHeader(partial)...)
	wantStatus(t, r, http.StatusOK)
	access, _ := r.object()["accessToken"].(string)
	refresh, _ := r.object()["refreshToken"].(string)
	sudo, _ := r.object()["sudoToken"].(string)
	if !strings.HasPrefix(access, "eyJ") || refresh == "" || !strings.HasPrefix(sudo, "sudo_") {
		t.Fatalf("%v: want the app's access and refresh tokens and a sudo token", r)
	}
	if c.cookie("session") == "" || c.cookie(moduleCookie) == "" {
		t.Errorf("cookies after the release %q, want the app's session and the module cookie", c.cookieHeader())
	}
	again := c.post("/user/2fa/totp/authenticate", fmt.Sprintf(`{"totp":%q}`, e.freshCode(t)),
		bearerHeader(partial)...)
	wantError(t, again, http.StatusUnauthorized, "INVALID_TOKEN")

	// The released credential is verified however the client sends it.
	bearerOnly := s.newClient(t, "alice")
	bearerOnly.bearer = access
	cookiesOnly := c.clone()
	both := c.clone()
	both.bearer = access
	for name, client := range map[string]*client{"token": bearerOnly, "cookies": cookiesOnly, "both": both} {
		if r := client.get("/api/me"); r.status != http.StatusOK || r.object()["username"] != "alice" {
			t.Errorf("%s: %v, want alice's 200", name, r)
		}
	}
	wantStatus(t, bearerOnly.get("/_echo", "X-Sudo-Token", sudo), http.StatusOK)
	checkNoLeaks(t, s)
}

// TestLoginHoldParallel sends 20 authenticates with one partial token at
// once: ten with the user's ten recovery codes, ten with one TOTP code.
// Exactly one releases the login, and the others spend nothing.
func TestLoginHoldParallel(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{Twofactor: loginHoldTwofactor})
	owner := s.loginJSON(t, "alice")
	e := owner.enrollTOTP()
	partial := heldLoginJSON(t, s.newClient(t, "alice"))
	code := e.freshCode(t)

	const n = 20
	results := make([]*response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		body := fmt.Sprintf(`{"totp":%q}`, code)
		path := "/user/2fa/totp/authenticate"
		if i < len(e.recovery) {
			body, path = fmt.Sprintf(`{"recoveryCode":%q}`, e.recovery[i]), "/user/2fa/recovery-code/authenticate"
		}
		req, err := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatalf("building request %d: %v", i, err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+partial)
		c := s.newClient(t, "alice")
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = c.try(req)
		}()
	}
	wg.Wait()

	released, byRecovery := 0, 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		switch {
		case r.status == http.StatusOK:
			released++
			if i < len(e.recovery) {
				byRecovery++
			}
		case r.status != http.StatusUnauthorized ||
			(r.message() != "INVALID_TOKEN" && r.message() != "TOTP_ALREADY_USED"):
			t.Errorf("request %d: %v, want 200 or 401 INVALID_TOKEN or TOTP_ALREADY_USED", i, r)
		}
	}
	if released != 1 {
		t.Errorf("%d of %d authenticates released the login, want exactly 1", released, n)
	}
	owner.authenticateTOTP(e)
	status := owner.get("/user/2fa")
	recovery, _ := status.object()["recoveryCodes"].(map[string]any)
	left, _ := recovery["remaining"].(float64)
	if want := len(e.recovery) - byRecovery; int(left) != want {
		t.Errorf("%v: %v recovery codes left, want %d: the rejected requests spend none", status, left, want)
	}
}

// browserClient is a browser as far as the login hold can tell: a cookie
// jar, Accept: text/html, and redirects followed. It records every
// response of a redirect chain.
type browserClient struct {
	t     *testing.T
	s     *stack
	jar   *cookiejar.Jar
	http  *http.Client
	chain []*http.Response
}

func newBrowserClient(t *testing.T, s *stack) *browserClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("creating a cookie jar: %v", err)
	}
	b := &browserClient{t: t, s: s, jar: jar}
	b.http = &http.Client{Transport: s.transport, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			b.chain = append(b.chain, req.Response)
			if len(via) >= 10 {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	return b
}

// do sends a request as a browser page would and follows redirects. It
// returns the final response with its body.
func (b *browserClient) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.s.base+path, body)
	if err != nil {
		b.t.Fatalf("building %s %s: %v", method, path, err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.s.base)
	}
	b.chain = nil
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("reading the response of %s %s: %v", method, path, err)
	}
	return resp, string(raw)
}

// cookieNames returns the names of the cookies the jar sends to path.
func (b *browserClient) cookieNames(path string) []string {
	u, _ := url.Parse(b.s.base + path)
	var names []string
	for _, c := range b.jar.Cookies(u) {
		names = append(names, c.Name)
		b.s.secrets.add("cookie "+c.Name, c.Value)
	}
	slices.Sort(names)
	return names
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestLoginHoldBrowser logs in through the app's form as a browser does.
// The login lands on the challenge page with no cookie of the app, and
// after a TOTP code on the page it was headed for, logged in.
func TestLoginHoldBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{Twofactor: loginHoldTwofactor})
	e := s.loginJSON(t, "alice").enrollTOTP()
	b := newBrowserClient(t, s)

	form := url.Values{"username": {"alice"}, "password": {passwords["alice"]}, "next": {reportPath}}
	resp, page := b.do(http.MethodPost, "/login", form)
	if len(b.chain) != 1 {
		t.Fatalf("the login took %d redirects, want 1 to the challenge page", len(b.chain))
	}
	held := b.chain[0]
	if held.StatusCode != http.StatusSeeOther ||
		held.Header.Get("Location") != uiPage("challenge")+"?next="+url.QueryEscape(reportPath) {
		t.Errorf("login response %d to %q, want 303 to the challenge page with next %s",
			held.StatusCode, held.Header.Get("Location"), reportPath)
	}
	for _, line := range held.Header.Values("Set-Cookie") {
		if !strings.HasPrefix(line, "twofactor-partial=") || !strings.Contains(line, "Path=/user/2fa;") ||
			!strings.Contains(line, "HttpOnly") {
			t.Errorf("the held login set %q, want only the partial cookie for /user/2fa, HttpOnly", line)
		}
	}
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != uiPage("challenge") ||
		!strings.Contains(page, `name="method" value="totp"`) {
		t.Fatalf("landed on %d %s, want the TOTP form of the challenge page", resp.StatusCode, resp.Request.URL)
	}
	if got := b.cookieNames("/"); slices.Contains(got, "session") || slices.Contains(got, "remember") {
		t.Errorf("the browser holds cookies %q of the held login, want none of the app's", got)
	}
	if r, _ := b.do(http.MethodGet, "/api/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/me before the second factor: %d, want the app's anonymous 401", r.StatusCode)
	}
	if r, _ := b.do(http.MethodGet, "/dashboard", nil); r.Request.URL.Path != "/login" {
		t.Errorf("GET /dashboard before the second factor landed on %s, want the app's login form",
			r.Request.URL.Path)
	}

	resp, page = b.do(http.MethodGet, uiPage("challenge")+"?next="+url.QueryEscape(reportPath), nil)
	m := csrfField.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("challenge page %d without a CSRF token:\n%s", resp.StatusCode, page)
	}
	code := url.Values{"csrf": {m[1]}, "next": {reportPath}, "method": {"totp"}, "action": {"verify"},
		"code": {e.freshCode(t)}}
	resp, page = b.do(http.MethodPost, uiPage("challenge"), code)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != reportPath ||
		!strings.Contains(page, reportMarker) {
		t.Fatalf("after the code: %d %s, want the report page", resp.StatusCode, resp.Request.URL)
	}
	if got := b.cookieNames("/"); !slices.Contains(got, "session") || !slices.Contains(got, "remember") ||
		!slices.Contains(got, moduleCookie) {
		t.Errorf("cookies after the second factor %q, want the app's session and remember and the module's", got)
	}
	if got := b.cookieNames(uiPage("challenge")); slices.Contains(got, "twofactor-partial") {
		t.Errorf("cookies of the challenge page %q, want the partial cookie cleared", got)
	}
	if _, page := b.do(http.MethodGet, "/dashboard", nil); !strings.Contains(page, dashboardMarker) {
		t.Error("GET /dashboard after the second factor did not show the dashboard")
	}
	checkNoLeaks(t, s)
}

// checkNoLeaks fails the test if Caddy's log contains a secret of the run.
func checkNoLeaks(t *testing.T, s *stack) {
	t.Helper()
	for _, l := range findLeaks(s.caddyOut.String(), s.secrets.snapshot()) {
		t.Errorf("Caddy's log contains a %s: %s", l.kind, l.line)
	}
}
