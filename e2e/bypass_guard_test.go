package e2e

import (
	"net/http"
	"testing"
)

// TestBypassMatcherKeepsGuards checks that a named bypass matcher that
// covers guarded routes, or a path with parameters, switches off neither
// the guards nor the gate.
func TestBypassMatcherKeepsGuards(t *testing.T) {
	t.Parallel()
	s := newGuardStack(t, stackConfig{
		Twofactor: demoTwofactor + "bypass @open\n",
		Site:      "@open path /user/password/* *.css\n" + defaultSite,
	})
	alice := s.loginJSON(t, "alice")
	alice.enrollTOTP()

	// The reset guard still asks for the second factor.
	anon := s.newClient(t, "")
	wantStatus(t, anon.post(resetSendPath, `{"email":"alice@example.com"}`), http.StatusOK)
	code := s.mailedCode("reset", "alice@example.com")
	r := anon.putJSON(resetPasswordPath, jsonFields("email", "alice@example.com", "code", code,
		"password", "attacker chosen password"))
	wantError(t, r, http.StatusUnauthorized, "2FA_REQUIRED")

	// A path with parameters is not bypassed by a matcher: an app that
	// drops ";.css" would serve the page.
	other := s.loginJSON(t, "alice")
	wantError(t, other.raw(http.MethodGet, "/dashboard;.css", "", "Accept", "application/json"),
		http.StatusUnauthorized, "2FA_REQUIRED")
	wantStatus(t, other.get("/style.css"), http.StatusNotFound)
}
