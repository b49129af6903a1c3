package gate

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

func TestChangesState(t *testing.T) {
	tests := map[string]bool{
		http.MethodGet: false, http.MethodHead: false, http.MethodOptions: false,
		http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true, http.MethodDelete: true,
		"PROPFIND": true, "get": true,
	}
	for method, want := range tests {
		if got := ChangesState(method); got != want {
			t.Errorf("ChangesState(%q) = %v, want %v", method, got, want)
		}
	}
}

func TestIsEarlyData(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	if IsEarlyData(r) {
		t.Error("IsEarlyData without TLS = true")
	}
	r.TLS = &tls.ConnectionState{HandshakeComplete: true}
	if IsEarlyData(r) {
		t.Error("IsEarlyData after the handshake = true")
	}
	r.TLS = &tls.ConnectionState{HandshakeComplete: false}
	if !IsEarlyData(r) {
		t.Error("IsEarlyData before the handshake completed = false")
	}
}

func TestCheckAPIRequest(t *testing.T) {
	const json = "application/json"
	tests := []struct {
		name         string
		method       string
		target       string
		https        bool
		earlyData    bool
		header       map[string]string
		allowed      []string
		status       int // 0: accepted
		wantMessage  string
		wantSentence bool
	}{
		{name: "get with anything", method: http.MethodGet, earlyData: true,
			header: map[string]string{"Cookie": "sid=1", "Origin": "https://evil.example"}},
		{name: "head", method: http.MethodHead, header: map[string]string{"Cookie": "sid=1"}},
		{name: "early data post", method: http.MethodPost, https: true, earlyData: true,
			header: map[string]string{"Content-Type": json}, status: 425, wantMessage: api.CodeTooEarly},
		{name: "early data delete", method: http.MethodDelete, https: true, earlyData: true,
			header: map[string]string{"Content-Type": json}, status: 425, wantMessage: api.CodeTooEarly},
		{name: "no content type", method: http.MethodPost, status: 400, wantSentence: true},
		{name: "text content type", method: http.MethodPost,
			header: map[string]string{"Content-Type": "text/plain"}, status: 400, wantSentence: true},
		{name: "form content type", method: http.MethodDelete,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 400, wantSentence: true},
		{name: "json with charset", method: http.MethodPost,
			header: map[string]string{"Content-Type": "application/json; charset=utf-8"}},
		{name: "bearer client from anywhere", method: http.MethodPost,
			header: map[string]string{"Content-Type": json, "Origin": "https://evil.example", "Authorization": "Bearer x"}},
		{name: "cookie without origin", method: http.MethodPost,
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1"}, status: 403, wantMessage: api.CodeCSRFRejected},
		{name: "cookie same-origin fetch", method: http.MethodPost,
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1", "Sec-Fetch-Site": "same-origin"}},
		{name: "cookie cross-site fetch", method: http.MethodPost,
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1", "Sec-Fetch-Site": "cross-site"},
			status: 403, wantMessage: api.CodeCSRFRejected},
		{name: "cookie same-site fetch", method: http.MethodPut,
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1", "Sec-Fetch-Site": "same-site"},
			status: 403, wantMessage: api.CodeCSRFRejected},
		{name: "cookie own origin", method: http.MethodPost,
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1", "Origin": "http://app.example"}},
		{name: "cookie own origin, other case", method: http.MethodPost,
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1", "Origin": "http://APP.example"}},
		{name: "cookie foreign origin", method: http.MethodPost,
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1", "Origin": "https://evil.example"},
			status: 403, wantMessage: api.CodeCSRFRejected},
		{name: "foreign origin, same-origin fetch", method: http.MethodPost,
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1", "Origin": "https://evil.example",
				"Sec-Fetch-Site": "same-origin"},
			status: 403, wantMessage: api.CodeCSRFRejected},
		{name: "cookie null origin", method: http.MethodPost,
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1", "Origin": "null"},
			status: 403, wantMessage: api.CodeCSRFRejected},
		{name: "origin with other scheme", method: http.MethodPost,
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1", "Origin": "https://app.example"},
			status: 403, wantMessage: api.CodeCSRFRejected},
		{name: "https origin", method: http.MethodPost, target: "https://app.example/user/2fa/totp/setup", https: true,
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1", "Origin": "https://app.example"}},
		{name: "origin with other port", method: http.MethodPost, target: "http://app.example:8080/user/2fa",
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1", "Origin": "http://app.example"},
			status: 403, wantMessage: api.CodeCSRFRejected},
		{name: "origin with port", method: http.MethodPost, target: "http://app.example:8080/user/2fa",
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1", "Origin": "http://app.example:8080"}},
		{name: "allowed origin", method: http.MethodPost, allowed: []string{"https://admin.example/"},
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1", "Origin": "https://admin.example"}},
		{name: "not an allowed origin", method: http.MethodPost, allowed: []string{"https://admin.example"},
			header: map[string]string{"Content-Type": json, "Cookie": "sid=1", "Origin": "https://admin.example.evil"},
			status: 403, wantMessage: api.CodeCSRFRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGateFixture(t)
			target := tt.target
			if target == "" {
				target = "http://app.example/user/2fa/totp/setup"
			}
			r := httptest.NewRequest(tt.method, target, nil)
			if tt.https {
				r.TLS = &tls.ConnectionState{HandshakeComplete: !tt.earlyData}
			}
			for name, value := range tt.header {
				r.Header.Set(name, value)
			}

			e := f.gate.CheckAPIRequest(r, tt.allowed)
			if tt.status == 0 {
				if e != nil {
					t.Errorf("CheckAPIRequest = %v, want accepted", e)
				}
				return
			}
			if e == nil || e.Status != tt.status {
				t.Fatalf("CheckAPIRequest = %v, want status %d", e, tt.status)
			}
			if tt.wantSentence {
				if e.Message != "Content-Type must be application/json" {
					t.Errorf("message = %q, want a sentence naming Content-Type", e.Message)
				}
			} else if e.Message != tt.wantMessage {
				t.Errorf("message = %q, want %q", e.Message, tt.wantMessage)
			}
		})
	}
}

func TestSiteOrigin(t *testing.T) {
	tests := []struct {
		target string
		https  bool
		want   string
	}{
		{"http://app.example/", false, "http://app.example"},
		{"http://APP.Example:80/", false, "http://app.example"},
		{"http://app.example:8080/", false, "http://app.example:8080"},
		{"https://app.example:443/", true, "https://app.example"},
		{"https://app.example:80/", true, "https://app.example:80"},
		{"http://127.0.0.1:8080/", false, "http://127.0.0.1:8080"},
		{"http://[::1]:8080/", false, "http://[::1]:8080"},
	}
	f := newGateFixture(t)
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, tt.target, nil)
		if tt.https {
			r.TLS = &tls.ConnectionState{HandshakeComplete: true}
		}
		if got := f.gate.SiteOrigin(r); got != tt.want {
			t.Errorf("SiteOrigin(%s) = %q, want %q", tt.target, got, tt.want)
		}
	}
}

func TestSiteOriginIPv6DefaultPort(t *testing.T) {
	f := newGateFixture(t)
	r := httptest.NewRequest(http.MethodGet, "http://[::1]:80/", nil)
	if got := f.gate.SiteOrigin(r); got != "http://[::1]" {
		t.Errorf("SiteOrigin = %q, want http://[::1]", got)
	}
	r.Header.Set("Origin", "http://[::1]")
	if !f.gate.SameOrigin(r, nil) {
		t.Error("SameOrigin = false for the site's own IPv6 origin")
	}
}

func TestSameOriginTwoOrigins(t *testing.T) {
	g := &Gate{}
	r := httptest.NewRequest(http.MethodPost, "http://app.example/user/2fa/totp/setup", nil)
	r.Header.Add("Origin", "http://app.example")
	r.Header.Add("Origin", "http://evil.example")
	if g.SameOrigin(r, nil) {
		t.Error("SameOrigin accepted a request with two Origin headers")
	}
}
