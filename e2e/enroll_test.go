package e2e

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// crockford is the recovery code alphabet: Crockford's base32.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func TestEnroll(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})

	logins := []struct {
		name  string
		user  string
		login func(*stack, *testing.T, string) *client
	}{
		{"json login", "alice", (*stack).loginJSON},
		{"form login", "bob", (*stack).loginForm},
	}
	for _, tc := range logins {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.login(s, t, tc.user)
			checkStatus(t, c, false, -1)

			setup, secret := c.setupTOTP()
			checkQRCode(t, setup)
			wantDuration(t, c.get("/user/2fa/totp/next-guess"), 0)

			e := &enrolment{s: s, user: tc.user, secret: secret}
			r := c.post("/user/2fa/totp/enable", `{"totp":"`+e.freshCode(t)+`"}`)
			wantStatus(t, r, http.StatusOK)
			checkRecoveryCodes(t, r)
			checkModuleCookie(t, r)
			checkStatus(t, c, true, 10)

			// Enabling verified this session, so the gate lets it through.
			me := c.get("/api/me")
			wantStatus(t, me, http.StatusOK)
			if !strings.Contains(me.body, `"username":"`+tc.user+`"`) {
				t.Errorf("%v: want the profile of %s", me, tc.user)
			}
		})
	}
}

// checkStatus checks GET /user/2fa: whether 2FA is on, and how many
// recovery codes remain (-1: none expected).
func checkStatus(t *testing.T, c *client, enabled bool, remaining int) {
	t.Helper()
	r := c.get("/user/2fa")
	wantStatus(t, r, http.StatusOK)
	obj := r.object()
	if got, _ := obj["enabled"].(bool); got != enabled {
		t.Errorf("%v: enabled = %v, want %v", r, obj["enabled"], enabled)
	}
	if totp, _ := obj["totp"].(map[string]any); (totp != nil) != enabled {
		t.Errorf("%v: totp = %v, want an object only when enabled", r, obj["totp"])
	} else if totp != nil && totp["completedAt"] == nil {
		t.Errorf("%v: totp has no completedAt", r)
	}
	if obj["emailOtp"] != nil {
		t.Errorf("%v: emailOtp = %v, want null", r, obj["emailOtp"])
	}
	codes, _ := obj["recoveryCodes"].(map[string]any)
	switch {
	case remaining < 0 && codes != nil:
		t.Errorf("%v: recoveryCodes = %v, want null", r, codes)
	case remaining >= 0 && codes == nil:
		t.Errorf("%v: recoveryCodes = null, want %d remaining", r, remaining)
	case remaining >= 0 && codes["remaining"] != float64(remaining):
		t.Errorf("%v: recoveryCodes.remaining = %v, want %d", r, codes["remaining"], remaining)
	}
}

// checkQRCode checks that qrCode is a PNG image in a data: URL.
func checkQRCode(t *testing.T, setup *response) {
	t.Helper()
	const prefix = "data:image/png;base64,"
	qr, _ := setup.object()["qrCode"].(string)
	if !strings.HasPrefix(qr, prefix) {
		t.Errorf("qrCode starts %.40q, want %s", qr, prefix)
		return
	}
	png, err := base64.StdEncoding.DecodeString(qr[len(prefix):])
	if err != nil {
		t.Errorf("qrCode is not base64: %v", err)
		return
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("qrCode does not hold a PNG file: it starts %q", png[:min(8, len(png))])
	}
}

// checkRecoveryCodes checks the 10 codes of an enable response: distinct, and
// 16 characters of Crockford's alphabet once dashes and spaces are removed.
func checkRecoveryCodes(t *testing.T, r *response) {
	t.Helper()
	codes, _ := r.object()["recoveryCodes"].([]any)
	if len(codes) != 10 {
		t.Fatalf("%v: %d recovery codes, want 10", r, len(codes))
	}
	seen := map[string]bool{}
	for _, code := range codes {
		s, _ := code.(string)
		plain := plainCode(s)
		if len(plain) != 16 || strings.Trim(plain, crockford) != "" {
			t.Errorf("recovery code %q: want 16 characters of %s", s, crockford)
		}
		if seen[plain] {
			t.Errorf("recovery code %q appears twice", s)
		}
		seen[plain] = true
	}
}

// wantDuration checks a next-guess response.
func wantDuration(t *testing.T, r *response, seconds int) {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	if got, ok := r.object()["duration"].(float64); !ok || int(got) != seconds {
		t.Errorf("%v: duration = %v, want %d", r, r.object()["duration"], seconds)
	}
}
