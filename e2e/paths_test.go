package e2e

import (
	"net/http"
	"strings"
	"testing"
)

func TestPathTricksOnPages(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	s.loginJSON(t, "alice").enrollTOTP()
	c := s.loginJSON(t, "alice")

	targets := []string{
		"/dashboard/", "/DASHBOARD", "/%64ashboard", "/./dashboard", "/x/../dashboard",
		"//dashboard", "/dashboard;x", "/dashboard%2f", "/dash%5cboard", "/%2e%2e/dashboard",
		"/reports/./annual", "/REPORTS/annual", "/reports//annual", "/reports/%61nnual",
		"/reports/x/%2e%2e/annual", "/dashboard/.", "/dashboard%3bx", "/dash%00board",
		"/dashboard%2e", "/./%2e/dashboard", "/..;x/dashboard",
	}
	browser := []string{"Accept", "text/html", "Sec-Fetch-Mode", "navigate"}
	api := []string{"Accept", "application/json"}
	for _, target := range targets {
		for _, headers := range [][]string{api, browser} {
			r := c.raw(http.MethodGet, target, "", headers...)
			for _, marker := range []string{dashboardMarker, reportMarker, "Logged in as"} {
				if strings.Contains(r.body, marker) {
					t.Errorf("%v: the page behind the gate leaked (%q)", r, marker)
				}
			}
			switch {
			case r.status == http.StatusBadRequest:
			case r.status == http.StatusUnauthorized:
				wantError(t, r, http.StatusUnauthorized, "2FA_REQUIRED")
			case r.status == http.StatusSeeOther:
				if !strings.HasPrefix(r.header.Get("Location"), "/user/2fa/ui/challenge?next=") {
					t.Errorf("%v: Location = %q, want the challenge page", r, r.header.Get("Location"))
				}
			case r.status == http.StatusNotFound && !strings.Contains(r.body, "statusCode"):
				// the app's own 404
			case r.status == http.StatusFound &&
				strings.HasPrefix(r.header.Get("Location"), "/login"):
			default:
				t.Errorf("%v: want 400, 401, 303, or the app's 404 or login redirect", r)
			}
		}
	}
	for _, line := range s.appRequests() {
		if strings.HasSuffix(line, " 200") && !strings.Contains(line, "/api/") {
			t.Errorf("the app served %q to a session that is not verified", line)
		}
	}
}

func TestPathTricksOnModuleRoutes(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	s.loginJSON(t, "alice").enrollTOTP()
	c := s.loginJSON(t, "alice")

	targets := []struct {
		method, target string
	}{
		{"GET", "/USER/2FA"}, {"GET", "/User/2fa/"}, {"GET", "/%75ser/2fa"},
		{"GET", "/user/./2fa"}, {"GET", "/x/../user/2fa"}, {"GET", "//user/2fa"},
		{"GET", "/user//2fa"}, {"GET", "/user/2fa;x"}, {"GET", "/user;x/2fa"},
		{"GET", "/user/2fa%2f"}, {"GET", "/user%2f2fa"}, {"GET", "/user%5c2fa"},
		{"GET", "/user/2fa%5c"}, {"GET", "/%2e%2e/user/2fa"}, {"GET", "/user/2fa/."},
		{"GET", "/user/2fa/totp/../"}, {"GET", "/user/2fa/TOTP/Next-Guess"},
		{"GET", "/user/2fa/./totp/next-guess"}, {"GET", "/user/2fa/x/../totp/next-guess"},
		{"GET", "/user/2fa/totp/next-guess;x"}, {"GET", "/user/2fa/totp/next-guess/"},
		{"GET", "/user/2fa/%74otp/next-guess"}, {"GET", "/user/2fa/ui/../totp/next-guess"},
		{"GET", "/user/2fa/nothing-here"}, {"GET", "/USER/2FA/UI/CHALLENGE"},
		{"POST", "/USER/2FA/TOTP/AUTHENTICATE"}, {"POST", "/user/2fa//totp/authenticate"},
		{"POST", "/x/..;/user/2fa/totp/authenticate"}, {"DELETE", "/user/2fa/TOTP/"},
		{"POST", "/user/2fa/recovery-code/reset%2f"}, {"POST", "/user/2fa/recovery-code/reset;x"},
	}
	for _, tc := range targets {
		var body string
		headers := []string{"Accept", "application/json"}
		if tc.method != http.MethodGet {
			body = `{"totp":"000000"}`
			if strings.Contains(strings.ToLower(tc.target), "reset") {
				body = "{}"
			}
			headers = append(headers, "Content-Type", "application/json", "Origin", s.base)
		}
		r := c.raw(tc.method, tc.target, body, headers...)
		if r.status == http.StatusOK && strings.Contains(r.body, "Logged in as") {
			t.Errorf("%v: the app answered a module route", r)
		}
		if !fromModule(r) {
			t.Errorf("%v: want an answer of the module", r)
		}
	}
	for _, line := range s.appRequests() {
		if strings.Contains(strings.ToLower(line), "2fa") {
			t.Errorf("the app received %q: module routes must never be forwarded", line)
		}
	}
}

// fromModule reports whether a response came from the module: its JSON
// errors, its JSON results (which carry Cache-Control: no-store) and its
// HTML pages (which carry a Content-Security-Policy).
func fromModule(r *response) bool {
	if r.object()["statusCode"] != nil {
		return true
	}
	if r.status == http.StatusOK && r.header.Get("Cache-Control") == "no-store" &&
		strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		return true
	}
	return r.header.Get("Content-Security-Policy") != ""
}
