package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// handleSite routes by handle and handle_path blocks. The twofactor
// directive sits at the top of the site, and Caddy orders it before the
// handle blocks, so it receives every request with its original path.
const handleSite = `
TWOFACTOR
handle_path /app/* {
	reverse_proxy APP_ADDR
}
handle /api/* {
	reverse_proxy APP_ADDR
}
handle {
	reverse_proxy APP_ADDR
}
`

// innerSite puts the twofactor directive inside handle_path, so the
// module receives the path with /app stripped.
const innerSite = `
handle_path /app/* {
	TWOFACTOR
	reverse_proxy APP_ADDR
}
handle {
	reverse_proxy APP_ADDR
}
`

func TestHandleBlocksGated(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{Site: handleSite})
	e := s.loginJSON(t, "alice").enrollTOTP()
	c := s.loginJSON(t, "alice")

	t.Run("blocked", func(t *testing.T) {
		wantError(t, c.get("/app/dashboard"), http.StatusUnauthorized, "2FA_REQUIRED")
		wantError(t, c.get("/api/items"), http.StatusUnauthorized, "2FA_REQUIRED")
		wantError(t, c.get("/dashboard"), http.StatusUnauthorized, "2FA_REQUIRED")
		wantRedirect(t, c.navigate("/app/reports/annual?year=2024"), "/app/reports/annual?year=2024")
	})
	c.authenticateTOTP(e)
	t.Run("passes", func(t *testing.T) {
		wantPage(t, c.navigate("/app/dashboard"), dashboardMarker)
		wantStatus(t, c.get("/api/items"), http.StatusOK)
		got := echoOf(t, c.get("/app/_echo"))
		if got.Path != "/_echo" {
			t.Errorf("the app received path %q, want /_echo after handle_path", got.Path)
		}
		wantHeader(t, got, "X-2FA-User", userIDs["alice"])
	})
}

func TestHandlePathInnerGate(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{Site: innerSite})
	owner := s.loginJSON(t, "alice")
	owner.prefix = "/app"
	e := owner.enrollTOTP()
	c := s.loginJSON(t, "alice")
	c.prefix = "/app"

	wantError(t, c.get("/dashboard"), http.StatusUnauthorized, "2FA_REQUIRED")
	t.Run("redirect next", func(t *testing.T) {
		// The module receives /dashboard, but the redirect must name the
		// URI the browser requested. Caddy's rewrite, which handle_path uses,
		// also rewrites r.RequestURI, so the module reads the original one.
		wantRedirect(t, c.navigate("/dashboard?tab=2"), "/app/dashboard?tab=2")
	})

	c.authenticateTOTP(e)
	wantPage(t, c.navigate("/dashboard"), dashboardMarker)
	wantHeader(t, echoOf(t, c.get("/_echo")), "X-2FA-User", userIDs["alice"])
}

// wantRedirect checks a 303 to the challenge page with next.
func wantRedirect(t *testing.T, r *response, next string) {
	t.Helper()
	wantStatus(t, r, http.StatusSeeOther)
	if got, want := r.header.Get("Location"), challengeLocation(next); got != want {
		t.Errorf("%v: Location = %q, want %q", r, got, want)
	}
}

// wantPage checks a 200 page with the marker text.
func wantPage(t *testing.T, r *response, marker string) {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, marker) {
		t.Errorf("%v: want the page with %q", r, marker)
	}
}
