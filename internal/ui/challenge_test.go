package ui

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestChallengePage(t *testing.T) {
	f := newPagesFixture(t)
	f.enroll("alice")
	w := f.serve(get(uiPath+"/challenge?next="+url.QueryEscape("/docs?a=1&b=2"), "sid=sid-alice"))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200:\n%s", w.Code, w.Body.String())
	}
	body := w.Body.String()

	csrf := setCookie(w, "twofactor-csrf")
	if csrf == nil {
		t.Fatal("no CSRF cookie set")
	}
	if !csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode || csrf.Path != uiPath || csrf.Secure {
		t.Errorf("CSRF cookie = %+v, want HttpOnly, SameSite=Strict, Path %s, not Secure over HTTP", csrf, uiPath)
	}
	if len(csrf.Value) < 43 {
		t.Errorf("CSRF cookie has %d characters, want at least 43 (256 bits)", len(csrf.Value))
	}
	if got, want := hidden(t, body, "csrf"), f.keys.Current.MAC("csrf", csrf.Value); got != want {
		t.Errorf("form token = %q, want the HMAC of the CSRF cookie %q", got, want)
	}
	if got := hidden(t, body, "next"); got != "/docs?a=1&b=2" {
		t.Errorf("next = %q, want /docs?a=1&b=2", got)
	}
	for _, want := range []string{
		`<form method="post" action="/user/2fa/ui/challenge">`,
		`value="totp" checked>`,
		`value="recoveryCode" >`,
		`Authenticator app`,
		`Recovery code`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, `value="emailOtp"`) {
		t.Error("page offers email codes to a user without email OTP")
	}
}

func TestChallengeUnsafeNext(t *testing.T) {
	for _, next := range []string{"//evil.example", "https://evil.example/", "/\\evil.example", "evil"} {
		f := newPagesFixture(t)
		f.enroll("alice")
		w := f.serve(get(uiPath+"/challenge?next="+url.QueryEscape(next), "sid=sid-alice"))
		if got := hidden(t, w.Body.String(), "next"); got != "/" {
			t.Errorf("GET with next %q: form next = %q, want /", next, got)
		}
	}
}

func TestChallengeWithout2FA(t *testing.T) {
	f := newPagesFixture(t)
	w := f.serve(get(uiPath+"/challenge?next=%2Fdocs", "sid=sid-bob"))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("status %d, want 303", w.Code)
	}
	if got := w.Header().Get("Location"); got != uiPath+"/enroll?next=%2Fdocs" {
		t.Errorf("Location = %q, want the enrolment page with next", got)
	}
}

// challengePost posts a code to the challenge page as alice.
func (f *pagesFixture) challengePost(method, code, next string) *http.Request {
	f.t.Helper()
	cookie, token := f.form("challenge", "alice")
	return post(uiPath+"/challenge", cookie, url.Values{
		"csrf": {token}, "method": {method}, "code": {code}, "next": {next},
	})
}

func TestChallengePostTOTP(t *testing.T) {
	f := newPagesFixture(t)
	secret, _ := f.enroll("alice")
	f.clock.Advance(30 * time.Second)
	if f.passes("sid=sid-alice") {
		t.Fatal("the gate lets alice through before the challenge")
	}

	r := f.challengePost("totp", totpCode(secret, f.clock.Now()), "/docs?a=1")
	w := f.serve(r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("status %d, want 303:\n%s", w.Code, w.Body.String())
	}
	if got := w.Header().Get("Location"); got != "/docs?a=1" {
		t.Errorf("Location = %q, want /docs?a=1", got)
	}
	module := setCookie(w, "twofactor")
	if module == nil {
		t.Fatal("no module cookie set")
	}
	if !module.HttpOnly || module.Path != "/" || module.SameSite != http.SameSiteLaxMode {
		t.Errorf("module cookie = %+v, want HttpOnly, Path /, SameSite=Lax", module)
	}
	if !f.passes("sid=sid-alice; twofactor=" + module.Value) {
		t.Error("the gate does not let alice through with the new module cookie")
	}
	if f.passes("sid=sid-alice") {
		t.Error("the gate lets alice through without the module cookie")
	}
}

func TestChallengePostUnsafeNext(t *testing.T) {
	f := newPagesFixture(t)
	secret, _ := f.enroll("alice")
	f.clock.Advance(30 * time.Second)
	w := f.serve(f.challengePost("totp", totpCode(secret, f.clock.Now()), "//evil.example"))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("status %d, want 303", w.Code)
	}
	if got := w.Header().Get("Location"); got != "/" {
		t.Errorf("Location = %q, want /", got)
	}
}

func TestChallengePostRecoveryCode(t *testing.T) {
	f := newPagesFixture(t)
	_, codes := f.enroll("alice")
	typed := strings.ToLower(codes[0][:8] + "-" + codes[0][8:])
	w := f.serve(f.challengePost("recoveryCode", typed, "/"))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("status %d, want 303:\n%s", w.Code, w.Body.String())
	}
	module := setCookie(w, "twofactor")
	if module == nil || !f.passes("sid=sid-alice; twofactor="+module.Value) {
		t.Error("a recovery code did not verify the session")
	}

	w = f.serve(f.challengePost("recoveryCode", codes[0], "/"))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("second use of the code: status %d, want 401", w.Code)
	}
}

func TestChallengePostRejected(t *testing.T) {
	tests := []struct {
		name, method, code string
		status             int
		message            string
	}{
		{"wrong code", "totp", "WRONG", http.StatusUnauthorized, messages["TOTP_INVALID"]},
		{"short code", "totp", "12345", http.StatusBadRequest, "The request was invalid: the code must be 6 digits."},
		{"no method", "", "123456", http.StatusBadRequest, "The request was invalid: choose a method."},
		{"unknown method", "sms", "123456", http.StatusBadRequest, "The request was invalid: choose a method."},
		{"bad recovery code", "recoveryCode", "x", http.StatusBadRequest, "recoveryCode must be a string of 16 characters"},
		{"replayed code", "totp", "REPLAY", http.StatusUnauthorized, messages["TOTP_ALREADY_USED"]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPagesFixture(t)
			secret, _ := f.enroll("alice")
			code := tt.code
			switch code {
			case "WRONG":
				code = wrongCode(secret, f.clock.Now())
			case "REPLAY":
				code = totpCode(secret, t0) // the enable code
			}

			w := f.serve(f.challengePost(tt.method, code, "/docs"))
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			body := w.Body.String()
			if !strings.Contains(body, html.EscapeString(tt.message)) {
				t.Errorf("page lacks %q:\n%s", tt.message, body)
			}
			if setCookie(w, "twofactor") != nil {
				t.Error("a rejected code set the module cookie")
			}
			if got := hidden(t, body, "next"); got != "/docs" {
				t.Errorf("next after a rejected code = %q, want /docs kept", got)
			}
			if !strings.Contains(body, `name="code"`) {
				t.Error("the page does not offer the form again")
			}
		})
	}
}

func TestChallengeThrottleMessage(t *testing.T) {
	f := newPagesFixture(t)
	secret, _ := f.enroll("alice")
	for i := 0; i < 3; i++ {
		f.serve(f.challengePost("totp", wrongCode(secret, f.clock.Now()), "/"))
	}
	w := f.serve(f.challengePost("totp", wrongCode(secret, f.clock.Now()), "/"))
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", w.Code)
	}
	want := messages["TOO_MANY_TOTP_CHECKS"] + " Wait 1 second before the next try."
	if !strings.Contains(w.Body.String(), want) {
		t.Errorf("page lacks %q", want)
	}
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
