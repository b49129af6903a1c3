package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
)

func TestEmailSetupMailsCode(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")

	w := f.do(http.MethodPost, "/email-otp/setup", alice, emailBody("alice.codes@example.com"))
	wantOK(t, w, nil)
	if got := strings.TrimSpace(w.Body.String()); got != "null" {
		t.Errorf("setup answer = %s, want null", got)
	}

	m := f.sink.last()
	if len(m.to) != 1 || m.to[0] != "alice.codes@example.com" {
		t.Errorf("mail to %v, want [alice.codes@example.com]", m.to)
	}
	if want := "Confirm your email address for app.example"; m.subject != want {
		t.Errorf("subject = %q, want %q", m.subject, want)
	}
	if got := m.header.Get("From"); !strings.Contains(got, "2fa@app.example") {
		t.Errorf("From = %q, want the configured sender", got)
	}
	code := m.code()
	if code == "" || !strings.Contains(m.html, code) {
		t.Fatalf("code %q not in both parts:\n%s\n%s", code, m.text, m.html)
	}
	if !strings.Contains(m.text, "10 minutes") {
		t.Errorf("text does not state the 10 minutes:\n%s", m.text)
	}

	u := f.user("alice")
	if u.EmailCode == nil || u.EmailCode.Purpose != account.PurposeSetup ||
		u.EmailCode.Email != "alice.codes@example.com" {
		t.Errorf("pending code = %+v, want a setup code for alice.codes@example.com", u.EmailCode)
	}
	if u.EmailOTP != nil || u.Enabled() {
		t.Errorf("email OTP %+v, enabled %v after setup alone, want neither", u.EmailOTP, u.Enabled())
	}
	if u.EmailCode != nil && strings.Contains(u.EmailCode.MAC, code) {
		t.Error("the stored code is not a MAC")
	}
}

func TestEmailEnableFirstMethod(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	codes := f.enrollEmail(alice, "alice.codes@example.com")

	if len(codes) != 10 {
		t.Errorf("enable gave %d recovery codes, want 10", len(codes))
	}
	if !f.verified(alice) {
		t.Error("session not verified after enable")
	}
	var status statusResponse
	wantOK(t, f.do(http.MethodGet, "", alice, ""), &status)
	if !status.Enabled || status.TOTP != nil {
		t.Errorf("status enabled %v, totp %v, want enabled with no TOTP", status.Enabled, status.TOTP)
	}
	if status.EmailOTP == nil || status.EmailOTP.Email != "alice.codes@example.com" ||
		!status.EmailOTP.CompletedAt.Equal(t0) {
		t.Errorf("status emailOtp = %+v, want alice.codes@example.com completed at %v", status.EmailOTP, t0)
	}
	if status.RecoveryCodes == nil || status.RecoveryCodes.Remaining != 10 {
		t.Errorf("status recoveryCodes = %+v, want 10 remaining", status.RecoveryCodes)
	}

	// The code was consumed: nothing is pending any more.
	w := f.do(http.MethodPost, "/email-otp/enable", alice, otpBody(f.sink.lastCode("alice.codes@example.com")))
	wantError(t, w, http.StatusConflict, CodeEmailOTPUninitialized)
}

func TestEmailEnableWithTOTPOn(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	secret, _ := f.enroll(alice)
	sudo := f.withSudo(alice, f.authenticate(alice, secret))

	code := f.setupEmail(sudo, "alice.codes@example.com")
	w := f.do(http.MethodPost, "/email-otp/enable", alice, otpBody(code))
	wantOK(t, w, nil)
	if got := strings.TrimSpace(w.Body.String()); got != `{"recoveryCodes":[]}` {
		t.Errorf("enable answer = %s, want {\"recoveryCodes\":[]}", got)
	}

	var status statusResponse
	wantOK(t, f.do(http.MethodGet, "", alice, ""), &status)
	if status.TOTP == nil || status.EmailOTP == nil {
		t.Errorf("status totp %v, emailOtp %v, want both", status.TOTP, status.EmailOTP)
	}
	if status.RecoveryCodes == nil || status.RecoveryCodes.Remaining != 10 {
		t.Errorf("status recoveryCodes = %+v, want the first set, 10 remaining", status.RecoveryCodes)
	}
}

func TestEmailChallengeAuthenticate(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	f.enrollEmail(alice, "alice.codes@example.com")
	f.clock.Advance(emailSendInterval)

	second := caller("alice", "key-b")
	w := f.do(http.MethodPost, "/email-otp/challenge", second, "{}")
	wantOK(t, w, nil)
	if got := strings.TrimSpace(w.Body.String()); got != "null" {
		t.Errorf("challenge answer = %s, want null", got)
	}
	if want := "Your sign-in code for app.example"; f.sink.last().subject != want {
		t.Errorf("subject = %q, want %q", f.sink.last().subject, want)
	}
	code := f.sink.lastCode("alice.codes@example.com")
	if f.verified(second) {
		t.Fatal("second session verified before the code was sent")
	}

	var answer struct {
		AccessToken  *string `json:"accessToken"`
		RefreshToken *string `json:"refreshToken"`
		SudoToken    string  `json:"sudoToken"`
	}
	wantOK(t, f.do(http.MethodPost, "/email-otp/authenticate", second, otpBody(code)), &answer)
	if !strings.HasPrefix(answer.SudoToken, SudoPrefix) {
		t.Errorf("sudoToken = %.9q…, want the sudo_ prefix", answer.SudoToken)
	}
	if answer.AccessToken != nil || answer.RefreshToken != nil {
		t.Errorf("accessToken %v, refreshToken %v, want null", answer.AccessToken, answer.RefreshToken)
	}
	if !f.verified(second) {
		t.Error("second session not verified after authenticate")
	}
	if record := f.sudoRecord(answer.SudoToken); record == nil || record.Method != account.MethodEmailOTP {
		t.Errorf("sudo token record = %+v, want one minted by emailOtp", record)
	}
}

func TestEmailInactive(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	f.enroll(alice) // TOTP only

	w := f.do(http.MethodPost, "/email-otp/challenge", alice, "{}")
	wantError(t, w, http.StatusConflict, CodeEmailOTPInactive)
	w = f.do(http.MethodPost, "/email-otp/authenticate", alice, otpBody("123456"))
	wantError(t, w, http.StatusConflict, CodeEmailOTPInactive)

	if n := len(f.sink.received()); n != 0 {
		t.Errorf("%d mails sent, want 0", n)
	}
	if g := f.user("alice").Guess(account.MethodEmailOTP); g.Consecutive != 0 {
		t.Errorf("email OTP failures = %d, want 0: a 409 is no guess", g.Consecutive)
	}
}

func TestEmailUninitialized(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")

	w := f.do(http.MethodPost, "/email-otp/enable", alice, otpBody("123456"))
	wantError(t, w, http.StatusConflict, CodeEmailOTPUninitialized)
	w = f.do(http.MethodGet, "/email-otp/next-email", alice, "")
	wantError(t, w, http.StatusConflict, CodeEmailOTPUninitialized)

	f.setupEmail(alice, "alice.codes@example.com")
	if got := f.nextEmail(alice); got != 60 {
		t.Errorf("next-email with a pending setup = %d, want 60", got)
	}
}

func TestEmailCodeExpiry(t *testing.T) {
	tests := []struct {
		name    string
		wait    time.Duration
		wantErr bool
	}{
		{"last second", emailCodeTTL - time.Second, false},
		{"ten minutes", emailCodeTTL, true},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/enable", func(t *testing.T) {
			f := newMailFixture(t)
			alice := caller("alice", "key-a")
			code := f.setupEmail(alice, "alice.codes@example.com")
			f.clock.Advance(tt.wait)
			w := f.do(http.MethodPost, "/email-otp/enable", alice, otpBody(code))
			if tt.wantErr {
				wantError(t, w, http.StatusUnauthorized, CodeOTPInvalidExpired)
			} else {
				wantOK(t, w, nil)
			}
		})
		t.Run(tt.name+"/authenticate", func(t *testing.T) {
			f := newMailFixture(t)
			alice := caller("alice", "key-a")
			f.enrollEmail(alice, "alice.codes@example.com")
			f.clock.Advance(emailSendInterval)
			code := f.challengeEmail(alice, "alice.codes@example.com")
			f.clock.Advance(tt.wait)
			w := f.do(http.MethodPost, "/email-otp/authenticate", alice, otpBody(code))
			if tt.wantErr {
				wantError(t, w, http.StatusUnauthorized, CodeOTPInvalidExpired)
			} else {
				wantOK(t, w, nil)
			}
		})
	}
}

func TestEmailCodeReplaced(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	first := f.setupEmail(alice, "alice.codes@example.com")
	f.clock.Advance(emailSendInterval)
	second := f.setupEmail(alice, "alice.codes@example.com")
	if first == second {
		t.Skip("the seeded random source drew the same code twice")
	}

	w := f.do(http.MethodPost, "/email-otp/enable", alice, otpBody(first))
	wantError(t, w, http.StatusUnauthorized, CodeOTPInvalidExpired)
	wantOK(t, f.do(http.MethodPost, "/email-otp/enable", alice, otpBody(second)), nil)

	f.clock.Advance(emailSendInterval)
	first = f.challengeEmail(alice, "alice.codes@example.com")
	f.clock.Advance(emailSendInterval)
	second = f.challengeEmail(alice, "alice.codes@example.com")
	w = f.do(http.MethodPost, "/email-otp/authenticate", alice, otpBody(first))
	wantError(t, w, http.StatusUnauthorized, CodeOTPInvalidExpired)
	wantOK(t, f.do(http.MethodPost, "/email-otp/authenticate", alice, otpBody(second)), nil)
}

func TestEmailSetupCodeNotForAuthenticate(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	f.enrollEmail(alice, "alice.codes@example.com")
	sudo := f.withSudo(alice, f.passEmail(alice, "alice.codes@example.com"))
	f.clock.Advance(emailSendInterval)

	code := f.setupEmail(sudo, "alice.new@example.com")
	w := f.do(http.MethodPost, "/email-otp/authenticate", alice, otpBody(code))
	wantError(t, w, http.StatusUnauthorized, CodeOTPInvalidExpired)

	// The rejected use did not consume the setup code.
	wantOK(t, f.do(http.MethodPost, "/email-otp/enable", alice, otpBody(code)), nil)
	if got := f.user("alice").EmailOTP; got == nil || got.Email != "alice.new@example.com" {
		t.Errorf("email OTP = %+v, want the new address", got)
	}
}

func TestEmailChallengeCodeNotForEnable(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	f.enrollEmail(alice, "alice.codes@example.com")
	f.clock.Advance(emailSendInterval)

	code := f.challengeEmail(alice, "alice.codes@example.com")
	w := f.do(http.MethodPost, "/email-otp/enable", alice, otpBody(code))
	wantError(t, w, http.StatusConflict, CodeEmailOTPUninitialized)

	wantOK(t, f.do(http.MethodPost, "/email-otp/authenticate", alice, otpBody(code)), nil)
}

func TestEmailCodeSingleUse(t *testing.T) {
	tests := []struct {
		name    string
		subpath string
		prepare func(f *mailFixture, c *Caller) string
		// others lists the messages the requests that lost may get.
		others []string
	}{
		{"enable", "/email-otp/enable", func(f *mailFixture, c *Caller) string {
			return f.setupEmail(c, "alice.codes@example.com")
		}, []string{CodeEmailOTPUninitialized}},
		{"authenticate", "/email-otp/authenticate", func(f *mailFixture, c *Caller) string {
			f.enrollEmail(c, "alice.codes@example.com")
			f.clock.Advance(emailSendInterval)
			return f.challengeEmail(c, "alice.codes@example.com")
		}, []string{CodeOTPInvalidExpired, CodeTooManyEmailOTPChecks}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newMailFixture(t)
			code := tt.prepare(f, caller("alice", "key-a"))

			const n = 20
			answers := make([]errorBody, n)
			statuses := make([]int, n)
			start := make(chan struct{})
			done := make(chan int)
			for i := range n {
				go func() {
					defer func() { done <- i }()
					c := caller("alice", fmt.Sprintf("key-%d", i))
					<-start
					w := f.do(http.MethodPost, tt.subpath, c, otpBody(code))
					statuses[i] = w.Code
					_ = json.Unmarshal(w.Body.Bytes(), &answers[i])
				}()
			}
			close(start)
			for range n {
				<-done
			}

			ok := 0
			for i, status := range statuses {
				if status == http.StatusOK {
					ok++
					continue
				}
				if !slices.Contains(tt.others, answers[i].Message) {
					t.Errorf("request %d: %d %s, want 200 or one of %v", i, status, answers[i].Message, tt.others)
				}
			}
			if ok != 1 {
				t.Errorf("%d of %d parallel requests with one code succeeded, want exactly 1", ok, n)
			}
		})
	}
}
