package api

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
)

// deliveryFailures are the ways an SMTP server fails a delivery: each
// breaks the sink and returns how to bring it back.
var deliveryFailures = []struct {
	name string
	fail func(f *mailFixture) (restore func())
}{
	{"recipient refused", func(f *mailFixture) func() {
		f.sink.setMode(sinkRefuse)
		return func() { f.sink.setMode(sinkAccept) }
	}},
	{"connection refused", func(f *mailFixture) func() {
		f.sink.stop()
		return f.sink.start
	}},
	{"timeout", func(f *mailFixture) func() {
		// A mailer of its own with a short timeout keeps the test fast.
		normal := f.server.Mailer
		f.server.Mailer = newTestMailer(f.t, f.sink.addr, 200*time.Millisecond, "")
		f.sink.setMode(sinkSilent)
		return func() {
			f.sink.setMode(sinkAccept)
			f.server.Mailer = normal
		}
	}},
}

// TestEmailDeliveryFailure checks that a failed delivery gets 503 and
// changes nothing: the earlier code stays valid, no send slot of the user
// or the address is used, and a retry right after the server is back
// succeeds.
func TestEmailDeliveryFailure(t *testing.T) {
	for _, tt := range deliveryFailures {
		t.Run(tt.name, func(t *testing.T) {
			f := newMailFixture(t)
			alice := caller("alice", "key-a")
			const active, other = "alice.codes@example.com", "alice.new@example.com"
			f.enrollEmail(alice, active)
			sudo := f.withSudo(alice, f.passEmail(alice, active))
			f.clock.Advance(emailSendInterval)
			earlier := f.challengeEmail(alice, active)
			f.clock.Advance(emailSendInterval)

			before := f.user("alice")
			nextBefore := f.nextEmail(alice)
			sendsBefore := len(f.addressSends(active))
			mailsBefore := len(f.sink.received())

			restore := tt.fail(f)
			w := f.do(http.MethodPost, "/email-otp/challenge", alice, "{}")
			wantError(t, w, http.StatusServiceUnavailable, CodeMailDeliveryFailed)
			w = f.do(http.MethodPost, "/email-otp/setup", sudo, emailBody(other))
			wantError(t, w, http.StatusServiceUnavailable, CodeMailDeliveryFailed)

			after := f.user("alice")
			if got := f.nextEmail(alice); got != nextBefore {
				t.Errorf("next-email after the failures = %d, want %d as before", got, nextBefore)
			}
			if !slices.Equal(after.EmailSends.Sent, before.EmailSends.Sent) {
				t.Errorf("user's sends = %v, want %v as before", after.EmailSends.Sent, before.EmailSends.Sent)
			}
			if got := len(f.addressSends(active)); got != sendsBefore {
				t.Errorf("sends to %s = %d, want %d as before", active, got, sendsBefore)
			}
			if got := f.addressSends(other); len(got) != 0 {
				t.Errorf("sends to %s = %v, want none", other, got)
			}
			if *after.EmailCode != *before.EmailCode || *after.EmailOTP != *before.EmailOTP {
				t.Errorf("pending code %+v, email OTP %+v, want %+v and %+v as before",
					after.EmailCode, after.EmailOTP, before.EmailCode, before.EmailOTP)
			}
			if n := f.logs.FilterMessage("mail delivery failed").Len(); n != 2 {
				t.Errorf("%d log lines for the failed deliveries, want 2", n)
			}

			restore()
			if got := len(f.sink.received()); got != mailsBefore {
				t.Errorf("%d mails, want %d as before the failures", got, mailsBefore)
			}
			wantOK(t, f.do(http.MethodPost, "/email-otp/authenticate", alice, otpBody(earlier)), nil)
			f.setupEmail(sudo, other)
		})
	}
}

// TestEmailDeliveryFailureChallengeRetry checks that a challenge can be
// retried at once after a failed one.
func TestEmailDeliveryFailureChallengeRetry(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	f.enrollEmail(alice, "alice.codes@example.com")
	f.clock.Advance(emailSendInterval)

	f.sink.stop()
	w := f.do(http.MethodPost, "/email-otp/challenge", alice, "{}")
	wantError(t, w, http.StatusServiceUnavailable, CodeMailDeliveryFailed)
	f.sink.start()

	code := f.challengeEmail(alice, "alice.codes@example.com")
	wantOK(t, f.do(http.MethodPost, "/email-otp/authenticate", alice, otpBody(code)), nil)
}

// TestEmailTemplateMissingAtSend overrides the setup mail with a template
// that fails to render for one site only. mail.New renders sample data for
// another site, so it accepts the file, and Send for that site reports
// ErrTemplate. A template that is truly missing cannot happen at send
// time: mail.New requires every language and kind, and the API sends only
// known kinds.
func TestEmailTemplateMissingAtSend(t *testing.T) {
	f := newMailFixture(t)
	dir := t.TempDir()
	override := `{{define "subject"}}{{if eq .Site "broken.example"}}{{index .Code 99}}{{end}}` +
		`Confirm {{.Site}}{{end}}
{{define "text"}}{{.Code}}{{end}}
{{define "html"}}<p>{{.Code}}</p>{{end}}
`
	if err := os.MkdirAll(filepath.Join(dir, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "en", "setup-code.tmpl"), []byte(override), 0o644); err != nil {
		t.Fatal(err)
	}
	f.server.Mailer = newTestMailer(t, f.sink.addr, mailTimeout, dir)
	alice := caller("alice", "key-a")

	r := post("broken.example", "/email-otp/setup", "", emailBody("alice.codes@example.com"))
	w := f.doRequest(r, "/email-otp/setup", alice)
	wantError(t, w, http.StatusInternalServerError, CodeMailTemplateMissing)
	if n := len(f.sink.received()); n != 0 {
		t.Errorf("%d mails sent, want 0", n)
	}
	w = f.do(http.MethodGet, "/email-otp/next-email", alice, "")
	wantError(t, w, http.StatusConflict, CodeEmailOTPUninitialized)
	if n := f.logs.FilterMessage("mail template missing").Len(); n != 1 {
		t.Errorf("%d log lines for the missing template, want 1", n)
	}

	// Nothing was consumed: another site's setup goes out at once.
	f.setupEmail(alice, "alice.codes@example.com")
	if got := f.sink.last().subject; got != "Confirm app.example" {
		t.Errorf("subject = %q, want the override's", got)
	}
}

func TestEmailLanguage(t *testing.T) {
	tests := []struct {
		name, query, acceptLanguage string
		wantLang, wantSubject       string
	}{
		{"query nl", "language=nl", "", "nl", "Bevestig je e-mailadres voor app.example"},
		{"query upper case", "language=NL", "", "nl", "Bevestig je e-mailadres voor app.example"},
		{"header nl", "", "nl-BE, en;q=0.5", "nl", "Bevestig je e-mailadres voor app.example"},
		{"query over header", "language=nl", "de", "nl", "Bevestig je e-mailadres voor app.example"},
		{"origin ignored", "language=nl&origin=elsewhere", "", "nl", "Bevestig je e-mailadres voor app.example"},
		{"unknown query", "language=xx", "", "en", "Confirm your email address for app.example"},
		{"unknown header", "", "ja, zh;q=0.8", "en", "Confirm your email address for app.example"},
		{"none", "", "", "en", "Confirm your email address for app.example"},
	}
	f := newMailFixture(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := caller(fmt.Sprintf("user%d", i), "key")
			address := fmt.Sprintf("user%d@example.com", i)
			r := post("app.example", "/email-otp/setup", tt.query, emailBody(address),
				"Accept-Language", tt.acceptLanguage)
			wantOK(t, f.doRequest(r, "/email-otp/setup", c), nil)
			m := f.sink.last()
			if m.subject != tt.wantSubject {
				t.Errorf("subject = %q, want %q", m.subject, tt.wantSubject)
			}
			if m.language != tt.wantLang {
				t.Errorf("Content-Language = %q, want %q", m.language, tt.wantLang)
			}
		})
	}
}

func TestEmailChallengeLanguage(t *testing.T) {
	f := newMailFixture(t)
	alice := caller("alice", "key-a")
	f.enrollEmail(alice, "alice.codes@example.com")
	f.clock.Advance(emailSendInterval)

	r := post("app.example", "/email-otp/challenge", "language=nl", "{}")
	wantOK(t, f.doRequest(r, "/email-otp/challenge", alice), nil)
	m := f.sink.last()
	if want := "Je inlogcode voor app.example"; m.subject != want {
		t.Errorf("subject = %q, want %q", m.subject, want)
	}
	if !strings.Contains(m.text, f.sink.lastCode("alice.codes@example.com")) {
		t.Error("the Dutch mail contains no code")
	}
}

// TestEmailNoMailer checks that without a mailer setup responds with 503
// and starts nothing.
func TestEmailNoMailer(t *testing.T) {
	f := newMailFixture(t)
	f.server.Mailer = nil
	alice := caller("alice", "key-a")
	w := f.do(http.MethodPost, "/email-otp/setup", alice, emailBody("alice.codes@example.com"))
	wantError(t, w, http.StatusServiceUnavailable, CodeMailDeliveryFailed)
	if u := f.user("alice"); u.EmailCode != nil || len(u.EmailSends.Sent) != 0 {
		t.Errorf("pending code %+v, sends %v after a 503, want none", u.EmailCode, u.EmailSends.Sent)
	}
	if g := f.user("alice").Guess(account.MethodEmailOTP); g.Consecutive != 0 {
		t.Errorf("email OTP failures = %d, want 0", g.Consecutive)
	}
}
