package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// spoofed are headers a client may send to pose as a verified user or to
// change the method behind the gate's back, and X-Control, which the app
// must receive. Names with "_" and odd case matter because CGI and PHP read
// them as the same variable.
var spoofed = []string{
	"X-2FA-User", "2",
	"x_2fa_user", "2",
	"X-2fa_Method", "totp",
	"X_2FA_METHOD", "totp",
	"X-2FA-Anything", "x",
	"X-HTTP-Method-Override", "DELETE",
	"x-http-method", "DELETE",
	"X_Method_Override", "DELETE",
	"X-Control", "kept",
}

// notForwarded are headers the app must never receive from a client.
var notForwarded = []string{
	"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Sudo-Token",
	"Authorization", "X-2FA-Anything",
}

func TestSpoofedHeadersNeverForwarded(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	alice := s.loginJSON(t, "alice")
	e := alice.enrollTOTP()
	sudo := alice.authenticateRecovery(e.recovery[0])

	t.Run("verified", func(t *testing.T) {
		headers := append([]string{"Accept", "application/json",
			"Authorization", "Bearer " + sudo, "X-Sudo-Token", sudo}, spoofed...)
		got := echoOf(t, alice.raw(http.MethodGet, "/_echo", "", headers...))
		wantHeader(t, got, "X-2FA-User", userIDs["alice"])
		wantHeader(t, got, "X-2FA-Method", "recoveryCode")
		wantAbsent(t, got, notForwarded...)
		wantCookies(t, got, "session=", moduleCookie+"=")
	})
	t.Run("anonymous", func(t *testing.T) {
		anon := s.newClient(t, "anonymous")
		anon.setCookie(moduleCookie, alice.cookie(moduleCookie))
		got := echoOf(t, anon.raw(http.MethodGet, "/_echo", "", spoofed...))
		wantAbsent(t, got, append([]string{"X-2FA-User", "X-2FA-Method"}, notForwarded...)...)
		wantCookies(t, got, "", moduleCookie+"=")
		wantHeader(t, got, "X-Control", "kept")
	})
	t.Run("sudo token alone", func(t *testing.T) {
		// Without an app credential the request is anonymous to the app,
		// and the token stays with the module.
		anon := s.newClient(t, "anonymous")
		for _, h := range [][]string{{"X-Sudo-Token", sudo}, {"Authorization", "Bearer " + sudo}} {
			got := echoOf(t, anon.raw(http.MethodGet, "/_echo", "", append(h, spoofed...)...))
			wantAbsent(t, got, append([]string{"X-2FA-User", "X-2FA-Method"}, notForwarded...)...)
		}
	})
	t.Run("made-up sudo token", func(t *testing.T) {
		anon := s.newClient(t, "anonymous")
		r := anon.raw(http.MethodGet, "/_echo", "", "Authorization", "Bearer sudo_"+strings.Repeat("A", 43))
		wantError(t, r, http.StatusUnauthorized, "SUDO_TOKEN_INVALID")
	})
}

func TestSpoofedHeadersOnBypass(t *testing.T) {
	t.Parallel()
	configs := []struct {
		name string
		cfg  stackConfig
	}{
		{"path prefix", stackConfig{Twofactor: demoTwofactor + "bypass /_echo\n"}},
		{"named matcher", stackConfig{
			Twofactor: demoTwofactor + "bypass @echo\n",
			Site:      "@echo path /_echo\n" + defaultSite,
		}},
	}
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, tc.cfg)
			alice := s.loginJSON(t, "alice")
			e := alice.enrollTOTP()
			sudo := alice.authenticateRecovery(e.recovery[0])

			// A bypassed route skips the gate, not the header hygiene.
			headers := append([]string{"Authorization", "Bearer " + sudo, "X-Sudo-Token", sudo}, spoofed...)
			got := echoOf(t, alice.raw(http.MethodGet, "/_echo", "", headers...))
			wantAbsent(t, got, append([]string{"X-2FA-User", "X-2FA-Method"}, notForwarded...)...)
			wantCookies(t, got, "session=", moduleCookie+"=")
			wantHeader(t, got, "X-Control", "kept")

			// An unverified session passes the bypass and nothing else.
			other := s.loginJSON(t, "alice")
			wantStatus(t, other.get("/_echo"), http.StatusOK)
			wantError(t, other.get("/api/me"), http.StatusUnauthorized, "2FA_REQUIRED")
		})
	}
}

// wantAbsent checks that the app received none of the headers, in any
// spelling.
func wantAbsent(t *testing.T, e echo, names ...string) {
	t.Helper()
	for _, name := range names {
		if got := e.headerValues(name); len(got) > 0 {
			t.Errorf("the app received %s = %q, want none; headers %v", name, got, e.Headers)
		}
	}
}

// wantCookies checks the Cookie header the app received: it must contain
// present (unless empty) and must not contain absent.
func wantCookies(t *testing.T, e echo, present, absent string) {
	t.Helper()
	cookies := strings.Join(e.headerValues("Cookie"), "; ")
	if present != "" && !strings.Contains(cookies, present) {
		t.Errorf("the app received Cookie %q, want %s…", cookies, present)
	}
	for _, c := range strings.Split(cookies, ";") {
		if strings.HasPrefix(strings.TrimSpace(c), absent) {
			t.Errorf("the app received Cookie %q, want no %s…", cookies, absent)
		}
	}
}
