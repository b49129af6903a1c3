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

// noticeIP is the client address of the callers in notice tests, so the
// check cannot match a default.
const noticeIP = "198.51.100.7"

// noticeTime is how the English notices show a time.
const noticeTime = "2 January 2006, 15:04 MST"

// noticeCaller is alice with an email from the identity source.
func noticeCaller() *Caller {
	c := caller("alice", "key-a")
	c.Email = "alice@example.com"
	c.ClientIP = noticeIP
	return c
}

// notices returns the mails after the first skip that carry no code.
func (f *mailFixture) notices(skip int) []delivered {
	var out []delivered
	for _, m := range f.sink.received()[skip:] {
		if m.code() == "" {
			out = append(out, m)
		}
	}
	return out
}

// noticeEvents are the changes that send a notice. prepare brings alice
// to the state before the change and returns the change, which must
// succeed. committed reports whether the stored user shows the change.
var noticeEvents = []struct {
	name      string
	prepare   func(f *mailFixture, c *Caller) (change func())
	committed func(u *account.User) bool
	subject   string
	phrase    string
}{
	{
		name:      "TOTP enabled",
		prepare:   func(f *mailFixture, c *Caller) func() { return func() { f.enroll(c) } },
		committed: func(u *account.User) bool { return u.TOTP != nil },
		subject:   "Two-factor authentication method turned on for app.example",
		phrase:    "authenticator app (TOTP)",
	},
	{
		name: "email OTP enabled",
		prepare: func(f *mailFixture, c *Caller) func() {
			return func() { f.enrollEmail(c, "alice.codes@example.com") }
		},
		committed: func(u *account.User) bool { return u.EmailOTP != nil },
		subject:   "Two-factor authentication method turned on for app.example",
		phrase:    "codes by email",
	},
	{
		name: "TOTP removed",
		prepare: func(f *mailFixture, c *Caller) func() {
			secret, _ := f.enroll(c)
			sudo := f.withSudo(c, f.authenticate(c, secret))
			return func() { wantOK(f.t, f.do(http.MethodDelete, "/totp", sudo, ""), nil) }
		},
		committed: func(u *account.User) bool { return u.TOTP == nil },
		subject:   "Two-factor authentication method turned off for app.example",
		phrase:    "authenticator app (TOTP)",
	},
	{
		name: "email OTP removed",
		prepare: func(f *mailFixture, c *Caller) func() {
			f.enrollEmail(c, "alice.codes@example.com")
			sudo := f.withSudo(c, f.passEmail(c, "alice.codes@example.com"))
			return func() { wantOK(f.t, f.do(http.MethodDelete, "/email-otp", sudo, ""), nil) }
		},
		committed: func(u *account.User) bool { return u.EmailOTP == nil },
		subject:   "Two-factor authentication method turned off for app.example",
		phrase:    "codes by email",
	},
	{
		name: "recovery code used",
		prepare: func(f *mailFixture, c *Caller) func() {
			_, codes := f.enroll(c)
			body := fmt.Sprintf(`{"recoveryCode":%q}`, codes[0])
			return func() { wantOK(f.t, f.do(http.MethodPost, "/recovery-code/authenticate", c, body), nil) }
		},
		committed: func(u *account.User) bool { return u.Recovery != nil && len(u.Recovery.MACs) == 9 },
		subject:   "A recovery code was used on app.example",
		phrase:    "You have 9 recovery codes left.",
	},
	{
		name: "codes regenerated",
		prepare: func(f *mailFixture, c *Caller) func() {
			secret, _ := f.enroll(c)
			sudo := f.withSudo(c, f.authenticate(c, secret))
			f.clock.Advance(time.Minute) // so the new set's time differs
			return func() { wantOK(f.t, f.do(http.MethodPost, "/recovery-code/reset", sudo, "{}"), nil) }
		},
		committed: func(u *account.User) bool {
			return u.Recovery != nil && u.Recovery.CompletedAt.After(t0.Add(time.Minute))
		},
		subject: "New recovery codes for app.example",
		phrase:  "New recovery codes were created",
	},
}

func TestNoticeEvents(t *testing.T) {
	for _, tt := range noticeEvents {
		t.Run(tt.name, func(t *testing.T) {
			f := newMailFixture(t)
			c := noticeCaller()
			change := tt.prepare(f, c)
			f.server.WaitNotices()
			skip := len(f.sink.received())

			// The hook runs while the notice is being delivered.
			var mu sync.Mutex
			var seen []bool
			f.sink.setOnDeliver(func(d delivered) {
				if d.code() != "" {
					return
				}
				u, e := f.server.User(&Caller{UserID: "alice"})
				mu.Lock()
				seen = append(seen, e == nil && tt.committed(u))
				mu.Unlock()
			})
			change()
			when := f.clock.Now().UTC().Format(noticeTime)
			f.server.WaitNotices()

			notices := f.notices(skip)
			if len(notices) != 1 {
				t.Fatalf("%d notices, want 1", len(notices))
			}
			n := notices[0]
			if len(n.to) != 1 || n.to[0] != "alice@example.com" {
				t.Errorf("notice to %v, want the identity's email", n.to)
			}
			if n.subject != tt.subject {
				t.Errorf("subject = %q, want %q", n.subject, tt.subject)
			}
			for _, want := range []string{tt.phrase, when, noticeIP} {
				if !strings.Contains(n.text, want) || !strings.Contains(n.html, want) {
					t.Errorf("notice does not say %q in both parts:\n%s", want, n.text)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 1 || !seen[0] {
				t.Errorf("change committed when the notice went out: %v, want [true]", seen)
			}
		})
	}
}

func TestNoticeAddress(t *testing.T) {
	tests := []struct {
		name          string
		identityEmail string
		emailOTP      bool
		want          []string // recipients of the notice, empty when none is sent
	}{
		{"identity email first", "alice@example.com", true, []string{"alice@example.com"}},
		{"email OTP address", "", true, []string{"alice.codes@example.com"}},
		{"no address", "", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newMailFixture(t)
			c := caller("alice", "key-a")
			c.Email = tt.identityEmail
			_, codes := f.enroll(c)
			if tt.emailOTP {
				// TOTP is on, so setup needs a sudo token.
				sudo := f.withSudo(c, f.passRecovery(c, codes[9]))
				code := f.setupEmail(sudo, "alice.codes@example.com")
				wantOK(t, f.do(http.MethodPost, "/email-otp/enable", c, otpBody(code)), nil)
			}
			f.server.WaitNotices()
			skip := len(f.sink.received())

			// A wrong code sends no notice, and a used one sends one.
			w := f.do(http.MethodPost, "/recovery-code/authenticate", c, `{"recoveryCode":"0000000000000000"}`)
			wantError(t, w, http.StatusUnauthorized, CodeRecoveryCodeInvalid)
			f.passRecovery(c, codes[0])
			f.server.WaitNotices()

			var got []string
			for _, n := range f.notices(skip) {
				got = append(got, n.to...)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("notices to %v, want %v", got, tt.want)
			}
		})
	}
}

// passRecovery authenticates with a recovery code and returns the sudo
// token.
func (f *mailFixture) passRecovery(c *Caller, code string) string {
	f.t.Helper()
	var answer tokens
	body := fmt.Sprintf(`{"recoveryCode":%q}`, code)
	wantOK(f.t, f.do(http.MethodPost, "/recovery-code/authenticate", c, body), &answer)
	return answer.SudoToken
}

func TestNoticeFailureChangesNothing(t *testing.T) {
	f := newMailFixture(t)
	f.sink.setMode(sinkRefuse)
	c := noticeCaller()

	_, codes := f.enroll(c)
	f.server.WaitNotices()
	if len(codes) != 10 || f.user("alice").TOTP == nil {
		t.Errorf("enable with a failing notice: %d codes, TOTP %v, want 10 and on", len(codes), f.user("alice").TOTP)
	}
	if n := len(f.sink.received()); n != 0 {
		t.Errorf("%d mails accepted, want 0", n)
	}
	entries := f.logs.FilterMessage("sending notice failed").All()
	if len(entries) != 1 {
		t.Fatalf("%d log lines for the failed notice, want 1", len(entries))
	}
	fields := entries[0].ContextMap()
	if fields["user"] != "alice" || fields["kind"] != "method-enabled" {
		t.Errorf("log fields = %v, want user alice and kind method-enabled", fields)
	}
}

// TestNoticeInBackground checks that the response does not wait for the
// notice: the SMTP server keeps the connection without a greeting until
// the response is in, and only then drops it.
func TestNoticeInBackground(t *testing.T) {
	f := newMailFixture(t)
	f.server.Mailer = newTestMailer(t, f.sink.addr, time.Minute, "")
	f.sink.setMode(sinkSilent)
	c := noticeCaller()

	f.enroll(c)
	if f.user("alice").TOTP == nil {
		t.Fatal("TOTP not on after enable")
	}
	if n := f.logs.FilterMessage("sending notice failed").Len(); n != 0 {
		t.Errorf("the notice failed before the response: %d log lines", n)
	}
	f.sink.stop()
	f.server.WaitNotices()
	if n := f.logs.FilterMessage("sending notice failed").Len(); n != 1 {
		t.Errorf("%d log lines after the server dropped the notice, want 1", n)
	}
}
