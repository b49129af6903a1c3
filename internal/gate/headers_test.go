package gate_test

import (
	"net/http"
	"testing"

	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
)

func TestStripClientHeadersRemoved(t *testing.T) {
	// Raw map keys, as Go's server stores names it does not canonicalise.
	names := []string{
		"X-2fa-User",
		"X-2FA-Method",
		"x-2fa-user",
		"x_2fa_user",
		"X-2fa_User",
		"X_2FA-Anything",
		"X-Http-Method-Override",
		"x-http-method-override",
		"X_HTTP_METHOD_OVERRIDE",
		"X-Http-Method",
		"x_http_method",
		"X-Method-Override",
		"x-method_override",
	}
	for _, name := range names {
		h := http.Header{name: {"1"}, "Accept": {"*/*"}}
		gate.StripClientHeaders(h)
		if _, ok := h[name]; ok {
			t.Errorf("StripClientHeaders kept %q", name)
		}
		if got := h.Get("Accept"); got != "*/*" {
			t.Errorf("StripClientHeaders with %q: Accept = %q, want %q", name, got, "*/*")
		}
	}
}

func TestStripClientHeadersKept(t *testing.T) {
	names := []string{
		"Accept",
		"Authorization",
		"Cookie",
		"X-2fa",
		"X-2faUser",
		"X-Forwarded-For",
		"X-Http-Method-Overrides",
		"X-Http",
		"X-Sudo-Token",
		"My-X-2fa-User",
	}
	h := http.Header{}
	for _, name := range names {
		h[name] = []string{"1"}
	}
	gate.StripClientHeaders(h)
	for _, name := range names {
		if _, ok := h[name]; !ok {
			t.Errorf("StripClientHeaders removed %q", name)
		}
	}
	if len(h) != len(names) {
		t.Errorf("len(h) = %d, want %d", len(h), len(names))
	}
}

func TestStripClientHeadersAllSpellings(t *testing.T) {
	h := http.Header{}
	h.Set("X-2fa-User", "canonical")
	h["x_2fa_user"] = []string{"underscore"}
	h["X-2FA-USER"] = []string{"upper"}
	h["X-Http-Method-Override"] = []string{"DELETE"}
	h["x_http_method_override"] = []string{"PUT"}

	gate.StripClientHeaders(h)
	if len(h) != 0 {
		t.Errorf("StripClientHeaders left %v, want no headers", h)
	}
}
