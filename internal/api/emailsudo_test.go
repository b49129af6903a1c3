package api

import (
	"net/http"
	"strings"
	"testing"
)

func TestEmailDeleteNeedsSudo(t *testing.T) {
	f := newMailFixture(t)
	const address = "alice.codes@example.com"
	alice := caller("alice", "key-a")
	f.enrollEmail(alice, address)
	other := caller("alice", "key-b")
	f.passEmail(other, address)
	sudo := f.withSudo(alice, f.passEmail(alice, address))

	w := f.do(http.MethodDelete, "/email-otp", alice, "")
	wantError(t, w, http.StatusUnauthorized, CodeSudoTokenRequired)
	if f.user("alice").EmailOTP == nil {
		t.Fatal("email OTP off after a delete without a sudo token")
	}

	w = f.do(http.MethodDelete, "/email-otp", sudo, "")
	wantOK(t, w, nil)
	if got := strings.TrimSpace(w.Body.String()); got != "null" {
		t.Errorf("delete answer = %s, want null", got)
	}

	// It was the last method: 2FA is off and the recovery codes are gone.
	var status statusResponse
	wantOK(t, f.do(http.MethodGet, "", alice, ""), &status)
	if status.Enabled || status.EmailOTP != nil || status.RecoveryCodes != nil {
		t.Errorf("status = %+v, want 2FA off with no email OTP and no recovery codes", status)
	}
	if u := f.user("alice"); u.Recovery != nil || u.EmailCode != nil {
		t.Errorf("recovery %+v, pending code %+v after the last method went, want neither",
			u.Recovery, u.EmailCode)
	}
	if f.verified(other) {
		t.Error("the other session is still verified after the delete")
	}
	if !f.verified(alice) {
		t.Error("the calling session lost its verification")
	}

	w = f.do(http.MethodDelete, "/email-otp", sudo, "")
	wantError(t, w, http.StatusConflict, CodeEmailOTPAlreadyInactive)
	w = f.do(http.MethodPost, "/email-otp/challenge", alice, "{}")
	wantError(t, w, http.StatusConflict, CodeEmailOTPInactive)
}

func TestEmailDeleteKeepsTOTP(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	secret, _ := f.enroll(alice)
	sudo := f.withSudo(alice, f.authenticate(alice, secret))
	code := f.setupEmail(sudo, "alice.codes@example.com")
	wantOK(t, f.do(http.MethodPost, "/email-otp/enable", alice, otpBody(code)), nil)

	wantOK(t, f.do(http.MethodDelete, "/email-otp", sudo, ""), nil)
	var status statusResponse
	wantOK(t, f.do(http.MethodGet, "", alice, ""), &status)
	if !status.Enabled || status.TOTP == nil || status.EmailOTP != nil {
		t.Errorf("status = %+v, want 2FA on with TOTP only", status)
	}
	if status.RecoveryCodes == nil || status.RecoveryCodes.Remaining != 10 {
		t.Errorf("recoveryCodes = %+v, want the set kept, 10 remaining", status.RecoveryCodes)
	}
}

func TestEmailSetupStrongerFactor(t *testing.T) {
	f := newMailFixture(t)
	const address, next = "alice.codes@example.com", "alice.new@example.com"
	alice := caller("alice", "key-a")
	secret, _ := f.enroll(alice)
	totpSudo := f.withSudo(alice, f.authenticate(alice, secret))
	code := f.setupEmail(totpSudo, address)
	wantOK(t, f.do(http.MethodPost, "/email-otp/enable", alice, otpBody(code)), nil)
	f.server.WaitNotices()

	w := f.do(http.MethodPost, "/email-otp/setup", alice, emailBody(next))
	wantError(t, w, http.StatusUnauthorized, CodeSudoTokenRequired)

	emailSudo := f.withSudo(alice, f.passEmail(alice, address))
	f.clock.Advance(emailSendInterval)
	mails, before := len(f.sink.received()), f.user("alice")
	w = f.do(http.MethodPost, "/email-otp/setup", emailSudo, emailBody(next))
	wantError(t, w, http.StatusForbidden, CodeStrongerFactorRequired)
	after := f.user("alice")
	if got := len(f.sink.received()); got != mails {
		t.Errorf("%d mails after the refused setup, want %d", got, mails)
	}
	if len(after.EmailSends.Sent) != len(before.EmailSends.Sent) || after.EmailCode != nil {
		t.Errorf("sends %v, pending code %+v after a 403, want %v and none",
			after.EmailSends.Sent, after.EmailCode, before.EmailSends.Sent)
	}

	totpSudo = f.withSudo(alice, f.authenticate(alice, secret))
	f.setupEmail(totpSudo, next)
}

// TestEmailSetupEmailSudoWithoutTOTP checks that without TOTP a sudo
// token from an email code may change the address: there is no stronger
// factor to protect.
func TestEmailSetupEmailSudoWithoutTOTP(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	f.enrollEmail(alice, "alice.codes@example.com")
	sudo := f.withSudo(alice, f.passEmail(alice, "alice.codes@example.com"))
	f.clock.Advance(emailSendInterval)

	w := f.do(http.MethodPost, "/email-otp/setup", alice, emailBody("alice.new@example.com"))
	wantError(t, w, http.StatusUnauthorized, CodeSudoTokenRequired)
	f.setupEmail(sudo, "alice.new@example.com")
}

// TestEmailAddressChangeRevokesOthers checks the changing-factors rule
// for a new email OTP address: every other session loses its
// verification, the caller's keeps it.
func TestEmailAddressChangeRevokesOthers(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	f.enrollEmail(alice, "alice.codes@example.com")
	other := caller("alice", "key-b")
	f.passEmail(other, "alice.codes@example.com")
	sudo := f.withSudo(alice, f.passEmail(alice, "alice.codes@example.com"))
	f.clock.Advance(emailSendInterval)

	code := f.setupEmail(sudo, "alice.new@example.com")
	if !f.verified(other) {
		t.Fatal("setup alone revoked the other session, want that only at enable")
	}
	wantOK(t, f.do(http.MethodPost, "/email-otp/enable", alice, otpBody(code)), nil)
	if f.verified(other) {
		t.Error("the other session is still verified after the address changed")
	}
	if !f.verified(alice) {
		t.Error("the calling session lost its verification")
	}
}
