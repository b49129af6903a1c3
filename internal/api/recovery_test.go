package api

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
)

func recoveryBody(code string) string { return fmt.Sprintf(`{"recoveryCode":%q}`, code) }

// spaced writes a code as a person might type it: lower case, in groups
// of four split by dashes and spaces.
func spaced(code string) string {
	lower := strings.ToLower(code)
	return " " + lower[:4] + "-" + lower[4:8] + " " + lower[8:12] + " - " + lower[12:] + " "
}

func TestRecoveryCodeAuthenticate(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	_, codes := f.enroll(alice)
	other := caller("alice", "key-other")

	var answer struct {
		SudoToken    string  `json:"sudoToken"`
		AccessToken  *string `json:"accessToken"`
		RefreshToken *string `json:"refreshToken"`
	}
	wantOK(t, f.do(http.MethodPost, "/recovery-code/authenticate", other, recoveryBody(spaced(codes[2]))), &answer)
	if !strings.HasPrefix(answer.SudoToken, "sudo_") || answer.AccessToken != nil || answer.RefreshToken != nil {
		t.Errorf("answer = %+v, want a sudo token and null app tokens", answer)
	}
	if record := f.sudoRecord(answer.SudoToken); record == nil || record.Method != account.MethodRecoveryCode {
		t.Errorf("sudo record = %+v, want one minted by recoveryCode", record)
	}
	if method, ok, _ := f.server.Sessions.Verified("alice", "key-other"); !ok || method != account.MethodRecoveryCode {
		t.Errorf("session: Verified = %q, %v, want recoveryCode, true", method, ok)
	}

	// Each code works once, however it is written.
	for _, input := range []string{codes[2], strings.ToLower(codes[2]), spaced(codes[2])} {
		w := f.do(http.MethodPost, "/recovery-code/authenticate", alice, recoveryBody(input))
		wantError(t, w, http.StatusUnauthorized, CodeRecoveryCodeInvalid)
		f.clock.Advance(time.Hour) // past any wait
	}
	if got := len(f.user("alice").Recovery.MACs); got != 9 {
		t.Errorf("codes left = %d, want 9", got)
	}

	// Every other code still works.
	for i, code := range codes {
		if i == 2 {
			continue
		}
		wantOK(t, f.do(http.MethodPost, "/recovery-code/authenticate", alice, recoveryBody(code)), nil)
	}
	if got := len(f.user("alice").Recovery.MACs); got != 0 {
		t.Errorf("codes left = %d, want 0", got)
	}
}

func TestRecoveryCodeMalformed(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	_, codes := f.enroll(alice)
	inputs := []string{
		"", codes[0][:15], codes[0] + "0", codes[0][:15] + "U", codes[0][:15] + "!",
		codes[0][:15] + "é", strings.Repeat(" ", 60) + codes[0],
	}
	for _, input := range inputs {
		w := f.do(http.MethodPost, "/recovery-code/authenticate", alice, recoveryBody(input))
		wantError(t, w, http.StatusBadRequest, "recoveryCode must be a string of 16 characters")
	}
	if got := f.user("alice").Guess(account.MethodRecoveryCode).Consecutive; got != 0 {
		t.Errorf("failures after malformed codes = %d, want 0", got)
	}
	if got := len(f.user("alice").Recovery.MACs); got != 10 {
		t.Errorf("codes left = %d, want 10", got)
	}
}

func TestRecoveryCodeLookAlikes(t *testing.T) {
	// Crockford's look-alikes: I and L read as 1, O as 0.
	f := newFixture(t)
	alice := caller("alice", "key-a")
	_, codes := f.enroll(alice)
	for _, code := range codes {
		if !strings.ContainsAny(code, "01") {
			continue
		}
		typed := strings.NewReplacer("0", "o", "1", "L").Replace(code)
		wantOK(t, f.do(http.MethodPost, "/recovery-code/authenticate", alice, recoveryBody(typed)), nil)
		return
	}
	t.Skip("no code with a 0 or 1 in this set")
}

func TestRecoveryCodeUninitialized(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	w := f.do(http.MethodPost, "/recovery-code/authenticate", alice, recoveryBody("0123456789ABCDEF"))
	wantError(t, w, http.StatusConflict, CodeRecoveryUninitialized)
	wantError(t, f.do(http.MethodGet, "/recovery-code/next-guess", alice, ""), http.StatusConflict, CodeRecoveryUninitialized)

	// A pending secret is no method yet.
	f.setup(alice)
	w = f.do(http.MethodPost, "/recovery-code/authenticate", alice, recoveryBody("0123456789ABCDEF"))
	wantError(t, w, http.StatusConflict, CodeRecoveryUninitialized)
}

func TestRecoveryCodeParallelUse(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	_, codes := f.enroll(alice)

	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			c := caller("alice", fmt.Sprintf("key-%d", i))
			statuses[i] = f.do(http.MethodPost, "/recovery-code/authenticate", c, recoveryBody(codes[0])).Code
		}(i)
	}
	close(start)
	wg.Wait()

	successes := 0
	for i, status := range statuses {
		switch status {
		case http.StatusOK:
			successes++
		case http.StatusUnauthorized, http.StatusTooManyRequests:
		default:
			t.Errorf("request %d: status %d, want 200, 401 or 429", i, status)
		}
	}
	if successes != 1 {
		t.Errorf("%d of %d parallel uses of one code succeeded, want exactly 1", successes, n)
	}
	if got := len(f.user("alice").Recovery.MACs); got != 9 {
		t.Errorf("codes left = %d, want 9", got)
	}
}

func TestRecoveryCodeThrottle(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	_, codes := f.enroll(alice)
	wrong := "0000000000000000"

	for i, wait := range []int64{0, 0, 0, 1, 2, 4} {
		if got := f.nextGuess(alice, "/recovery-code/next-guess"); got != wait {
			t.Fatalf("next-guess before guess %d = %d, want %d", i+1, got, wait)
		}
		f.clock.Advance(time.Duration(wait) * time.Second)
		w := f.do(http.MethodPost, "/recovery-code/authenticate", alice, recoveryBody(wrong))
		wantError(t, w, http.StatusUnauthorized, CodeRecoveryCodeInvalid)
	}

	// Now 8 s to wait: a right code too early is 429 and not consumed.
	f.clock.Advance(7*time.Second + time.Millisecond)
	w := f.do(http.MethodPost, "/recovery-code/authenticate", alice, recoveryBody(codes[0]))
	body := wantError(t, w, http.StatusTooManyRequests, CodeTooManyRecoveryChecks)
	if body.RetryAfter == nil || *body.RetryAfter != 1 {
		t.Errorf("retryAfter = %v, want 1", body.RetryAfter)
	}
	if got := w.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if got := f.user("alice").Guess(account.MethodRecoveryCode).Consecutive; got != 6 {
		t.Errorf("failures after an early guess = %d, want 6", got)
	}
	f.clock.Advance(time.Second)
	wantOK(t, f.do(http.MethodPost, "/recovery-code/authenticate", alice, recoveryBody(codes[0])), nil)
	if got := f.nextGuess(alice, "/recovery-code/next-guess"); got != 0 {
		t.Errorf("next-guess after a success = %d, want 0", got)
	}

	// The TOTP counter is a separate one.
	if got := f.nextGuess(alice, "/totp/next-guess"); got != 0 {
		t.Errorf("TOTP next-guess after recovery code failures = %d, want 0", got)
	}
}

func TestRecoveryCodeReset(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	phone := caller("alice", "key-phone")
	secret, oldCodes := f.enroll(alice)
	phoneSudo := f.authenticate(phone, secret)
	aliceSudo := f.authenticate(alice, secret)

	var answer struct {
		RecoveryCodes []string `json:"recoveryCodes"`
	}
	wantOK(t, f.do(http.MethodPost, "/recovery-code/reset", f.withSudo(alice, aliceSudo), "{}"), &answer)
	checkRecoveryCodes(t, answer.RecoveryCodes)
	for _, code := range answer.RecoveryCodes {
		for _, old := range oldCodes {
			if code == old {
				t.Errorf("reset returned old code %s", code)
			}
		}
	}

	if f.verified(phone) || f.sudoRecord(phoneSudo) != nil {
		t.Error("other session or its sudo token kept after the reset")
	}
	if !f.verified(alice) || f.sudoRecord(aliceSudo) == nil {
		t.Error("caller's session or sudo token revoked by its own reset")
	}

	w := f.do(http.MethodPost, "/recovery-code/authenticate", alice, recoveryBody(oldCodes[0]))
	wantError(t, w, http.StatusUnauthorized, CodeRecoveryCodeInvalid)
	wantOK(t, f.do(http.MethodPost, "/recovery-code/authenticate", alice, recoveryBody(answer.RecoveryCodes[0])), nil)
	if got := len(f.user("alice").Recovery.MACs); got != 9 {
		t.Errorf("codes left = %d, want 9", got)
	}
}

func TestRecoveryCodeResetWith2FAOff(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret, _ := f.enroll(alice)
	sudo := f.withSudo(alice, f.authenticate(alice, secret))
	wantOK(t, f.do(http.MethodDelete, "/totp", sudo, ""), nil)

	w := f.do(http.MethodPost, "/recovery-code/reset", sudo, "{}")
	wantError(t, w, http.StatusConflict, Code2FAIsDisabled)
	if u := f.user("alice"); u.Recovery != nil {
		t.Errorf("recovery codes after a rejected reset: %+v", u.Recovery)
	}
}

func TestRecoveryCodesNewSetAfterReEnrol(t *testing.T) {
	// Turning 2FA off deletes the set, so the next first method makes a
	// new one.
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret, oldCodes := f.enroll(alice)
	sudo := f.withSudo(alice, f.authenticate(alice, secret))
	wantOK(t, f.do(http.MethodDelete, "/totp", sudo, ""), nil)

	f.clock.Advance(time.Minute)
	_, newCodes := f.enroll(alice)
	checkRecoveryCodes(t, newCodes)
	w := f.do(http.MethodPost, "/recovery-code/authenticate", alice, recoveryBody(oldCodes[0]))
	wantError(t, w, http.StatusUnauthorized, CodeRecoveryCodeInvalid)
}

func TestRecoveryCodesBoundToUser(t *testing.T) {
	f := newFixture(t)
	_, aliceCodes := f.enroll(caller("alice", "key-a"))
	f.enroll(caller("bob", "key-b"))

	w := f.do(http.MethodPost, "/recovery-code/authenticate", caller("bob", "key-b"), recoveryBody(aliceCodes[0]))
	wantError(t, w, http.StatusUnauthorized, CodeRecoveryCodeInvalid)
}
