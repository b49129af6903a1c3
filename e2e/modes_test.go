package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestEnforceRequired(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{Twofactor: demoTwofactor + "enforce required\n"})
	c := s.loginJSON(t, "carol")

	wantError(t, c.get("/api/items"), http.StatusForbidden, "2FA_ENROLLMENT_REQUIRED")
	r := c.navigate("/reports/annual")
	wantStatus(t, r, http.StatusSeeOther)
	if got, want := r.header.Get("Location"),
		"/user/2fa/ui/enroll?next="+url.QueryEscape("/reports/annual"); got != want {
		t.Errorf("%v: Location = %q, want %q", r, got, want)
	}

	// The module's own routes stay open, so the user can enrol.
	c.enrollTOTP()
	wantStatus(t, c.get("/api/items"), http.StatusOK)
	wantError(t, s.loginJSON(t, "carol").get("/api/items"), http.StatusUnauthorized, "2FA_REQUIRED")
}

func TestReportMode(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{Twofactor: demoTwofactor + "mode report\n"})
	s.loginJSON(t, "alice").enrollTOTP()
	c := s.loginJSON(t, "alice")

	// The gate only logs what it would stop.
	wantPage(t, c.navigate("/dashboard"), dashboardMarker)
	wantAbsent(t, echoOf(t, c.get("/_echo")), "X-2FA-User", "X-2FA-Method")
	if !strings.Contains(s.caddyOut.String(), "report mode") {
		t.Errorf("Caddy's log does not say what report mode let through")
	}
}

// TestAnonymousResponses runs the app with each response it can give to
// GET /api/me from a visitor who is not logged in, and the introspect
// settings that match it. A logged-out session cookie must then pass as
// anonymous, not fail closed.
func TestAnonymousResponses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, appMode, settings string
	}{
		{"status 401", "401", ""},
		{"id zero", "zero", "anonymous_id 0"},
		{"status 204", "204", "anonymous_status 204"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tf := strings.Replace(demoTwofactor, "identity introspect http://APP_ADDR/api/me",
				"identity introspect http://APP_ADDR/api/me {\n\t"+tc.settings+"\n}", 1)
			s := newStack(t, stackConfig{AppFlags: []string{"-anonymous-me", tc.appMode}, Twofactor: tf})
			c := s.loginForm(t, "alice")
			c.enrollTOTP()
			wantPage(t, c.navigate("/dashboard"), dashboardMarker)

			old := c.cookie("session")
			wantStatus(t, c.send(http.MethodPost, "/logout", "", "Origin", s.base), http.StatusSeeOther)
			stale := s.newClient(t, "logged out")
			stale.setCookie("session", old)
			r := stale.navigate("/dashboard")
			wantStatus(t, r, http.StatusFound)
			if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "/login") {
				t.Errorf("%v: Location = %q, want the app's login page", r, loc)
			}
		})
	}
}

// TestAnonymousZeroUnset runs the app that returns {"id":0} to anonymous
// visitors, without anonymous_id 0. The contract says such a setup fails
// closed, so anonymous visitors never share a user.
func TestAnonymousZeroUnset(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{AppFlags: []string{"-anonymous-me", "zero"}})
	visitor := s.newClient(t, "anonymous")
	visitor.setCookie("analytics", "first-visitor")
	r := visitor.get("/user/2fa")
	wantError(t, r, http.StatusBadGateway, "IDENTITY_UNAVAILABLE")
	wantError(t, visitor.post("/user/2fa/totp/setup", "{}"), http.StatusBadGateway, "IDENTITY_UNAVAILABLE")
}
