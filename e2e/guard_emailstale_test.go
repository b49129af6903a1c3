package e2e

import (
	"net/http"
	"testing"
)

// TestGuardResetAfterEmailChange resets the password of an account's new
// address right after an email change, and after a second session whose
// cached identity still reports the old address: both resets must ask
// for the second factor.
func TestGuardResetAfterEmailChange(t *testing.T) {
	t.Parallel()
	s := newGuardStack(t, stackConfig{})
	alice := s.loginJSON(t, "alice")
	other := s.loginJSON(t, "alice")
	e := alice.enrollTOTP()
	other.authenticateRecovery(e.recovery[1])
	wantStatus(t, other.get("/api/items"), http.StatusOK)
	sudo := alice.authenticateRecovery(e.recovery[0])

	wantStatus(t, alice.post("/user/email/initiate", `{"email":"alice@moved.example"}`,
		"X-Sudo-Token", sudo), http.StatusOK)
	code := s.mailedCode("email-transfer", "alice@moved.example")
	wantStatus(t, alice.putJSON("/user/email", jsonFields("code", code)), http.StatusOK)

	anon := s.newClient(t, "")
	wantStatus(t, anon.post(resetSendPath, `{"email":"alice@moved.example"}`), http.StatusOK)
	resetCode := s.mailedCode("reset", "alice@moved.example")
	// A reset stopped by the module never reaches the app, so the code
	// stays valid for the second try.
	reset := func() *response {
		t.Helper()
		return anon.putJSON(resetPasswordPath, jsonFields("email", "alice@moved.example",
			"code", resetCode, "password", "attacker chosen password"))
	}
	// No request has reported the new address yet.
	wantError(t, reset(), http.StatusUnauthorized, "2FA_REQUIRED")

	// The second session's cached identity still reports the old address.
	wantStatus(t, other.get("/api/items"), http.StatusOK)
	wantError(t, reset(), http.StatusUnauthorized, "2FA_REQUIRED")
}
