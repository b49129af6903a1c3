package e2e

import (
	"net/http"
	"testing"
)

func TestSudoOnlyRoutes(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	alice := s.loginJSON(t, "alice")
	e := alice.enrollTOTP()
	other := s.loginJSON(t, "alice")
	otherSudo := other.authenticateRecovery(e.recovery[0])
	bob := s.loginJSON(t, "bob")
	bobCodes := bob.enrollTOTP()
	bobSudo := bob.authenticateRecovery(bobCodes.recovery[0])

	reset := func(c *client, sudo string) *response {
		return c.post("/user/2fa/recovery-code/reset", "{}", bearerHeader(sudo)...)
	}
	remove := func(c *client, sudo string) *response {
		return c.delete("/user/2fa/totp", bearerHeader(sudo)...)
	}

	t.Run("no sudo token", func(t *testing.T) {
		// Enabling verified alice's session but minted no sudo token.
		wantError(t, reset(alice, ""), http.StatusUnauthorized, "SUDO_TOKEN_REQUIRED")
		wantError(t, remove(alice, ""), http.StatusUnauthorized, "SUDO_TOKEN_REQUIRED")
	})
	t.Run("other user", func(t *testing.T) {
		wantError(t, reset(alice, bobSudo), http.StatusUnauthorized, "SUDO_TOKEN_INVALID")
		wantError(t, remove(alice, bobSudo), http.StatusUnauthorized, "SUDO_TOKEN_INVALID")
	})
	t.Run("other session", func(t *testing.T) {
		wantError(t, reset(alice, otherSudo), http.StatusUnauthorized, "SUDO_TOKEN_INVALID")
		wantError(t, remove(alice, otherSudo), http.StatusUnauthorized, "SUDO_TOKEN_INVALID")
	})
	t.Run("made up", func(t *testing.T) {
		fake := "sudo_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		wantError(t, reset(alice, fake), http.StatusUnauthorized, "SUDO_TOKEN_INVALID")
	})

	sudo := alice.authenticateTOTP(e)
	t.Run("reset", func(t *testing.T) {
		r := reset(alice, sudo)
		wantStatus(t, r, http.StatusOK)
		checkRecoveryCodes(t, r)
		checkStatus(t, alice, true, 10)
		// The old codes are gone, and the reset ended alice's other
		// verified session.
		late := s.loginJSON(t, "alice")
		wantError(t, late.post("/user/2fa/recovery-code/authenticate",
			`{"recoveryCode":"`+e.recovery[1]+`"}`), http.StatusUnauthorized, "RECOVERY_CODE_INVALID")
		wantError(t, other.get("/api/me"), http.StatusUnauthorized, "2FA_REQUIRED")
	})
	t.Run("token alone", func(t *testing.T) {
		// A sudo token identifies its session without any app credential.
		alone := s.newClient(t, "bob")
		r := reset(alone, bobSudo)
		wantStatus(t, r, http.StatusOK)
		checkRecoveryCodes(t, r)
	})
	t.Run("deactivate", func(t *testing.T) {
		r := remove(alice, sudo)
		wantStatus(t, r, http.StatusOK)
		if r.body != "null\n" && r.body != "null" {
			t.Errorf("%v: body = %q, want null", r, r.body)
		}
		checkStatus(t, alice, false, -1)
		// Without 2FA, a new login passes the gate.
		wantStatus(t, s.loginJSON(t, "alice").get("/api/me"), http.StatusOK)
	})
}

// bearerHeader returns the header pair that sends a token as a bearer
// token, or nothing for an empty token.
func bearerHeader(token string) []string {
	if token == "" {
		return nil
	}
	return []string{"Authorization", "Bearer " + token}
}
