package api

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
)

func TestEmailSendInterval(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	f.setupEmail(alice, "alice.codes@example.com")

	w := f.do(http.MethodPost, "/email-otp/setup", alice, emailBody("alice.codes@example.com"))
	body := wantError(t, w, http.StatusTooManyRequests, CodeTooManyOTPEmails)
	wantRetryAfter(t, w, body, 60)
	if got := f.nextEmail(alice); got != 60 {
		t.Errorf("next-email right after a send = %d, want 60", got)
	}

	f.clock.Advance(59 * time.Second)
	w = f.do(http.MethodPost, "/email-otp/setup", alice, emailBody("alice.other@example.com"))
	body = wantError(t, w, http.StatusTooManyRequests, CodeTooManyOTPEmails)
	wantRetryAfter(t, w, body, 1)
	if got := f.nextEmail(alice); got != 1 {
		t.Errorf("next-email 59 s after a send = %d, want 1", got)
	}

	f.clock.Advance(time.Second)
	if got := f.nextEmail(alice); got != 0 {
		t.Errorf("next-email 60 s after a send = %d, want 0", got)
	}
	code := f.setupEmail(alice, "alice.codes@example.com")
	if n := len(f.sink.received()); n != 2 {
		t.Errorf("%d mails sent, want 2: a refused send mails nothing", n)
	}

	// A challenge shares the user's interval.
	wantOK(t, f.do(http.MethodPost, "/email-otp/enable", alice, otpBody(code)), nil)
	w = f.do(http.MethodPost, "/email-otp/challenge", alice, "{}")
	body = wantError(t, w, http.StatusTooManyRequests, CodeTooManyOTPEmails)
	wantRetryAfter(t, w, body, 60)
}

func TestEmailSendsPerHourPerUser(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	for i := range emailSendsPerHour {
		f.setupEmail(alice, fmt.Sprintf("alice.%d@example.com", i))
		f.clock.Advance(emailSendInterval)
	}

	// Ten sends at minutes 0 to 9: the next is allowed at minute 60.
	const wait = 50 * 60
	if got := f.nextEmail(alice); got != wait {
		t.Errorf("next-email after %d sends = %d, want %d", emailSendsPerHour, got, wait)
	}
	w := f.do(http.MethodPost, "/email-otp/setup", alice, emailBody("alice.more@example.com"))
	body := wantError(t, w, http.StatusTooManyRequests, CodeTooManyOTPEmails)
	wantRetryAfter(t, w, body, wait)
	if n := len(f.sink.received()); n != emailSendsPerHour {
		t.Errorf("%d mails sent, want %d", n, emailSendsPerHour)
	}

	f.clock.Advance(wait * time.Second)
	if got := f.nextEmail(alice); got != 0 {
		t.Errorf("next-email an hour after the first send = %d, want 0", got)
	}
	f.setupEmail(alice, "alice.more@example.com")
}

func TestEmailSendsPerHourPerAddress(t *testing.T) {
	f := newMailFixture(t)
	for i := range addressSendsPerHour {
		f.setupEmail(caller(fmt.Sprintf("user%d", i), "key"), "shared@example.com")
		f.clock.Advance(10 * time.Second)
	}

	// The address is compared trimmed and case-folded.
	late := caller("late", "key")
	w := f.do(http.MethodPost, "/email-otp/setup", late, emailBody(" Shared@Example.COM"))
	body := wantError(t, w, http.StatusTooManyRequests, CodeTooManyOTPEmails)
	wantRetryAfter(t, w, body, 3600-100)
	if n := len(f.sink.received()); n != addressSendsPerHour {
		t.Errorf("%d mails sent, want %d", n, addressSendsPerHour)
	}

	// The refused send left nothing pending and started no cool-down for
	// the user.
	w = f.do(http.MethodGet, "/email-otp/next-email", late, "")
	wantError(t, w, http.StatusConflict, CodeEmailOTPUninitialized)
	f.setupEmail(late, "late@example.com")

	// A challenge to the full address is refused too.
	f.clock.Advance(emailSendInterval)
	first := caller("user0", "key")
	wantOK(t, f.do(http.MethodPost, "/email-otp/enable", first, otpBody(f.codeOf(0))), nil)
	f.clock.Advance(emailSendInterval)
	w = f.do(http.MethodPost, "/email-otp/challenge", first, "{}")
	wantError(t, w, http.StatusTooManyRequests, CodeTooManyOTPEmails)
}

// codeOf returns the code of the i-th mail the sink received.
func (f *mailFixture) codeOf(i int) string {
	f.t.Helper()
	mails := f.sink.received()
	if i >= len(mails) || mails[i].code() == "" {
		f.t.Fatalf("mail %d contains no code (%d mails)", i, len(mails))
	}
	return mails[i].code()
}

func TestEmailGuessThrottle(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	code := f.setupEmail(alice, "alice.codes@example.com")
	wrong := otpBody(otherCode(code))

	// A malformed code is no guess.
	w := f.do(http.MethodPost, "/email-otp/enable", alice, otpBody("12345"))
	wantError(t, w, http.StatusBadRequest, badOTP)
	for i := range 3 {
		w := f.do(http.MethodPost, "/email-otp/enable", alice, wrong)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: status %d, want 401 (three failures are free)", i+1, w.Code)
		}
	}

	// The fourth guess waits 1 s, even with the right code, and a guess
	// made too early does not count.
	w = f.do(http.MethodPost, "/email-otp/enable", alice, otpBody(code))
	body := wantError(t, w, http.StatusTooManyRequests, CodeTooManyEmailOTPChecks)
	wantRetryAfter(t, w, body, 1)
	f.clock.Advance(time.Second)
	wantError(t, f.do(http.MethodPost, "/email-otp/enable", alice, wrong), http.StatusUnauthorized,
		CodeOTPInvalidExpired)

	w = f.do(http.MethodPost, "/email-otp/enable", alice, otpBody(code))
	body = wantError(t, w, http.StatusTooManyRequests, CodeTooManyEmailOTPChecks)
	wantRetryAfter(t, w, body, 2)
	f.clock.Advance(2 * time.Second)
	wantOK(t, f.do(http.MethodPost, "/email-otp/enable", alice, otpBody(code)), nil)

	if g := f.user("alice").Guess(account.MethodEmailOTP); g.Consecutive != 0 {
		t.Errorf("failures after a success = %d, want 0", g.Consecutive)
	}
}

func TestEmailGuessThrottleAuthenticate(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	f.enrollEmail(alice, "alice.codes@example.com")
	f.clock.Advance(emailSendInterval)
	code := f.challengeEmail(alice, "alice.codes@example.com")

	for range 3 {
		f.do(http.MethodPost, "/email-otp/authenticate", alice, otpBody(otherCode(code)))
	}
	w := f.do(http.MethodPost, "/email-otp/authenticate", alice, otpBody(code))
	body := wantError(t, w, http.StatusTooManyRequests, CodeTooManyEmailOTPChecks)
	wantRetryAfter(t, w, body, 1)
	f.clock.Advance(time.Second)
	wantOK(t, f.do(http.MethodPost, "/email-otp/authenticate", alice, otpBody(code)), nil)
}

// TestEmailParallelSends checks that the send limits hold under parallel
// requests: the slots are taken in the store transaction.
func TestEmailParallelSends(t *testing.T) {
	tests := []struct {
		name   string
		caller func(i int) *Caller
		want   int
	}{
		{"one user", func(int) *Caller { return caller("alice", "key-a") }, 1},
		{"one address", func(i int) *Caller { return caller(fmt.Sprintf("user%d", i), "key") }, addressSendsPerHour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newMailFixture(t)
			const n = 20
			statuses := make(chan int, n)
			start := make(chan struct{})
			for i := range n {
				go func() {
					<-start
					w := f.do(http.MethodPost, "/email-otp/setup", tt.caller(i), emailBody("shared@example.com"))
					statuses <- w.Code
				}()
			}
			close(start)
			counts := map[int]int{}
			for range n {
				counts[<-statuses]++
			}
			if counts[http.StatusOK] != tt.want || counts[http.StatusTooManyRequests] != n-tt.want {
				t.Errorf("answers = %v, want %d × 200 and %d × 429", counts, tt.want, n-tt.want)
			}
			if got := len(f.sink.received()); got != tt.want {
				t.Errorf("%d mails sent, want %d", got, tt.want)
			}
		})
	}
}

// TestEmailNextEmailAddressLimit checks that next-email reports the wait
// of a full destination address, as the challenge's 429 does.
func TestEmailNextEmailAddressLimit(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	f.enrollEmail(alice, "shared@example.com")
	for i := range addressSendsPerHour - 1 {
		f.clock.Advance(10 * time.Second)
		f.setupEmail(caller(fmt.Sprintf("user%d", i), "key"), "shared@example.com")
	}
	f.clock.Advance(emailSendInterval)

	w := f.do(http.MethodPost, "/email-otp/challenge", alice, "{}")
	body := wantError(t, w, http.StatusTooManyRequests, CodeTooManyOTPEmails)
	if body.RetryAfter == nil {
		t.Fatal("no retryAfter")
	}
	if got := f.nextEmail(alice); got != *body.RetryAfter {
		t.Errorf("next-email = %d, want %d as the challenge's retryAfter", got, *body.RetryAfter)
	}
}
