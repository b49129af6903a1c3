package e2e

import (
	"net/http"
	"testing"
)

func TestModuleCookieRotation(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	e := s.loginJSON(t, "alice").enrollTOTP()
	c := s.loginJSON(t, "alice")
	firstSudo := c.authenticateRecovery(e.recovery[0])
	old := c.cookie(moduleCookie)

	// A second authenticate rotates the cookie and moves the session and
	// its sudo tokens to the new value.
	c.authenticateRecovery(e.recovery[1])
	rotated := c.cookie(moduleCookie)
	if rotated == "" || rotated == old {
		t.Fatalf("the %s cookie was not rotated by the second authenticate", moduleCookie)
	}
	wantStatus(t, c.get("/api/me"), http.StatusOK)

	stale := c.clone()
	stale.setCookie(moduleCookie, old)
	wantError(t, stale.get("/api/me"), http.StatusUnauthorized, "2FA_REQUIRED")
	wantError(t, stale.post("/user/2fa/recovery-code/reset", "{}", bearerHeader(firstSudo)...),
		http.StatusUnauthorized, "SUDO_TOKEN_INVALID")

	r := c.post("/user/2fa/recovery-code/reset", "{}", bearerHeader(firstSudo)...)
	wantStatus(t, r, http.StatusOK)
}
