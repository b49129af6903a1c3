package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

func totpBody(code string) string { return fmt.Sprintf(`{"totp":%q}`, code) }

// nextGuess returns the next-guess duration of a route, in seconds.
func (f *fixture) nextGuess(c *Caller, subpath string) int64 {
	f.t.Helper()
	var answer struct {
		Duration *int64 `json:"duration"`
	}
	wantOK(f.t, f.do(http.MethodGet, subpath, c, ""), &answer)
	if answer.Duration == nil {
		f.t.Fatalf("GET %s: no duration", subpath)
	}
	return *answer.Duration
}

func TestSetupTOTPAnswer(t *testing.T) {
	f := newFixture(t)
	f.server.Config.Skew = 2
	alice := caller("alice", "key-a")
	alice.Email = "alice@example.com"

	w := f.do(http.MethodPost, "/totp/setup", alice, "")
	var raw map[string]string
	wantOK(t, w, &raw)
	if keys := slices.Sorted(maps.Keys(raw)); !slices.Equal(keys, []string{"qrCode", "url"}) {
		t.Errorf("answer members = %v, want [qrCode url]", keys)
	}

	u, err := url.Parse(raw["url"])
	if err != nil {
		t.Fatalf("parsing url: %v", err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" {
		t.Errorf("url = %s, want otpauth://totp/…", raw["url"])
	}
	if want := "/app.example:alice@example.com"; u.Path != want {
		t.Errorf("label = %q, want %q (issuer from the host without port, then the email)", u.Path, want)
	}
	query := u.Query()
	wantQuery := map[string]string{"issuer": "app.example", "algorithm": "SHA1", "digits": "6", "period": "30"}
	for name, want := range wantQuery {
		if got := query.Get(name); got != want {
			t.Errorf("url %s = %q, want %q", name, got, want)
		}
	}
	secret := secretOf(t, raw["url"])
	if len(secret) != 20 {
		t.Errorf("secret is %d bytes, want 20", len(secret))
	}

	data, ok := strings.CutPrefix(raw["qrCode"], "data:image/png;base64,")
	if !ok {
		t.Fatalf("qrCode = %.40q…, want a PNG data: URL", raw["qrCode"])
	}
	image, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		t.Fatalf("decoding qrCode: %v", err)
	}
	if _, err := png.Decode(bytes.NewReader(image)); err != nil {
		t.Errorf("qrCode is no PNG: %v", err)
	}

	pending := f.user("alice").PendingTOTP
	if pending == nil {
		t.Fatal("no pending secret after setup")
	}
	if pending.Skew != 2 {
		t.Errorf("pending skew = %d, want the configured 2", pending.Skew)
	}
	if bytes.Contains(pending.SealedSecret, secret) {
		t.Error("the stored secret is not sealed")
	}
	if f.user("alice").Enabled() {
		t.Error("2FA on after setup alone")
	}
}

func TestSetupTOTPIssuerAndUserID(t *testing.T) {
	f := newFixture(t)
	f.server.Config.Issuer = "Example Corp"
	setup, e := f.server.SetupTOTP(caller("42", "key-a"), "ignored.example")
	if e != nil {
		t.Fatalf("SetupTOTP: %v", e)
	}
	u, err := url.Parse(setup.URL)
	if err != nil {
		t.Fatalf("parsing url: %v", err)
	}
	if want := "/Example Corp:42"; u.Path != want {
		t.Errorf("label = %q, want %q", u.Path, want)
	}
	if got := u.Query().Get("issuer"); got != "Example Corp" {
		t.Errorf("issuer = %q, want Example Corp", got)
	}
	if got := u.Query().Get("secret"); got != setup.Secret {
		t.Errorf("Secret = %q, want the URL's secret %q", setup.Secret, got)
	}
}

func TestSetupTOTPNeedsSudoWhenOn(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	f.enroll(alice)

	w := f.do(http.MethodPost, "/totp/setup", alice, "{}")
	wantError(t, w, http.StatusUnauthorized, CodeSudoTokenRequired)
	if pending := f.user("alice").PendingTOTP; pending != nil {
		t.Errorf("pending secret after a rejected setup: %+v", pending)
	}
}

func TestEnableTOTPUninitialized(t *testing.T) {
	f := newFixture(t)
	w := f.do(http.MethodPost, "/totp/enable", caller("alice", "key-a"), totpBody("123456"))
	wantError(t, w, http.StatusConflict, CodeTOTPUninitialized)
}

func TestEnableTOTP(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret := f.setup(alice)

	w := f.do(http.MethodPost, "/totp/enable", alice, totpBody(wrongCode(secret, t0)))
	wantError(t, w, http.StatusUnauthorized, CodeTOTPInvalid)
	u := f.user("alice")
	if u.PendingTOTP == nil || u.TOTP != nil {
		t.Fatalf("after a wrong enable code: pending %v, active %v, want pending only", u.PendingTOTP, u.TOTP)
	}
	if got := u.Guess(account.MethodTOTP).Consecutive; got != 1 {
		t.Errorf("failures after a wrong enable code = %d, want 1", got)
	}
	if f.verified(alice) {
		t.Error("session verified after a wrong enable code")
	}

	var answer struct {
		RecoveryCodes []string `json:"recoveryCodes"`
	}
	wantOK(t, f.do(http.MethodPost, "/totp/enable", alice, totpBody(totpCode(secret, t0))), &answer)
	checkRecoveryCodes(t, answer.RecoveryCodes)

	u = f.user("alice")
	if u.TOTP == nil || u.PendingTOTP != nil {
		t.Fatalf("after enable: active %v, pending %v, want active only", u.TOTP, u.PendingTOTP)
	}
	if !u.TOTP.CompletedAt.Equal(t0) {
		t.Errorf("completedAt = %v, want %v", u.TOTP.CompletedAt, t0)
	}
	if got := u.Guess(account.MethodTOTP).Consecutive; got != 0 {
		t.Errorf("failures after enable = %d, want 0", got)
	}
	if method, ok, _ := f.server.Sessions.Verified("alice", "key-a"); !ok || method != account.MethodTOTP {
		t.Errorf("session after enable: Verified = %q, %v, want totp, true", method, ok)
	}
}

// checkRecoveryCodes checks a fresh set: 10 distinct codes of 16 Crockford
// base32 characters.
func checkRecoveryCodes(t *testing.T, codes []string) {
	t.Helper()
	if len(codes) != 10 {
		t.Fatalf("got %d recovery codes, want 10", len(codes))
	}
	seen := map[string]bool{}
	for _, code := range codes {
		if len(code) != 16 || strings.Trim(code, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != "" {
			t.Errorf("recovery code %q is not 16 Crockford base32 characters", code)
		}
		if seen[code] {
			t.Errorf("recovery code %q appears twice", code)
		}
		seen[code] = true
	}
}

func TestEnableCodeCountsAsUsed(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret, _ := f.enroll(alice)

	for i := 0; i < 5; i++ {
		w := f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(totpCode(secret, t0)))
		wantError(t, w, http.StatusUnauthorized, CodeTOTPAlreadyUsed)
	}
	if got := f.user("alice").Guess(account.MethodTOTP).Consecutive; got != 0 {
		t.Errorf("failures after replays = %d, want 0: a replay does not count", got)
	}
	if got := f.nextGuess(alice, "/totp/next-guess"); got != 0 {
		t.Errorf("next-guess after replays = %d, want 0", got)
	}
}

func TestAuthenticateTOTP(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret, _ := f.enroll(alice)
	bob := caller("bob", "key-b") // no 2FA
	f.clock.Advance(30 * time.Second)

	w := f.do(http.MethodPost, "/totp/authenticate", bob, totpBody("123456"))
	wantError(t, w, http.StatusConflict, CodeTOTPUninitialized)

	other := caller("alice", "key-other")
	w = f.do(http.MethodPost, "/totp/authenticate", other, totpBody(totpCode(secret, f.clock.Now())))
	wantOK(t, w, nil)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if string(raw["accessToken"]) != "null" || string(raw["refreshToken"]) != "null" {
		t.Errorf("accessToken, refreshToken = %s, %s, want null, null", raw["accessToken"], raw["refreshToken"])
	}
	var sudo string
	if err := json.Unmarshal(raw["sudoToken"], &sudo); err != nil || !strings.HasPrefix(sudo, "sudo_") {
		t.Fatalf("sudoToken = %s, want sudo_…", raw["sudoToken"])
	}
	if len(sudo) != len("sudo_")+43 {
		t.Errorf("sudo token has %d characters, want sudo_ and 43 (32 bytes in base64url)", len(sudo))
	}
	record := f.sudoRecord(sudo)
	if record == nil {
		t.Fatal("sudo token not stored")
	}
	if record.UserID != "alice" || record.SessionKey != "key-other" || record.Method != account.MethodTOTP {
		t.Errorf("sudo record = %+v, want alice, key-other, totp", record)
	}
	if want := f.clock.Now().Add(5 * time.Minute); !record.Expires.Equal(want) {
		t.Errorf("sudo token expires %v, want %v", record.Expires, want)
	}
	if !f.verified(other) {
		t.Error("session not verified after authenticate")
	}

	w = f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(totpCode(secret, f.clock.Now())))
	wantError(t, w, http.StatusUnauthorized, CodeTOTPAlreadyUsed)
}

func TestAuthenticateTOTPPendingOnly(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret := f.setup(alice)
	w := f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(totpCode(secret, t0)))
	wantError(t, w, http.StatusConflict, CodeTOTPUninitialized)
}

func TestAuthenticateTOTPSkew(t *testing.T) {
	tests := []struct {
		steps int // offset of the code's time step from now
		want  int
	}{
		{-2, http.StatusUnauthorized},
		{-1, http.StatusOK},
		{0, http.StatusOK},
		{1, http.StatusOK},
		{2, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.steps), func(t *testing.T) {
			f := newFixture(t)
			alice := caller("alice", "key-a")
			secret, _ := f.enroll(alice)
			f.clock.Advance(10*time.Minute + 15*time.Second)

			at := f.clock.Now().Add(time.Duration(tt.steps) * 30 * time.Second)
			w := f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(totpCode(secret, at)))
			if w.Code != tt.want {
				t.Errorf("code %d steps away: status %d, want %d", tt.steps, w.Code, tt.want)
			}
		})
	}
}

func TestAuthenticateTOTPStepAccepted(t *testing.T) {
	// A code of the next step moves the last used step forward, so the
	// current step's code is then a replay.
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret, _ := f.enroll(alice)
	f.clock.Advance(time.Minute)
	now := f.clock.Now()

	wantOK(t, f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(totpCode(secret, now.Add(30*time.Second)))), nil)
	w := f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(totpCode(secret, now)))
	wantError(t, w, http.StatusUnauthorized, CodeTOTPAlreadyUsed)
}

func TestTOTPThrottleSequence(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret, _ := f.enroll(alice)
	f.clock.Advance(30 * time.Second)

	want := []int64{0, 0, 0, 1, 2, 4, 8, 16}
	for i, wait := range want {
		if got := f.nextGuess(alice, "/totp/next-guess"); got != wait {
			t.Fatalf("next-guess before guess %d = %d, want %d", i+1, got, wait)
		}
		f.clock.Advance(time.Duration(wait) * time.Second)
		w := f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(wrongCode(secret, f.clock.Now())))
		wantError(t, w, http.StatusUnauthorized, CodeTOTPInvalid)
	}
}

func TestTOTPGuessTooEarly(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret, _ := f.enroll(alice)
	f.clock.Advance(30 * time.Second)
	for i := 0; i < 3; i++ {
		f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(wrongCode(secret, f.clock.Now())))
	}
	f.clock.Advance(time.Second)
	f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(wrongCode(secret, f.clock.Now())))
	// Four failures: the next guess waits 2 s, 1.5 s from now.
	f.clock.Advance(500 * time.Millisecond)
	before := *f.user("alice").Guess(account.MethodTOTP)

	for _, code := range []string{wrongCode(secret, f.clock.Now()), totpCode(secret, f.clock.Now())} {
		w := f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(code))
		body := wantError(t, w, http.StatusTooManyRequests, CodeTooManyTOTPChecks)
		if body.RetryAfter == nil || *body.RetryAfter != 2 {
			t.Errorf("retryAfter = %v, want 2 (1.5 s rounded up)", body.RetryAfter)
		}
		if got := w.Header().Get("Retry-After"); got != "2" {
			t.Errorf("Retry-After = %q, want 2", got)
		}
	}
	after := *f.user("alice").Guess(account.MethodTOTP)
	if after.Consecutive != before.Consecutive || len(after.Failures) != len(before.Failures) {
		t.Errorf("counter after early guesses = %+v, want unchanged %+v", after, before)
	}
	if got := f.nextGuess(alice, "/totp/next-guess"); got != 2 {
		t.Errorf("next-guess = %d, want 2", got)
	}

	// The right code sent too early was not consumed.
	f.clock.Advance(1500 * time.Millisecond)
	wantOK(t, f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(totpCode(secret, f.clock.Now()))), nil)
	if got := f.nextGuess(alice, "/totp/next-guess"); got != 0 {
		t.Errorf("next-guess after a success = %d, want 0", got)
	}
}

func TestTOTPSuccessResetsCount(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret, _ := f.enroll(alice)
	f.clock.Advance(30 * time.Second)
	for i := 0; i < 3; i++ {
		f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(wrongCode(secret, f.clock.Now())))
	}
	f.authenticate(alice, secret)
	f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(wrongCode(secret, f.clock.Now())))
	if got := f.nextGuess(alice, "/totp/next-guess"); got != 0 {
		t.Errorf("next-guess after 3 failures, a success and a failure = %d, want 0", got)
	}
}

func TestTOTPDailyLimit(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret, _ := f.enroll(alice)
	f.clock.Advance(30 * time.Second)
	first := f.clock.Now()

	for i := 1; i <= throttle.DailyLimit; i++ {
		f.clock.Advance(time.Duration(f.nextGuess(alice, "/totp/next-guess")) * time.Second)
		w := f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(wrongCode(secret, f.clock.Now())))
		wantError(t, w, http.StatusUnauthorized, CodeTOTPInvalid)
		if i == 25 {
			// A success between failures lifts the exponential wait but
			// not the daily count.
			f.clock.Advance(time.Duration(f.nextGuess(alice, "/totp/next-guess")) * time.Second)
			f.authenticate(alice, secret)
		}
	}
	if f.clock.Now().Sub(first) >= 24*time.Hour-throttle.MaxDelay {
		t.Fatalf("the failures took %v, too long for this test", f.clock.Now().Sub(first))
	}

	unlock := first.Add(24 * time.Hour)
	want := throttle.Seconds(unlock.Sub(f.clock.Now()))
	if got := f.nextGuess(alice, "/totp/next-guess"); got != want {
		t.Errorf("next-guess after %d failures = %d, want %d (until the first is 24 h old)", throttle.DailyLimit, got, want)
	}

	f.clock.Advance(unlock.Sub(f.clock.Now()) - time.Second)
	w := f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(totpCode(secret, f.clock.Now())))
	body := wantError(t, w, http.StatusTooManyRequests, CodeTooManyTOTPChecks)
	if body.RetryAfter == nil || *body.RetryAfter != 1 {
		t.Errorf("retryAfter a second before the unlock = %v, want 1", body.RetryAfter)
	}

	f.clock.Advance(time.Second)
	wantOK(t, f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(totpCode(secret, f.clock.Now()))), nil)
}

func TestTOTPNextGuess(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	wantError(t, f.do(http.MethodGet, "/totp/next-guess", alice, ""), http.StatusConflict, CodeTOTPUninitialized)

	f.setup(alice)
	if got := f.nextGuess(alice, "/totp/next-guess"); got != 0 {
		t.Errorf("next-guess with a pending secret = %d, want 0", got)
	}
}

func TestTOTPResetKeepsOldUntilEnabled(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	phone := caller("alice", "key-phone")
	oldSecret, codes := f.enroll(alice)
	phoneSudo := f.authenticate(phone, oldSecret)
	aliceSudo := f.authenticate(alice, oldSecret)

	newSecret := f.setup(f.withSudo(alice, aliceSudo))
	if bytes.Equal(newSecret, oldSecret) {
		t.Fatal("setup returned the old secret")
	}
	u := f.user("alice")
	if u.TOTP == nil || u.PendingTOTP == nil || !u.TOTP.CompletedAt.Equal(t0) {
		t.Fatalf("after the reset setup: active %v, pending %v, want both, active from t0", u.TOTP, u.PendingTOTP)
	}

	// Until enabled, the old secret works and the new one does not.
	f.clock.Advance(30 * time.Second)
	w := f.do(http.MethodPost, "/totp/authenticate", phone, totpBody(totpCode(newSecret, f.clock.Now())))
	wantError(t, w, http.StatusUnauthorized, CodeTOTPInvalid)
	f.clock.Advance(30 * time.Second)
	wantOK(t, f.do(http.MethodPost, "/totp/authenticate", phone, totpBody(totpCode(oldSecret, f.clock.Now()))), nil)

	f.clock.Advance(30 * time.Second)
	w = f.do(http.MethodPost, "/totp/enable", alice, totpBody(totpCode(newSecret, f.clock.Now())))
	wantOK(t, w, nil)
	if got := w.Body.String(); got != `{"recoveryCodes":[]}`+"\n" {
		t.Errorf("enable while 2FA is on = %s, want an empty list of recovery codes", got)
	}

	// The reset took effect: the other session and its sudo token are gone,
	// the caller's stay, and the old secret no longer works.
	if f.verified(phone) {
		t.Error("other session still verified after the reset")
	}
	if f.sudoRecord(phoneSudo) != nil {
		t.Error("other session's sudo token kept after the reset")
	}
	if !f.verified(alice) {
		t.Error("caller's session not verified after the reset")
	}
	if f.sudoRecord(aliceSudo) == nil {
		t.Error("caller's sudo token revoked by its own reset")
	}
	f.clock.Advance(30 * time.Second)
	w = f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(totpCode(oldSecret, f.clock.Now())))
	wantError(t, w, http.StatusUnauthorized, CodeTOTPInvalid)
	f.clock.Advance(30 * time.Second)
	wantOK(t, f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(totpCode(newSecret, f.clock.Now()))), nil)

	// The recovery codes of the first enrolment stay.
	body := fmt.Sprintf(`{"recoveryCode":%q}`, codes[0])
	wantOK(t, f.do(http.MethodPost, "/recovery-code/authenticate", phone, body), nil)
}

func TestTOTPResetEnableCodeCountsAsUsed(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	oldSecret, _ := f.enroll(alice)
	sudo := f.authenticate(alice, oldSecret)
	newSecret := f.setup(f.withSudo(alice, sudo))
	f.clock.Advance(30 * time.Second)
	code := totpCode(newSecret, f.clock.Now())
	wantOK(t, f.do(http.MethodPost, "/totp/enable", alice, totpBody(code)), nil)

	w := f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(code))
	wantError(t, w, http.StatusUnauthorized, CodeTOTPAlreadyUsed)
}

func TestDeleteTOTP(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	phone := caller("alice", "key-phone")
	secret, codes := f.enroll(alice)
	phoneSudo := f.authenticate(phone, secret)
	aliceSudo := f.authenticate(alice, secret)
	f.setup(f.withSudo(alice, aliceSudo)) // a pending reset goes too

	w := f.do(http.MethodDelete, "/totp", f.withSudo(alice, aliceSudo), "")
	wantOK(t, w, nil)
	if got := w.Body.String(); got != "null\n" {
		t.Errorf("body = %q, want null", got)
	}

	u := f.user("alice")
	if u.TOTP != nil || u.PendingTOTP != nil || u.Recovery != nil || u.Enabled() {
		t.Errorf("after deleting the last method: %+v, want no TOTP, no pending secret, no recovery codes", u)
	}
	if f.verified(phone) || f.sudoRecord(phoneSudo) != nil {
		t.Error("other session or its sudo token kept after the delete")
	}
	if !f.verified(alice) || f.sudoRecord(aliceSudo) == nil {
		t.Error("caller's session or sudo token revoked by its own delete")
	}

	var status statusBody
	wantOK(t, f.do(http.MethodGet, "", alice, ""), &status)
	if status.Enabled || status.TOTP != nil || status.RecoveryCodes != nil {
		t.Errorf("status after delete = %+v, want 2FA off", status)
	}
	body := fmt.Sprintf(`{"recoveryCode":%q}`, codes[0])
	w = f.do(http.MethodPost, "/recovery-code/authenticate", alice, body)
	wantError(t, w, http.StatusConflict, CodeRecoveryUninitialized)
	w = f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(totpCode(secret, f.clock.Now())))
	wantError(t, w, http.StatusConflict, CodeTOTPUninitialized)
	wantError(t, f.do(http.MethodGet, "/totp/next-guess", alice, ""), http.StatusConflict, CodeTOTPUninitialized)
	w = f.do(http.MethodDelete, "/totp", f.withSudo(alice, aliceSudo), "")
	wantError(t, w, http.StatusConflict, CodeTOTPAlreadyInactive)

	// With 2FA off, setup needs no sudo token.
	f.setup(alice)
}

func TestTOTPSealedForAnotherUser(t *testing.T) {
	// A sealed secret copied into another user's record does not open.
	f := newFixture(t)
	f.enroll(caller("alice", "key-a"))
	stolen := f.user("alice").TOTP
	err := f.server.Store.Update(func(tx store.Tx) error {
		return account.SaveUser(tx, &account.User{ID: "bob", TOTP: stolen})
	})
	if err != nil {
		t.Fatalf("SaveUser: %v", err)
	}
	w := f.do(http.MethodPost, "/totp/authenticate", caller("bob", "key-b"), totpBody("123456"))
	wantError(t, w, http.StatusInternalServerError, CodeTOTPCorrupt)
}

func TestTOTPParallelUse(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret, _ := f.enroll(alice)
	f.clock.Advance(30 * time.Second)
	code := totpCode(secret, f.clock.Now())

	const n = 20
	statuses := make([]int, n)
	messages := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			w := f.do(http.MethodPost, "/totp/authenticate", caller("alice", fmt.Sprintf("key-%d", i)), totpBody(code))
			statuses[i] = w.Code
			var body errorBody
			json.Unmarshal(w.Body.Bytes(), &body)
			messages[i] = body.Message
		}(i)
	}
	close(start)
	wg.Wait()

	successes := 0
	for i := range statuses {
		switch {
		case statuses[i] == http.StatusOK:
			successes++
		case statuses[i] != http.StatusUnauthorized || messages[i] != CodeTOTPAlreadyUsed:
			t.Errorf("request %d: %d %s, want 200 or 401 TOTP_ALREADY_USED", i, statuses[i], messages[i])
		}
	}
	if successes != 1 {
		t.Errorf("%d of %d parallel uses of one code succeeded, want exactly 1", successes, n)
	}
}

func TestSetupTOTPReplacesPending(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	first := f.setup(alice)
	second := f.setup(alice)

	w := f.do(http.MethodPost, "/totp/enable", alice, totpBody(totpCode(first, t0)))
	wantError(t, w, http.StatusUnauthorized, CodeTOTPInvalid)
	wantOK(t, f.do(http.MethodPost, "/totp/enable", alice, totpBody(totpCode(second, t0))), nil)
}
