package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
)

func TestPendingTOTP(t *testing.T) {
	f := newFixture(t)
	c := caller("alice", "session-a")
	if _, e := f.server.PendingTOTP(c, "app.example"); e == nil || e.Message != CodeTOTPUninitialized {
		t.Fatalf("PendingTOTP with nothing pending = %v, want 409 %s", e, CodeTOTPUninitialized)
	}

	setup, e := f.server.SetupTOTP(c, "app.example")
	if e != nil {
		t.Fatalf("SetupTOTP: %v", e)
	}
	again, e := f.server.PendingTOTP(c, "app.example")
	if e != nil {
		t.Fatalf("PendingTOTP: %v", e)
	}
	if again.URL != setup.URL || again.Secret != setup.Secret || again.QRCode != setup.QRCode {
		t.Errorf("PendingTOTP = %+v, want the setup's key %+v", again, setup)
	}
}

func TestPendingTOTPSudoWhenOn(t *testing.T) {
	// A pending reset activates with a code alone, so showing its secret
	// needs what setting it up needs.
	f := newFixture(t)
	c := caller("alice", "session-a")
	secret, _ := f.enroll(c)
	sudo := f.authenticate(c, secret)
	withSudo := f.withSudo(c, sudo)
	if _, e := f.server.SetupTOTP(withSudo, "app.example"); e != nil {
		t.Fatalf("SetupTOTP with sudo: %v", e)
	}

	if _, e := f.server.PendingTOTP(c, "app.example"); e == nil || e.Message != CodeSudoTokenRequired {
		t.Errorf("PendingTOTP without sudo = %v, want 401 %s", e, CodeSudoTokenRequired)
	}
	f.forgeSudoMethod(sudo, account.MethodEmailOTP)
	if _, e := f.server.PendingTOTP(f.withSudo(c, sudo), "app.example"); e == nil ||
		e.Message != CodeStrongerFactorRequired {
		t.Errorf("PendingTOTP with an email OTP sudo token = %v, want 403 %s", e, CodeStrongerFactorRequired)
	}
	f.forgeSudoMethod(sudo, account.MethodTOTP)
	if _, e := f.server.PendingTOTP(f.withSudo(c, sudo), "app.example"); e != nil {
		t.Errorf("PendingTOTP with sudo: %v", e)
	}
}

func TestEmailCodePending(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name    string
		purpose string
		expires time.Duration // after now
		want    bool
	}{
		{"setup", account.PurposeSetup, time.Minute, true},
		{"other purpose", account.PurposeChallenge, time.Minute, false},
		{"expired", account.PurposeSetup, 0, false},
	}
	for _, tt := range tests {
		u := &account.User{ID: "alice", EmailCode: &account.EmailCode{
			Purpose: account.PurposeSetup, Email: "a@example.com", Expires: f.clock.Now().Add(tt.expires),
		}}
		address, ok := f.server.EmailCodePending(u, tt.purpose)
		if ok != tt.want || (ok && address != "a@example.com") {
			t.Errorf("%s: EmailCodePending = %q, %v, want a@example.com, %v", tt.name, address, ok, tt.want)
		}
	}
	if _, ok := f.server.EmailCodePending(&account.User{ID: "bob"}, account.PurposeSetup); ok {
		t.Error("EmailCodePending reports a code for a user without one")
	}
}

func TestResetRecoveryCodesCall(t *testing.T) {
	// The pages call the method behind POST /recovery-code/reset directly.
	f := newFixture(t)
	c := caller("alice", "session-a")
	secret, old := f.enroll(c)
	sudo := f.authenticate(c, secret)
	r := httptest.NewRequest(http.MethodPost, "/", nil)

	codes, e := f.server.ResetRecoveryCodes(r, f.withSudo(c, sudo))
	if e != nil {
		t.Fatalf("ResetRecoveryCodes: %v", e)
	}
	checkRecoveryCodes(t, codes)
	if _, e := f.server.AuthenticateRecoveryCode(r, c, old[0]); e == nil || e.Message != CodeRecoveryCodeInvalid {
		t.Errorf("an old code after the reset = %v, want 401 %s", e, CodeRecoveryCodeInvalid)
	}
}

func TestDeactivateCalls(t *testing.T) {
	f := newFixture(t)
	c := caller("alice", "session-a")
	secret, _ := f.enroll(c)
	sudo := f.authenticate(c, secret)
	r := httptest.NewRequest(http.MethodDelete, "/", nil)

	if e := f.server.DeactivateEmailOTP(r, f.withSudo(c, sudo)); e == nil || e.Message != CodeEmailOTPAlreadyInactive {
		t.Errorf("DeactivateEmailOTP without email OTP = %v, want 409 %s", e, CodeEmailOTPAlreadyInactive)
	}
	if e := f.server.DeactivateTOTP(r, c); e == nil || e.Message != CodeSudoTokenRequired {
		t.Errorf("DeactivateTOTP without sudo = %v, want 401 %s", e, CodeSudoTokenRequired)
	}
	if e := f.server.DeactivateTOTP(r, f.withSudo(c, sudo)); e != nil {
		t.Fatalf("DeactivateTOTP: %v", e)
	}
	if u := f.user("alice"); u.Enabled() || u.Recovery != nil {
		t.Errorf("after deactivating the only method: %+v, want 2FA off and no recovery codes", u)
	}
}

func TestParseAddressForms(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{" a@example.com ", "a@example.com", true},
		{"Ann <a@example.com>", "", false},
		{"a@example.com, b@example.com", "", false},
		{"not an address", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseAddress(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseAddress(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
