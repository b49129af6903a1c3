package ui

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestCSRFTokenReusesCookie(t *testing.T) {
	f := newPagesFixture(t)
	existing := strings.Repeat("c", 43)
	w := f.serve(get(uiPath+"/enroll", "sid=sid-bob; twofactor-csrf="+existing))
	if c := setCookie(w, "twofactor-csrf"); c != nil {
		t.Errorf("a new CSRF cookie %q replaced a valid one", c.Value)
	}
	if got, want := hidden(t, w.Body.String(), "csrf"), f.keys.Current.MAC("csrf", existing); got != want {
		t.Errorf("token = %q, want the HMAC of the existing cookie %q", got, want)
	}
}

func TestCSRFTokenShortCookieReplaced(t *testing.T) {
	f := newPagesFixture(t)
	w := f.serve(get(uiPath+"/enroll", "sid=sid-bob; twofactor-csrf=short"))
	c := setCookie(w, "twofactor-csrf")
	if c == nil || c.Value == "short" {
		t.Fatalf("CSRF cookie = %+v, want a new one in place of a short one", c)
	}
	if got, want := hidden(t, w.Body.String(), "csrf"), f.keys.Current.MAC("csrf", c.Value); got != want {
		t.Errorf("token = %q, want the HMAC of the new cookie %q", got, want)
	}
}

func TestValidCSRF(t *testing.T) {
	f := newPagesFixture(t)
	value := strings.Repeat("v", 43)
	token := f.keys.Current.MAC("csrf", value)
	tests := []struct {
		name, cookie, token string
		https               bool
		want                bool
	}{
		{"match", "twofactor-csrf=" + value, token, false, true},
		{"no cookie", "", token, false, false},
		{"empty cookie", "twofactor-csrf=", token, false, false},
		{"empty token", "twofactor-csrf=" + value, "", false, false},
		{"cookie value as token", "twofactor-csrf=" + value, value, false, false},
		{"other purpose", "twofactor-csrf=" + value, f.keys.Current.MAC("session", value), false, false},
		{"https match", "__Host-twofactor-csrf=" + value, token, true, true},
		{"plain name over https", "twofactor-csrf=" + value, token, true, false},
		{"host name over http", "__Host-twofactor-csrf=" + value, token, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(uiPath+"/challenge", tt.cookie)
			if tt.https {
				r.TLS = &tls.ConnectionState{HandshakeComplete: true}
			}
			if got := f.pages.validCSRF(r, tt.token); got != tt.want {
				t.Errorf("validCSRF = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCSRFCookieName(t *testing.T) {
	if got := csrfCookie(true); got != "__Host-twofactor-csrf" {
		t.Errorf("csrfCookie(https) = %q, want __Host-twofactor-csrf", got)
	}
	if got := csrfCookie(false); got != "twofactor-csrf" {
		t.Errorf("csrfCookie(http) = %q, want twofactor-csrf", got)
	}
}
