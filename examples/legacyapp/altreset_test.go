package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAltResetOffByDefault(t *testing.T) {
	app := newTestApp(t, nil)
	resp := app.request("POST", "/account/forgot", url.Values{"login": {"alice@example.com"}}, nil)
	if resp.Status != http.StatusNotFound {
		t.Errorf("POST /account/forgot without -alt-reset: status = %d, want 404", resp.Status)
	}
}

func TestAltResetFlow(t *testing.T) {
	app := newTestApp(t, func(c *config) { c.AltReset = true })
	forgot := func(login string) response {
		return app.request("POST", "/account/forgot", url.Values{"login": {login}}, nil)
	}
	known, unknown := forgot("Alice@Example.com"), forgot("nobody@example.com")
	if known.Status != http.StatusOK || known.Body != unknown.Body {
		t.Errorf("forgot: known %d, unknown %d, bodies equal %v; want 200 and equal bodies",
			known.Status, unknown.Status, known.Body == unknown.Body)
	}
	code := app.lastCode(mailKindReset, "alice@example.com")

	check := func(c string) response {
		return app.request("POST", "/account/reset/check",
			url.Values{"login": {"alice@example.com"}, "code": {c}}, nil)
	}
	wrong := wrongCodeOf(code)
	if resp := check(wrong); resp.Status != http.StatusOK || !strings.Contains(resp.Body, altInvalidMessage) {
		t.Errorf("check with a wrong code: %d %q, want 200 with %q", resp.Status, resp.Body, altInvalidMessage)
	}
	if resp := check(code); resp.Status != http.StatusOK || !strings.Contains(resp.Body, altAcceptedMessage) {
		t.Errorf("check with the code: %d %q, want 200 with %q", resp.Status, resp.Body, altAcceptedMessage)
	}

	reset := func(c, password string) response {
		return app.request("POST", "/account/reset",
			url.Values{"login": {"alice@example.com"}, "code": {c}, "password": {password}}, nil)
	}
	tests := []struct {
		name, code, password string
		status               int
		location             string
	}{
		{"wrong code", wrong, "new password", http.StatusFound, "/account/reset?error=code"},
		{"short password", code, "short", http.StatusFound, "/account/reset?error=password"},
		{"success", code, "new password", http.StatusSeeOther, "/login?reset=done"},
		{"code used", code, "new password", http.StatusFound, "/account/reset?error=code"},
	}
	for _, tt := range tests {
		resp := reset(tt.code, tt.password)
		if resp.Status != tt.status || resp.Header.Get("Location") != tt.location {
			t.Errorf("%s: %d to %q, want %d to %q", tt.name, resp.Status,
				resp.Header.Get("Location"), tt.status, tt.location)
		}
	}
	login := app.request("POST", "/api/login", map[string]string{"username": "alice", "password": "new password"}, nil)
	if login.Status != http.StatusOK {
		t.Errorf("login with the new password: status = %d, want 200", login.Status)
	}
}

// wrongCodeOf returns six digits other than code.
func wrongCodeOf(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}
