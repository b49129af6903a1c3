package e2e

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// challengeLocation is where the gate sends a browser, for a next value.
func challengeLocation(next string) string {
	return "/user/2fa/ui/challenge?next=" + url.QueryEscape(next)
}

func TestGateBlocksThenPasses(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	e := s.loginJSON(t, "alice").enrollTOTP()
	c := s.loginJSON(t, "alice")

	t.Run("json blocked", func(t *testing.T) {
		for _, path := range []string{"/api/me", "/api/items", "/dashboard", "/_echo"} {
			r := c.get(path)
			wantError(t, r, http.StatusUnauthorized, "2FA_REQUIRED")
			methods, _ := r.object()["methods"].([]any)
			if !slices.Contains(methods, any("totp")) || !slices.Contains(methods, any("recoveryCode")) {
				t.Errorf("%v: methods = %v, want totp and recoveryCode", r, methods)
			}
		}
	})
	t.Run("browser redirected", func(t *testing.T) {
		r := c.navigate("/dashboard?tab=1")
		wantStatus(t, r, http.StatusSeeOther)
		if got, want := r.header.Get("Location"), challengeLocation("/dashboard?tab=1"); got != want {
			t.Errorf("%v: Location = %q, want %q", r, got, want)
		}
		// Accept: text/html alone marks a navigation too.
		r = c.send(http.MethodGet, "/reports/annual", "", "Accept", "text/html")
		wantStatus(t, r, http.StatusSeeOther)
		if got, want := r.header.Get("Location"), challengeLocation("/reports/annual"); got != want {
			t.Errorf("%v: Location = %q, want %q", r, got, want)
		}
	})
	t.Run("authenticate", func(t *testing.T) {
		r := c.post("/user/2fa/totp/authenticate", `{"totp":"`+e.freshCode(t)+`"}`)
		wantStatus(t, r, http.StatusOK)
		obj := r.object()
		if obj["accessToken"] != nil || obj["refreshToken"] != nil {
			t.Errorf("%v: accessToken and refreshToken = %v, %v; want null", r,
				obj["accessToken"], obj["refreshToken"])
		}
		if sudo, _ := obj["sudoToken"].(string); !strings.HasPrefix(sudo, "sudo_") {
			t.Errorf("%v: sudoToken = %q, want sudo_…", r, sudo)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%v: Cache-Control = %q, want no-store", r, cc)
		}
		checkModuleCookie(t, r)
	})
	t.Run("passes", func(t *testing.T) {
		wantStatus(t, c.get("/api/me"), http.StatusOK)
		page := c.navigate("/dashboard")
		wantStatus(t, page, http.StatusOK)
		if !strings.Contains(page.body, dashboardMarker) {
			t.Errorf("%v: want the dashboard", page)
		}
		got := echoOf(t, c.get("/_echo"))
		wantHeader(t, got, "X-2FA-User", userIDs["alice"])
		wantHeader(t, got, "X-2FA-Method", "totp")
	})
	t.Run("bearer session", func(t *testing.T) {
		// A bearer token is a session of its own, without a module cookie.
		b := s.loginBearer(t, "alice")
		wantError(t, b.get("/api/items"), http.StatusUnauthorized, "2FA_REQUIRED")
		b.authenticateRecovery(e.recovery[0])
		if b.cookie(moduleCookie) != "" {
			t.Errorf("a bearer session got a %s cookie", moduleCookie)
		}
		wantStatus(t, b.get("/api/items"), http.StatusOK)
		wantHeader(t, echoOf(t, b.get("/_echo")), "X-2FA-Method", "recoveryCode")
	})
}

// checkModuleCookie checks the module cookie a response sets over plain
// HTTP: HttpOnly, SameSite=Lax, Path=/, not Secure, and 256 random bits.
func checkModuleCookie(t *testing.T, r *response) {
	t.Helper()
	var found *http.Cookie
	for _, line := range r.header.Values("Set-Cookie") {
		if ck, err := http.ParseSetCookie(line); err == nil && ck.Name == moduleCookie {
			found = ck
		}
	}
	if found == nil {
		t.Errorf("%v: no %s cookie set", r, moduleCookie)
		return
	}
	if !found.HttpOnly || found.SameSite != http.SameSiteLaxMode || found.Path != "/" || found.Secure {
		t.Errorf("%s cookie: HttpOnly %v, SameSite %v, Path %q, Secure %v; want true, Lax, /, false",
			moduleCookie, found.HttpOnly, found.SameSite, found.Path, found.Secure)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(found.Value); err != nil || len(raw) != 32 {
		t.Errorf("%s cookie value is not 32 bytes in base64url (%d bytes, %v)", moduleCookie, len(raw), err)
	}
}

// wantHeader checks that the app received exactly one value of a header.
func wantHeader(t *testing.T, e echo, name, want string) {
	t.Helper()
	if got := e.headerValues(name); len(got) != 1 || got[0] != want {
		t.Errorf("the app received %s = %q, want [%s]; headers %v", name, got, want, e.Headers)
	}
}

func TestSessionNotSharedAcrossUsers(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	alice := s.loginJSON(t, "alice")
	alice.enrollTOTP()
	bob := s.loginJSON(t, "bob")
	bob.enrollTOTP()
	wantStatus(t, alice.get("/api/me"), http.StatusOK)
	wantStatus(t, bob.get("/api/me"), http.StatusOK)

	mixed := func(session, module, bearer string) *client {
		c := s.newClient(t, "mixed")
		c.setCookie("session", session)
		c.setCookie(moduleCookie, module)
		c.bearer = bearer
		return c
	}
	cases := []struct {
		name string
		c    *client
	}{
		{"bob session alice cookie", mixed(bob.cookie("session"), alice.cookie(moduleCookie), "")},
		{"alice session bob cookie", mixed(alice.cookie("session"), bob.cookie(moduleCookie), "")},
		{"bob bearer alice cookie", mixed("", alice.cookie(moduleCookie), bob.accessToken)},
		{"alice cookies bob bearer",
			mixed(alice.cookie("session"), alice.cookie(moduleCookie), bob.accessToken)},
		{"bob bearer bob cookie", mixed("", bob.cookie(moduleCookie), bob.accessToken)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/api/me", "/_echo"} {
				r := tc.c.get(path)
				switch {
				case r.status == http.StatusBadRequest:
					wantError(t, r, http.StatusBadRequest, "AMBIGUOUS_CREDENTIAL")
				default:
					wantError(t, r, http.StatusUnauthorized, "2FA_REQUIRED")
				}
			}
		})
	}
}

func TestModuleCookieRequired(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	e := s.loginForm(t, "alice").enrollTOTP()
	c := s.loginForm(t, "alice")
	c.authenticateTOTP(e)
	wantStatus(t, c.get("/api/me"), http.StatusOK)

	module := c.cookie(moduleCookie)
	c.setCookie(moduleCookie, "")
	wantError(t, c.get("/api/me"), http.StatusUnauthorized, "2FA_REQUIRED")
	wantStatus(t, c.navigate("/dashboard"), http.StatusSeeOther)

	// A made-up module cookie does not help either.
	c.setCookie(moduleCookie, strings.Repeat("A", len(module)))
	wantError(t, c.get("/api/me"), http.StatusUnauthorized, "2FA_REQUIRED")

	c.setCookie(moduleCookie, module)
	wantStatus(t, c.get("/api/me"), http.StatusOK)
}
