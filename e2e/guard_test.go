package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	resetSendPath     = "/user/password/reset/send"
	resetValidatePath = "/user/password/reset/validate"
	resetPasswordPath = "/user/password/otp"
	oldPasswordPath   = "/user/password/old-password"
)

// TestGuardPasswordReset walks the password reset of a user with TOTP on:
// the code alone is not enough, the second factor never reaches the app,
// and the reset ends the user's verified sessions.
func TestGuardPasswordReset(t *testing.T) {
	t.Parallel()
	s := newGuardStack(t, stackConfig{})
	alice := s.loginBearer(t, "alice")
	e := alice.enrollTOTP()
	wantStatus(t, alice.get("/api/items"), http.StatusOK)
	anon := s.newClient(t, "")

	wantStatus(t, anon.post(resetSendPath, `{"email":"Alice@Example.com"}`), http.StatusOK)
	code := s.mailedCode("reset", "alice@example.com")
	s.secrets.add("password", "brand new password")
	reset := func(extra ...string) *response {
		fields := append([]string{"email", "alice@example.com", "code", code,
			"password", "brand new password"}, extra...)
		return anon.putJSON(resetPasswordPath, jsonFields(fields...))
	}

	r := reset()
	wantError(t, r, http.StatusUnauthorized, "2FA_REQUIRED")
	if got := methodsOf(r); got != "totp,recoveryCode" {
		t.Errorf("methods %q, want totp,recoveryCode", got)
	}
	if got := s.lastAppRequest(resetPasswordPath); got != nil {
		t.Errorf("the app received a reset without a second factor: %s", got.Body)
	}
	wantError(t, reset("totp", e.wrongCode(t)), http.StatusUnauthorized, "TOTP_INVALID")
	wantError(t, reset("totp", "12"), http.StatusBadRequest, "")

	wantStatus(t, reset("totp", e.freshCode(t)), http.StatusOK)
	s.wantNoSecondFactor(t, resetPasswordPath)
	// The app keeps accepting alice's access token, but her session is no
	// longer verified.
	wantError(t, alice.get("/api/items"), http.StatusUnauthorized, "2FA_REQUIRED")

	fresh := s.newClient(t, "alice")
	login := fresh.send(http.MethodPost, "/api/login",
		`{"username":"alice","password":"brand new password"}`, "Content-Type", "application/json")
	wantStatus(t, login, http.StatusOK)
}

// TestGuardResetRecoveryCode resets with a recovery code, which works once.
func TestGuardResetRecoveryCode(t *testing.T) {
	t.Parallel()
	s := newGuardStack(t, stackConfig{})
	alice := s.loginJSON(t, "alice")
	e := alice.enrollTOTP()
	anon := s.newClient(t, "")
	wantStatus(t, anon.post(resetSendPath, `{"email":"alice@example.com"}`), http.StatusOK)
	code := s.mailedCode("reset", "alice@example.com")
	body := func(recovery string) string {
		return jsonFields("email", "alice@example.com", "code", code, "password", "short",
			"recoveryCode", recovery)
	}
	// The app refuses the short password after the module took the code.
	wantStatus(t, anon.putJSON(resetPasswordPath, body(e.recovery[0])), http.StatusBadRequest)
	s.wantNoSecondFactor(t, resetPasswordPath)
	wantError(t, anon.putJSON(resetPasswordPath, body(e.recovery[0])), http.StatusUnauthorized,
		"RECOVERY_CODE_INVALID")
}

// TestGuardResetEnumeration checks that the reset routes respond alike
// for an address with an account and one without.
func TestGuardResetEnumeration(t *testing.T) {
	t.Parallel()
	s := newGuardStack(t, stackConfig{})
	s.loginJSON(t, "alice").enrollTOTP()
	anon := s.newClient(t, "")
	compare := func(name string, known, unknown *response) {
		t.Helper()
		if known.status != unknown.status || known.body != unknown.body {
			t.Errorf("%s: known address %v, unknown %v: want the same response", name, known, unknown)
		}
	}
	compare("send", anon.post(resetSendPath, `{"email":"alice@example.com"}`),
		anon.post(resetSendPath, `{"email":"nobody@example.com"}`))
	compare("send again", anon.post(resetSendPath, `{"email":"alice@example.com"}`),
		anon.post(resetSendPath, `{"email":"nobody@example.com"}`))
	compare("validate", anon.post(resetValidatePath, `{"email":"alice@example.com","code":"000000"}`),
		anon.post(resetValidatePath, `{"email":"nobody@example.com","code":"000000"}`))
	compare("reset", anon.putJSON(resetPasswordPath,
		`{"email":"alice@example.com","code":"000000","password":"x","totp":"123456"}`),
		anon.putJSON(resetPasswordPath,
			`{"email":"nobody@example.com","code":"000000","password":"x","totp":"123456"}`))
	s.wantNoSecondFactor(t, resetPasswordPath)
}

// TestGuardResetThrottles checks the mail limits per address and per
// client, and the guess throttle per address.
func TestGuardResetThrottles(t *testing.T) {
	t.Parallel()
	s := newGuardStack(t, stackConfig{})
	anon := s.newClient(t, "")

	wantStatus(t, anon.post(resetSendPath, `{"email":"bob@example.com"}`), http.StatusOK)
	r := anon.post("/v1/auth/forgot-password", `{"email":"BOB@example.com"}`)
	wantError(t, r, http.StatusTooManyRequests, "TOO_MANY_RESET_MAIL_ATTEMPTS")
	if r.header.Get("Retry-After") == "" {
		t.Errorf("%v: no Retry-After", r)
	}
	for i := range 9 {
		address := string(rune('a'+i)) + "@example.com"
		wantStatus(t, anon.post(resetSendPath, jsonFields("email", address)), http.StatusOK)
	}
	wantError(t, anon.post(resetSendPath, `{"email":"carol@example.com"}`),
		http.StatusTooManyRequests, "TOO_MANY_RESET_MAIL_ATTEMPTS")

	code := s.mailedCode("reset", "bob@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	for range 3 {
		wantStatus(t, anon.post(resetValidatePath, jsonFields("email", "bob@example.com", "code", wrong)),
			http.StatusUnauthorized)
	}
	wantError(t, anon.post(resetValidatePath, jsonFields("email", "Bob@Example.com", "code", code)),
		http.StatusTooManyRequests, "TOO_MANY_OTP_CHECKS")
	wantError(t, anon.putJSON(resetPasswordPath, jsonFields("email", "bob@example.com", "code", code,
		"password", "brand new password")), http.StatusTooManyRequests, "TOO_MANY_OTP_CHECKS")
	// Another address has a counter of its own.
	wantStatus(t, anon.post(resetValidatePath, jsonFields("email", "carol@example.com", "code", wrong)),
		http.StatusUnauthorized)
}

// TestGuardBodyTricks sends guarded bodies that a lenient app could read
// differently from the module. None of them may reach the app.
func TestGuardBodyTricks(t *testing.T) {
	t.Parallel()
	s := newGuardStack(t, stackConfig{})
	anon := s.newClient(t, "")
	tests := []struct {
		name, path, contentType, body, want string
	}{
		{"duplicate key", resetPasswordPath, "application/json",
			`{"email":"nobody@example.com","code":"1","email":"alice@example.com","password":"p1234567"}`,
			`"email" must appear only once, in any case`},
		{"case variant", resetPasswordPath, "application/json",
			`{"email":"nobody@example.com","code":"1","EMAIL":"alice@example.com","password":"p1234567"}`,
			`"EMAIL" must appear only once, in any case`},
		{"escaped key", resetValidatePath, "application/json",
			`{"email":"nobody@example.com","code":"1","\u0065mail":"alice@example.com"}`,
			`"email" must appear only once, in any case`},
		{"form duplicate", resetValidatePath, "application/x-www-form-urlencoded",
			"email=nobody%40example.com&code=1&Email=alice%40example.com", `"Email" must appear only once`},
		{"two objects", resetValidatePath, "application/json",
			`{"email":"nobody@example.com","code":"1"}{"email":"alice@example.com"}`,
			"the request body must hold exactly one JSON object"},
		{"number", resetValidatePath, "application/json", `{"email":"a@example.com","code":123456}`,
			"code must be a string"},
		{"text", resetValidatePath, "text/plain", `{"email":"a@example.com","code":"1"}`,
			"Content-Type must be application/json or application/x-www-form-urlencoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := anon.send(http.MethodPost, tt.path, tt.body, "Content-Type", tt.contentType)
			if tt.path == resetPasswordPath {
				r = anon.send(http.MethodPut, tt.path, tt.body, "Content-Type", tt.contentType)
			}
			wantError(t, r, http.StatusBadRequest, "")
			if !strings.Contains(r.message(), tt.want) {
				t.Errorf("%v: message %q, want %q", r, r.message(), tt.want)
			}
		})
	}
	t.Run("query", func(t *testing.T) {
		r := anon.post(resetValidatePath+"?Email=alice%40example.com", `{"email":"a@example.com","code":"1"}`)
		wantError(t, r, http.StatusBadRequest,
			"email must be sent in the request body, not in the query string")
		r = anon.send(http.MethodGet, resetPasswordPath+"?totp=123456", "")
		wantError(t, r, http.StatusBadRequest,
			"totp must be sent in the request body, not in the query string")
	})
	t.Run("path spellings", func(t *testing.T) {
		for _, path := range []string{"/User/Password/Reset/Validate/", "/user/password/reset;x/validate",
			"/user//password/./reset/validate"} {
			r := anon.raw(http.MethodPost, path, `{"email":"a@example.com","code":"1","EMAIL":"b"}`,
				"Content-Type", "application/json")
			wantError(t, r, http.StatusBadRequest, "")
		}
	})
	if got := s.lastAppRequest(resetPasswordPath); got != nil {
		t.Errorf("the app received a tricky reset: %s", got.Body)
	}
	if got := s.lastAppRequest(resetValidatePath); got != nil {
		t.Errorf("the app received a tricky code check: %s", got.Body)
	}
}

// TestGuardNeedsEmail checks that a reset guard whose identity source
// gives no email fails the config, with a message that names the way to
// turn it off.
func TestGuardNeedsEmail(t *testing.T) {
	t.Parallel()
	skipUnlessFull(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "Caddyfile")
	text := `{
	admin off
	storage file_system ` + filepath.Join(dir, "storage") + `
}
http://127.0.0.1:1 {
	twofactor {
		db ` + filepath.Join(dir, "twofactor.db") + `
		secret_key 0123456789abcdef0123456789abcdef
		identity placeholder {http.auth.user.id}
	}
	respond ok
}
`
	if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_DATA_HOME=" + dir,
		"XDG_CONFIG_HOME=" + dir}
	out, err := runCommand(env, binaries.caddy, "validate", "--config", config, "--adapter", "caddyfile")
	if err == nil || !strings.Contains(out, "guard reset_password off") {
		t.Errorf("caddy validate: %v\n%s\nwant a failure that names `guard reset_password off`", err, out)
	}

	withOff := strings.Replace(text, "identity placeholder {http.auth.user.id}",
		"identity placeholder {http.auth.user.id}\n\t\tguard reset_password off", 1)
	if err := os.WriteFile(config, []byte(withOff), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCommand(env, binaries.caddy, "validate", "--config", config,
		"--adapter", "caddyfile"); err != nil {
		t.Errorf("caddy validate with the guard off: %v\n%s", err, out)
	}
}
