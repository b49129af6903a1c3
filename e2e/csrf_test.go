package e2e

import (
	"fmt"
	"net/http"
	"testing"
)

func TestCrossSitePostRejected(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	bob := s.loginJSON(t, "bob")
	bobCodes := bob.enrollTOTP()
	bobSudo := bob.authenticateRecovery(bobCodes.recovery[0])
	c := s.loginJSON(t, "alice")

	routes := []struct {
		method, path, body string
	}{
		{http.MethodPost, "/user/2fa/totp/setup", "{}"},
		{http.MethodPost, "/user/2fa/totp/enable", `{"totp":"123456"}`},
		{http.MethodPost, "/user/2fa/totp/authenticate", `{"totp":"123456"}`},
		{http.MethodPost, "/user/2fa/recovery-code/authenticate", `{"recoveryCode":"0000000000000000"}`},
		{http.MethodPost, "/user/2fa/recovery-code/reset", "{}"},
		{http.MethodDelete, "/user/2fa/totp", ""},
	}
	origins := []struct {
		name    string
		headers []string
	}{
		{"foreign origin", []string{"Origin", "http://evil.example"}},
		{"other port", []string{"Origin", fmt.Sprintf("http://127.0.0.1:%d", s.port+1)}},
		{"https origin", []string{"Origin", fmt.Sprintf("https://127.0.0.1:%d", s.port)}},
		{"null origin", []string{"Origin", "null"}},
		{"cross-site fetch", []string{"Origin", "", "Sec-Fetch-Site", "cross-site"}},
		{"same-site fetch", []string{"Origin", "", "Sec-Fetch-Site", "same-site"}},
		{"no origin", []string{"Origin", ""}},
	}
	for _, o := range origins {
		t.Run(o.name, func(t *testing.T) {
			for _, rt := range routes {
				headers := append([]string{"Content-Type", "application/json"}, o.headers...)
				r := c.send(rt.method, rt.path, rt.body, headers...)
				wantError(t, r, http.StatusForbidden, "CSRF_REJECTED")
			}
			// A sudo token does not lift the check for a request with cookies.
			r := bob.send(http.MethodPost, "/user/2fa/recovery-code/reset", "{}",
				append([]string{"Content-Type", "application/json", "Authorization", "Bearer " + bobSudo},
					o.headers...)...)
			wantError(t, r, http.StatusForbidden, "CSRF_REJECTED")
		})
	}

	t.Run("nothing stored", func(t *testing.T) {
		// No setup got through, so no secret is pending, and no reset: bob
		// has the 9 codes left after the one he used.
		wantError(t, c.get("/user/2fa/totp/next-guess"), http.StatusConflict, "TOTP_UNINITIALIZED")
		checkStatus(t, bob, true, 9)
	})
	t.Run("same origin", func(t *testing.T) {
		r := c.send(http.MethodPost, "/user/2fa/totp/setup", "{}",
			"Content-Type", "application/json", "Sec-Fetch-Site", "same-origin")
		wantStatus(t, r, http.StatusOK)
		wantStatus(t, c.post("/user/2fa/totp/setup", "{}"), http.StatusOK)
	})
	t.Run("no cookie", func(t *testing.T) {
		// Without cookies there is nothing for another site to ride on.
		b := s.loginBearer(t, "carol")
		r := b.send(http.MethodPost, "/user/2fa/totp/setup", "{}",
			"Content-Type", "application/json", "Origin", "http://evil.example")
		wantStatus(t, r, http.StatusOK)
	})
}
