package e2e

import (
	"fmt"
	"net/http"
	"testing"
)

// TestStartOverAtChallenge checks that a user stopped at the challenge can
// still log out, and log in as someone else, through the routes the
// operator named: they replace or end the credential the gate stopped.
func TestStartOverAtChallenge(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{Twofactor: demoTwofactor + `
logout POST /logout
login_hold POST /api/login {
	token_field accessToken
}
`})
	enrolled := s.loginJSON(t, "alice")
	enrolled.enrollTOTP()

	stopped := s.loginForm(t, "alice")
	wantError(t, stopped.get("/api/items"), http.StatusUnauthorized, "2FA_REQUIRED")

	// Logging in as bob, who has no 2FA, replaces alice's cookie.
	body := fmt.Sprintf(`{"username":"bob","password":%q}`, passwords["bob"])
	r := stopped.post("/api/login", body)
	wantStatus(t, r, http.StatusOK)

	// A logout passes the gate too, and the app ends the session, but only
	// under the exact method and path configured: another spelling might
	// reach another route of the app.
	again := s.loginForm(t, "alice")
	wantError(t, again.get("/api/items"), http.StatusUnauthorized, "2FA_REQUIRED")
	for _, spelling := range []string{"/logout/", "/LOGOUT", "/logout;x"} {
		wantError(t, again.post(spelling, "{}"), http.StatusUnauthorized, "2FA_REQUIRED")
	}
	r = again.post("/logout", "{}")
	if r.status >= 400 {
		t.Fatalf("logout of a session at the challenge: %v, want the app's answer", r)
	}
	// The app ended the session: its pages send the visitor to its login.
	wantStatus(t, again.get("/dashboard"), http.StatusFound)
}
