package ui

import (
	"crypto/tls"
	"encoding/base32"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

var (
	secretPattern = regexp.MustCompile(`<code class="secret">([A-Z2-7]+)</code>`)
	codePattern   = regexp.MustCompile(`<li><code>([0-9A-Z]+)</code></li>`)
)

// enrollPost posts one step of the enrolment form with the given cookies
// and CSRF token.
func (f *pagesFixture) enrollPost(cookie, token, step string, extra url.Values) *httptest.ResponseRecorder {
	f.t.Helper()
	form := url.Values{"csrf": {token}, "step": {step}, "next": {"/home"}}
	for name, values := range extra {
		form[name] = values
	}
	return f.serve(post(uiPath+"/enroll", cookie, form))
}

func TestEnrollFlow(t *testing.T) {
	f := newPagesFixture(t)

	w := f.serve(get(uiPath+"/enroll?next=%2Fhome", "sid=sid-bob"))
	if w.Code != http.StatusOK {
		t.Fatalf("GET: status %d, want 200", w.Code)
	}
	if got := hidden(t, w.Body.String(), "step"); got != "setup" {
		t.Errorf("GET: step = %q, want setup", got)
	}
	csrf := setCookie(w, "twofactor-csrf")
	if csrf == nil {
		t.Fatal("GET set no CSRF cookie")
	}
	cookie := "sid=sid-bob; twofactor-csrf=" + csrf.Value
	token := hidden(t, w.Body.String(), "csrf")

	// Setup shows the QR code and the secret, and a form for the first code.
	w = f.enrollPost(cookie, token, "setup", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("setup: status %d, want 200:\n%s", w.Code, w.Body.String())
	}
	body := w.Body.String()
	if !strings.Contains(body, `<img src="data:image/png;base64,`) {
		t.Error("setup page shows no QR code")
	}
	m := secretPattern.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("setup page shows no secret:\n%s", body)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(m[1])
	if err != nil || len(secret) != 20 {
		t.Fatalf("secret %q does not decode to 20 bytes: %v", m[1], err)
	}
	if got := hidden(t, body, "step"); got != "enable" {
		t.Errorf("setup: next step = %q, want enable", got)
	}
	if u := f.user("bob"); u.PendingTOTP == nil || u.Enabled() {
		t.Errorf("after setup: %+v, want a pending secret and 2FA off", u)
	}

	// Enable shows the recovery codes once and verifies the session.
	w = f.enrollPost(cookie, token, "enable", url.Values{"code": {totpCode(secret, f.clock.Now())}})
	if w.Code != http.StatusOK {
		t.Fatalf("enable: status %d, want 200:\n%s", w.Code, w.Body.String())
	}
	body = w.Body.String()
	codes := codePattern.FindAllStringSubmatch(body, -1)
	if len(codes) != 10 {
		t.Errorf("enable page shows %d recovery codes, want 10", len(codes))
	}
	if !strings.Contains(body, "Two-factor authentication is on.") {
		t.Error("enable page lacks the confirmation")
	}
	if !strings.Contains(body, `<a href="/home">Continue</a>`) {
		t.Error("enable page lacks the link to next")
	}
	module := setCookie(w, "twofactor")
	if module == nil {
		t.Fatal("enable set no module cookie")
	}
	if !f.passes("sid=sid-bob; twofactor=" + module.Value) {
		t.Error("the gate does not let bob through after enrolling")
	}
	if !f.user("bob").Enabled() {
		t.Error("2FA off after enable")
	}

	// A shown recovery code works.
	if len(codes) > 0 {
		c := f.callerOf("sid=sid-bob; twofactor=" + module.Value)
		r := httptest.NewRequest(http.MethodPost, api.Prefix+"/recovery-code/authenticate",
			strings.NewReader(`{"recoveryCode":"`+codes[0][1]+`"}`))
		rec := httptest.NewRecorder()
		f.pages.API.ServeAPI(rec, r, "/recovery-code/authenticate", c)
		if rec.Code != http.StatusOK {
			t.Errorf("a recovery code from the page: status %d, want 200", rec.Code)
		}
	}

	// The codes are not shown again.
	w = f.serve(get(uiPath+"/enroll", "sid=sid-bob"))
	body = w.Body.String()
	if !strings.Contains(body, "Two-factor authentication is already on for your account.") {
		t.Error("enrol page after enrolling lacks the already-on message")
	}
	if codePattern.MatchString(body) || strings.Contains(body, "<form") {
		t.Error("enrol page after enrolling shows codes or a form")
	}
}

func TestEnrollUnsafeNext(t *testing.T) {
	f := newPagesFixture(t)
	w := f.serve(get(uiPath+"/enroll?next="+url.QueryEscape("//evil.example"), "sid=sid-bob"))
	if got := hidden(t, w.Body.String(), "next"); got != "/" {
		t.Errorf("next = %q, want /", got)
	}
	cookie, token := f.form("enroll", "bob")
	w = f.serve(post(uiPath+"/enroll", cookie, url.Values{"csrf": {token}, "step": {"setup"}, "next": {"/\\evil"}}))
	if got := hidden(t, w.Body.String(), "next"); got != "/" {
		t.Errorf("next after a POST = %q, want /", got)
	}
}

func TestEnrollWrongCode(t *testing.T) {
	f := newPagesFixture(t)
	cookie, token := f.form("enroll", "bob")
	body := f.enrollPost(cookie, token, "setup", nil).Body.String()
	m := secretPattern.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("setup page shows no secret")
	}
	secret, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(m[1])

	tests := []struct {
		code    string
		status  int
		message string
	}{
		{wrongCode(secret, f.clock.Now()), http.StatusUnauthorized, messages[api.CodeTOTPInvalid]},
		{"12 456", http.StatusBadRequest, "The request was invalid: the code must be 6 digits."},
	}
	for _, tt := range tests {
		w := f.enrollPost(cookie, token, "enable", url.Values{"code": {tt.code}})
		if w.Code != tt.status {
			t.Errorf("code %q: status %d, want %d", tt.code, w.Code, tt.status)
		}
		body := w.Body.String()
		if !strings.Contains(body, html.EscapeString(tt.message)) {
			t.Errorf("code %q: page lacks %q", tt.code, tt.message)
		}
		if got := hidden(t, body, "step"); got != "enable" {
			t.Errorf("code %q: step = %q, want the enable form again", tt.code, got)
		}
		if setCookie(w, "twofactor") != nil {
			t.Errorf("code %q: module cookie set", tt.code)
		}
	}
	if f.user("bob").Enabled() {
		t.Error("2FA on after wrong codes")
	}

	w := f.enrollPost(cookie, token, "enable", url.Values{"code": {totpCode(secret, f.clock.Now())}})
	if w.Code != http.StatusOK {
		t.Errorf("right code after wrong ones: status %d, want 200", w.Code)
	}
}

func TestEnrollIncompleteForm(t *testing.T) {
	f := newPagesFixture(t)
	cookie, token := f.form("enroll", "bob")
	for _, step := range []string{"", "delete"} {
		w := f.enrollPost(cookie, token, step, nil)
		if w.Code != http.StatusBadRequest {
			t.Errorf("step %q: status %d, want 400", step, w.Code)
		}
		if !strings.Contains(w.Body.String(), "The form is incomplete.") {
			t.Errorf("step %q: page lacks the incomplete-form message", step)
		}
	}
}

func TestEnrollSetupWhen2FAOn(t *testing.T) {
	// Resetting TOTP needs a sudo token, which a form post never has.
	f := newPagesFixture(t)
	f.enroll("alice")
	cookie, token := f.form("challenge", "alice")
	w := f.serve(post(uiPath+"/enroll", cookie, url.Values{"csrf": {token}, "step": {"setup"}}))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", w.Code)
	}
	if !strings.Contains(w.Body.String(), html.EscapeString(messages[api.CodeSudoTokenRequired])) {
		t.Errorf("page lacks %q", messages[api.CodeSudoTokenRequired])
	}
	if f.user("alice").PendingTOTP != nil {
		t.Error("a new secret is pending after a rejected setup")
	}
}

func TestEnrollOverHTTPS(t *testing.T) {
	f := newPagesFixture(t)
	tlsState := &tls.ConnectionState{HandshakeComplete: true}

	r := get("https://example.com"+uiPath+"/enroll", "sid=sid-bob")
	r.TLS = tlsState
	w := f.serve(r)
	csrf := setCookie(w, "__Host-twofactor-csrf")
	if csrf == nil {
		t.Fatalf("no __Host-twofactor-csrf cookie over HTTPS, cookies %v", w.Result().Cookies())
	}
	if !csrf.Secure || csrf.Path != "/" {
		t.Errorf("CSRF cookie Secure %v, Path %q, want Secure and /", csrf.Secure, csrf.Path)
	}
	token := hidden(t, w.Body.String(), "csrf")
	cookie := "sid=sid-bob; __Host-twofactor-csrf=" + csrf.Value

	setupRequest := func(cookie string) *http.Request {
		r := post("https://example.com"+uiPath+"/enroll", cookie, url.Values{"csrf": {token}, "step": {"setup"}})
		r.Header.Set("Origin", "https://example.com")
		r.TLS = tlsState
		return r
	}
	// A plain-named cookie, which a sibling site could plant over HTTP,
	// does not count over HTTPS.
	if w := f.serve(setupRequest("sid=sid-bob; twofactor-csrf=" + csrf.Value)); w.Code != http.StatusForbidden {
		t.Errorf("plain CSRF cookie over HTTPS: status %d, want 403", w.Code)
	}
	w = f.serve(setupRequest(cookie))
	m := secretPattern.FindStringSubmatch(w.Body.String())
	if w.Code != http.StatusOK || m == nil {
		t.Fatalf("setup over HTTPS: status %d, want 200 with a secret", w.Code)
	}
	secret, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(m[1])

	r = post("https://example.com"+uiPath+"/enroll", cookie,
		url.Values{"csrf": {token}, "step": {"enable"}, "code": {totpCode(secret, f.clock.Now().Add(time.Second))}})
	r.Header.Set("Origin", "https://example.com")
	r.TLS = tlsState
	w = f.serve(r)
	module := setCookie(w, "__Host-twofactor")
	if module == nil || !module.Secure || module.Path != "/" {
		t.Errorf("module cookie over HTTPS = %+v, want __Host-twofactor, Secure, Path /", module)
	}
}
