package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
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
		`<html lang="en">`,
		`<form method="post" action="/user/2fa/ui/challenge">`,
		`<input type="hidden" name="method" value="totp">`,
		`<label for="code">Code from your authenticator app</label>`,
		`inputmode="numeric" autocomplete="one-time-code"`,
		`aria-describedby="code-hint"`,
		`<a href="/user/2fa/ui/challenge?method=recoveryCode&amp;next=%2fdocs%3fa%3d1%26b%3d2">Use a recovery code</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "emailOtp") {
		t.Error("page offers email codes to a user without email OTP")
	}
	if strings.Contains(body, "<script") {
		t.Error("the challenge page loads a script it does not need")
	}
}

func TestChallengeRecoveryCodeForm(t *testing.T) {
	f := newPagesFixture(t)
	f.enroll("alice")
	w := f.serve(get(uiPath+"/challenge?method=recoveryCode", "sid=sid-alice"))
	body := w.Body.String()
	for _, want := range []string{
		`<input type="hidden" name="method" value="recoveryCode">`,
		`<label for="code">Recovery code</label>`,
		`autocomplete="off" autocapitalize="characters"`,
		`>Use your authenticator app</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, `inputmode="numeric"`) {
		t.Error("the recovery code field asks for a numeric keyboard, but codes have letters")
	}
}

func TestChallengeUnsafeNext(t *testing.T) {
	f := newPagesFixture(t)
	f.enroll("alice")
	for _, next := range []string{"//evil.example", "https://evil.example/", "/\\evil.example", "evil", "/%2f/evil"} {
		w := f.serve(get(uiPath+"/challenge?next="+url.QueryEscape(next), "sid=sid-alice"))
		if got := hidden(t, w.Body.String(), "next"); got != "/" {
			t.Errorf("GET with next %q: form next = %q, want /", next, got)
		}
	}
}

func TestChallengeWithout2FA(t *testing.T) {
	f := newPagesFixture(t)
	w := f.serve(get(uiPath+"/challenge?next=%2Fdocs", "sid=sid-bob"))
	wantRedirect(t, w, uiPath+"/enroll?next=%2Fdocs")
}

func TestChallengeAlreadyVerified(t *testing.T) {
	f := newPagesFixture(t)
	secret, _ := f.enroll("alice")
	c := f.client("alice")
	c.get(uiPath + "/challenge")
	f.clock.Advance(30 * time.Second)
	w := c.post(uiPath+"/challenge", url.Values{"method": {"totp"}, "code": {totpCode(secret, f.clock.Now())}})
	wantRedirect(t, w, "/")

	wantRedirect(t, c.get(uiPath+"/challenge?next=%2Freports%2Fannual"), "/reports/annual")
}

func TestChallengePostTOTP(t *testing.T) {
	f := newPagesFixture(t)
	secret, _ := f.enroll("alice")
	f.clock.Advance(30 * time.Second)
	if f.passes("sid=sid-alice") {
		t.Fatal("the gate lets alice through before the challenge")
	}

	c := f.client("alice")
	c.get(uiPath + "/challenge")
	code := totpCode(secret, f.clock.Now())
	w := c.post(uiPath+"/challenge", url.Values{"method": {"totp"}, "code": {code[:3] + " " + code[3:]},
		"next": {"/docs?a=1"}})
	wantRedirect(t, w, "/docs?a=1")
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
	if setCookie(w, "twofactor-sudo") != nil {
		t.Error("the challenge set a sudo cookie, which only the confirm page sets")
	}
}

func TestChallengePostUnsafeNext(t *testing.T) {
	f := newPagesFixture(t)
	secret, _ := f.enroll("alice")
	f.clock.Advance(30 * time.Second)
	c := f.client("alice")
	c.get(uiPath + "/challenge")
	w := c.post(uiPath+"/challenge", url.Values{"method": {"totp"}, "code": {totpCode(secret, f.clock.Now())},
		"next": {"//evil.example"}})
	wantRedirect(t, w, "/")
}

func TestChallengePostRecoveryCode(t *testing.T) {
	f := newPagesFixture(t)
	_, codes := f.enroll("alice")
	c := f.client("alice")
	c.get(uiPath + "/challenge?method=recoveryCode")
	typed := strings.ToLower(codes[0][:8] + "-" + codes[0][8:])
	w := c.post(uiPath+"/challenge", url.Values{"method": {"recoveryCode"}, "code": {typed}, "next": {"/"}})
	wantRedirect(t, w, "/")
	if !f.passes(c.cookieHeader()) {
		t.Error("a recovery code did not verify the session")
	}

	w = c.post(uiPath+"/challenge", url.Values{"method": {"recoveryCode"}, "code": {codes[0]}, "next": {"/"}})
	if w.Code != http.StatusUnauthorized {
		t.Errorf("second use of the code: status %d, want 401", w.Code)
	}
	wantText(t, w, english[api.CodeRecoveryCodeInvalid])
}

func TestChallengePostRejected(t *testing.T) {
	tests := []struct {
		name, method, code string
		status             int
		message            string
	}{
		{"wrong code", "totp", "WRONG", http.StatusUnauthorized, english[api.CodeTOTPInvalid]},
		{"short code", "totp", "12345", http.StatusBadRequest, english["error.codeFormat"]},
		{"letters", "totp", "12a456", http.StatusBadRequest, english["error.codeFormat"]},
		{"no method", "", "123456", http.StatusBadRequest, english["error.incomplete"]},
		{"unknown method", "sms", "123456", http.StatusBadRequest, english["error.incomplete"]},
		{"inactive method", "emailOtp", "123456", http.StatusBadRequest, english["error.incomplete"]},
		{"bad recovery code", "recoveryCode", "x", http.StatusBadRequest, english["error.recoveryFormat"]},
		{"replayed code", "totp", "REPLAY", http.StatusUnauthorized, english[api.CodeTOTPAlreadyUsed]},
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

			c := f.client("alice")
			c.get(uiPath + "/challenge")
			w := c.post(uiPath+"/challenge", url.Values{"method": {tt.method}, "code": {code}, "next": {"/docs"}})
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			wantText(t, w, tt.message)
			body := w.Body.String()
			if !strings.Contains(body, `<p id="error" class="error" role="alert">`) {
				t.Error("the error is not an alert")
			}
			if !strings.Contains(body, `aria-describedby="error code-hint" aria-invalid="true"`) {
				t.Error("the code field does not point at the error")
			}
			if setCookie(w, "twofactor") != nil {
				t.Error("a rejected code set the module cookie")
			}
			if got := hidden(t, body, "next"); got != "/docs" {
				t.Errorf("next after a rejected code = %q, want /docs kept", got)
			}
		})
	}
}

func TestChallengeThrottleMessage(t *testing.T) {
	f := newPagesFixture(t)
	secret, _ := f.enroll("alice")
	c := f.client("alice")
	c.get(uiPath + "/challenge")
	for i := 0; i < 3; i++ {
		c.post(uiPath+"/challenge", url.Values{"method": {"totp"}, "code": {wrongCode(secret, f.clock.Now())}})
	}
	w := c.post(uiPath+"/challenge", url.Values{"method": {"totp"}, "code": {wrongCode(secret, f.clock.Now())}})
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", w.Code)
	}
	wantText(t, w, english[api.CodeTooManyTOTPChecks]+" Try again in 1 second.")
}

func TestChallengeEmail(t *testing.T) {
	f := newPagesFixture(t).withMail()
	c := f.client("bob")
	enrollEmail(t, f, c, "bob.codes@example.com")
	c.cookies = map[string]string{"sid": "sid-bob"} // a new login
	f.clock.Advance(time.Minute)

	w := c.get(uiPath + "/challenge?method=emailOtp&next=%2Freports")
	wantText(t, w, "We will send a code to bob.codes@example.com.")
	if strings.Contains(w.Body.String(), `name="code"`) {
		t.Error("the email method shows a code field before a code was sent")
	}
	sent := f.mail.codeMails(t)
	w = c.post(uiPath+"/challenge", url.Values{"method": {"emailOtp"}, "action": {"send"}, "next": {"/reports"}})
	if w.Code != http.StatusOK {
		t.Fatalf("send: status %d, want 200:\n%s", w.Code, w.Body.String())
	}
	wantText(t, w, "We sent a code to bob.codes@example.com. It is valid for 10 minutes.")
	if got := f.mail.codeMails(t); got != sent+1 {
		t.Fatalf("code mails delivered = %d, want %d", got, sent+1)
	}
	to, code := f.mail.lastCode(t)
	if to != "bob.codes@example.com" {
		t.Errorf("code mailed to %q, want bob.codes@example.com", to)
	}

	// A reload shows the code field for the code already sent.
	w = c.get(uiPath + "/challenge?method=emailOtp&next=%2Freports")
	wantText(t, w, "Enter the code we sent to bob.codes@example.com.")

	w = c.post(uiPath+"/challenge", url.Values{"method": {"emailOtp"}, "action": {"send"}, "next": {"/reports"}})
	if w.Code != http.StatusTooManyRequests {
		t.Errorf("a second send within a minute: status %d, want 429", w.Code)
	}
	wantText(t, w, english[api.CodeTooManyOTPEmails]+" Try again in 60 seconds.")

	w = c.post(uiPath+"/challenge", url.Values{"method": {"emailOtp"}, "code": {code}, "next": {"/reports"}})
	wantRedirect(t, w, "/reports")
	if !f.passes(c.cookieHeader()) {
		t.Error("an email code did not verify the session")
	}
}

func TestChallengeEmailWithoutMailer(t *testing.T) {
	f := newPagesFixture(t).withMail()
	c := f.client("bob")
	enrollEmail(t, f, c, "bob@example.com")
	f.pages.API.WaitNotices()
	f.pages.API.Mailer = nil

	c.get(uiPath + "/challenge?method=emailOtp")
	w := c.post(uiPath+"/challenge", url.Values{"method": {"emailOtp"}, "action": {"send"}})
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", w.Code)
	}
	wantText(t, w, english[api.CodeMailDeliveryFailed])
}

func TestChallengeLanguage(t *testing.T) {
	f := newPagesFixture(t)
	f.enroll("alice")
	tests := []struct {
		accept, lang, intro string
	}{
		{"nl-NL,nl;q=0.9,en;q=0.5", "nl", dutch["challenge.intro"]},
		{"fr-CA", "fr", french["challenge.intro"]},
		{"en;q=0.4, de;q=0.8", "de", german["challenge.intro"]},
		{"es, *;q=0.1", "en", english["challenge.intro"]},
		{"", "en", english["challenge.intro"]},
	}
	for _, tt := range tests {
		r := get(uiPath+"/challenge", "sid=sid-alice")
		r.Header.Set("Accept-Language", tt.accept)
		w := f.serve(r)
		if !strings.Contains(w.Body.String(), `<html lang="`+tt.lang+`">`) {
			t.Errorf("Accept-Language %q: page lacks lang %q", tt.accept, tt.lang)
		}
		if got := w.Header().Get("Content-Language"); got != tt.lang {
			t.Errorf("Accept-Language %q: Content-Language = %q, want %q", tt.accept, got, tt.lang)
		}
		wantText(t, w, tt.intro)
	}
}
