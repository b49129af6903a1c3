package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestGuardOldPassword checks the sudo token requirement of a password
// change, that the sudo token never reaches the app, and that the change
// ends every other verified session of the user.
func TestGuardOldPassword(t *testing.T) {
	t.Parallel()
	s := newGuardStack(t, stackConfig{})
	alice := s.loginBearer(t, "alice")
	e := alice.enrollTOTP()
	sudo := alice.authenticateRecovery(e.recovery[0])
	other := s.loginBearer(t, "alice")
	other.authenticateRecovery(e.recovery[1])
	wantStatus(t, other.get("/api/items"), http.StatusOK)
	change := func(c *client, oldPassword string, headers ...string) *response {
		return c.putJSON(oldPasswordPath, jsonFields("oldPassword", oldPassword,
			"newPassword", "another password"), headers...)
	}

	wantError(t, change(alice, "alice-password"), http.StatusUnauthorized, "SUDO_TOKEN_REQUIRED")
	if got := s.lastAppRequest(oldPasswordPath); got != nil {
		t.Errorf("the app received a change without a sudo token: %v", got.Headers)
	}
	wantError(t, change(other, "alice-password", "X-Sudo-Token", sudo), http.StatusUnauthorized,
		"SUDO_TOKEN_INVALID")

	// The app judges the old password. A wrong one reaches it and ends no
	// session.
	wantStatus(t, change(alice, "wrong password", "X-Sudo-Token", sudo), http.StatusUnauthorized)
	s.wantNoSecondFactor(t, oldPasswordPath, sudo)
	wantStatus(t, other.get("/api/items"), http.StatusOK)

	s.secrets.add("password", "another password")
	wantStatus(t, change(alice, "alice-password", "X-Sudo-Token", sudo), http.StatusOK)
	s.wantNoSecondFactor(t, oldPasswordPath, sudo)
	wantError(t, other.get("/api/items"), http.StatusUnauthorized, "2FA_REQUIRED")
	wantStatus(t, alice.get("/api/items"), http.StatusOK)
}

// TestGuardOldPasswordThrottle counts the app's refusals of the old
// password per user, for a user without 2FA too.
func TestGuardOldPasswordThrottle(t *testing.T) {
	t.Parallel()
	s := newGuardStack(t, stackConfig{})
	bob := s.loginJSON(t, "bob")
	change := func(oldPassword string) *response {
		return bob.putJSON(oldPasswordPath, jsonFields("oldPassword", oldPassword,
			"newPassword", "another password"))
	}
	for range 3 {
		wantStatus(t, change("wrong password"), http.StatusUnauthorized)
	}
	r := change("bob-password")
	wantError(t, r, http.StatusTooManyRequests, "TOO_MANY_FAILED_PASSWORD_CHECKS")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("%v: Retry-After %q, want 1", r, r.header.Get("Retry-After"))
	}
}

// TestGuardSudoInAuthorization sends the sudo token as a bearer token
// beside a cookie credential: the app gets no Authorization header.
func TestGuardSudoInAuthorization(t *testing.T) {
	t.Parallel()
	s := newGuardStack(t, stackConfig{})
	alice := s.loginJSON(t, "alice")
	e := alice.enrollTOTP()
	sudo := alice.authenticateRecovery(e.recovery[0])
	r := alice.putJSON(oldPasswordPath, jsonFields("oldPassword", "alice-password",
		"newPassword", "another password"), "Authorization", "Bearer "+sudo)
	wantStatus(t, r, http.StatusOK)
	s.wantNoSecondFactor(t, oldPasswordPath, sudo)
	if got := s.lastAppRequest(oldPasswordPath); len(got.Headers.Values("Authorization")) > 0 {
		t.Errorf("the app received Authorization: %v", got.Headers.Values("Authorization"))
	}
}

// TestGuardEmailChange checks the sudo token and the once-a-minute limit
// of starting an email change, and that the module learns the new address
// after the change: a reset for it then needs the second factor.
func TestGuardEmailChange(t *testing.T) {
	t.Parallel()
	s := newGuardStack(t, stackConfig{})
	alice := s.loginJSON(t, "alice")
	e := alice.enrollTOTP()
	sudo := alice.authenticateRecovery(e.recovery[0])
	initiate := func(headers ...string) *response {
		return alice.post("/user/email/initiate", `{"email":"alice@new.example"}`, headers...)
	}

	wantError(t, initiate(), http.StatusUnauthorized, "SUDO_TOKEN_REQUIRED")
	wantStatus(t, initiate("X-Sudo-Token", sudo), http.StatusOK)
	s.wantNoSecondFactor(t, "/user/email/initiate", sudo)
	wantError(t, initiate("X-Sudo-Token", sudo), http.StatusTooManyRequests, "TOO_MANY_TRANSFER_ATTEMPTS")

	code := s.mailedCode("email-transfer", "alice@new.example")
	wantStatus(t, alice.putJSON("/user/email", jsonFields("code", code)), http.StatusOK)
	// The identity cache was dropped, so this request reports the new
	// address to the module.
	wantStatus(t, alice.get("/api/items"), http.StatusOK)

	anon := s.newClient(t, "")
	wantStatus(t, anon.post(resetSendPath, `{"email":"alice@new.example"}`), http.StatusOK)
	reset := s.mailedCode("reset", "alice@new.example")
	r := anon.putJSON(resetPasswordPath, jsonFields("email", "alice@new.example", "code", reset,
		"password", "brand new password"))
	wantError(t, r, http.StatusUnauthorized, "2FA_REQUIRED")
}

// TestGuardRefreshAndLogout follows the app's refresh and logout routes:
// a rotated access token keeps the verification, and a logout ends it
// although the app still accepts the token.
func TestGuardRefreshAndLogout(t *testing.T) {
	t.Parallel()
	s := newGuardStack(t, stackConfig{Twofactor: demoTwofactor + `
refresh_route POST /api/refresh {
	token_field accessToken
}
logout POST /logout
`})
	alice := s.loginBearer(t, "alice")
	alice.enrollTOTP()
	wantStatus(t, alice.get("/api/items"), http.StatusOK)

	for range 2 {
		r := alice.post("/api/refresh", jsonFields("refreshToken", alice.refreshToken))
		wantStatus(t, r, http.StatusOK)
		next, _ := r.object()["accessToken"].(string)
		alice.refreshToken, _ = r.object()["refreshToken"].(string)
		if next == "" || next == alice.bearer {
			t.Fatalf("%v: no new access token", r)
		}
		alice.bearer = next
		wantStatus(t, alice.get("/api/items"), http.StatusOK)
	}

	// A token the app issued to another login of alice is not verified.
	other := s.loginBearer(t, "alice")
	wantError(t, other.get("/api/items"), http.StatusUnauthorized, "2FA_REQUIRED")

	r := alice.send(http.MethodPost, "/logout", "", "Content-Type", "application/json")
	wantStatus(t, r, http.StatusNoContent)
	wantError(t, alice.get("/api/items"), http.StatusUnauthorized, "2FA_REQUIRED")
}

// TestGuardRemappedRoutes configures the guards for the app's alternate
// reset flow: forms, the address in login, a wrong code that gets a 200
// page or a redirect, and a rewrite that gives one route a second path.
func TestGuardRemappedRoutes(t *testing.T) {
	t.Parallel()
	s := newGuardStack(t, stackConfig{
		AppFlags: []string{"-alt-reset"},
		Twofactor: demoTwofactor + `
guard reset_send /account/forgot {
	email_field login
}
guard reset_validate /account/reset/check {
	email_field login
	success body "Code accepted"
	failure body "Invalid code"
}
guard reset_password /account/reset {
	email_field login
	success location ^/login
	failure location ^/account/reset
}
`,
		Site: `
rewrite /recover /account/forgot
TWOFACTOR
reverse_proxy APP_ADDR
`,
	})
	alice := s.loginBearer(t, "alice")
	e := alice.enrollTOTP()
	anon := s.newClient(t, "")

	r := anon.postForm("/account/forgot", url.Values{"login": {"alice@example.com"}})
	wantStatus(t, r, http.StatusOK)
	wantError(t, anon.postForm("/recover", url.Values{"login": {"ALICE@example.com"}}),
		http.StatusTooManyRequests, "TOO_MANY_RESET_MAIL_ATTEMPTS")
	code := s.mailedCode("reset", "alice@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}

	// A wrong code gets the app's own 200 page and counts.
	r = anon.postForm("/account/reset/check", url.Values{"login": {"alice@example.com"}, "code": {wrong}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Invalid code") {
		t.Errorf("%v: want the app's 200 page that says Invalid code", r)
	}
	// A wrong code on the reset gets the app's redirect back to its form.
	r = anon.postForm("/account/reset", url.Values{"login": {"alice@example.com"}, "code": {wrong},
		"password": {"brand new password"}, "totp": {e.wrongCode(t)}})
	if r.status != http.StatusFound || r.header.Get("Location") != "/account/reset?error=code" {
		t.Errorf("%v: want the app's 302 to /account/reset?error=code", r)
	}
	s.wantNoSecondFactor(t, "/account/reset")

	form := url.Values{"login": {"alice@example.com"}, "code": {code}, "password": {"brand new password"}}
	wantError(t, anon.postForm("/account/reset", form), http.StatusUnauthorized, "2FA_REQUIRED")
	form.Set("recoveryCode", e.recovery[0])
	r = anon.postForm("/account/reset", form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?reset=done" {
		t.Errorf("%v: want the app's 303 to /login?reset=done", r)
	}
	s.wantNoSecondFactor(t, "/account/reset")
	wantError(t, alice.get("/api/items"), http.StatusUnauthorized, "2FA_REQUIRED")

	// The successes ended the run of failures: three wrong guesses in a
	// row are free, and the fourth waits.
	for range 3 {
		anon.postForm("/account/reset/check", url.Values{"login": {"alice@example.com"}, "code": {wrong}})
	}
	wantError(t, anon.postForm("/account/reset/check", url.Values{"login": {"alice@example.com"},
		"code": {wrong}}), http.StatusTooManyRequests, "TOO_MANY_OTP_CHECKS")
}
