package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	mailer "github.com/caddy-twofactor/caddy-twofactor/internal/mail"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

// testSender is the From of the test mailer.
const testSender = "Example App <2fa@app.example>"

// mailTimeout bounds a delivery to the sink. It is long for loopback, so
// a busy machine does not fail a delivery. The silent-server case uses a
// short mailer of its own.
const mailTimeout = 5 * time.Second

// mailFixture is a fixture whose Server mails through internal/mail to an
// smtpSink on loopback.
type mailFixture struct {
	*fixture
	sink *smtpSink
}

func newMailFixture(t *testing.T) *mailFixture {
	t.Helper()
	f := &mailFixture{fixture: newFixture(t), sink: startSink(t)}
	f.server.Mailer = newTestMailer(t, f.sink.addr, mailTimeout, "")
	// Notices run in the background, and the store closes when the test
	// ends, so cleanup waits for them first.
	t.Cleanup(f.server.WaitNotices)
	return f
}

// newTestMailer returns a Mailer for the SMTP server at addr, in clear
// text, which mail.New allows on loopback.
func newTestMailer(t *testing.T, addr string, timeout time.Duration, templates string) *mailer.Mailer {
	t.Helper()
	m, err := mailer.New(mailer.Config{
		Address:      addr,
		From:         testSender,
		TLS:          mailer.TLSNone,
		Timeout:      timeout,
		TemplatesDir: templates,
	})
	if err != nil {
		t.Fatalf("mail.New: %v", err)
	}
	return m
}

func emailBody(address string) string { return fmt.Sprintf(`{"email":%q}`, address) }
func otpBody(code string) string      { return fmt.Sprintf(`{"otp":%q}`, code) }

// otherCode returns six digits that differ from code.
func otherCode(code string) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1)%1_000_000)
}

// doRequest serves a request built by the test, for a query string, a
// Host or headers that do not go through fixture.do, with its checks.
func (f *mailFixture) doRequest(r *http.Request, subpath string, c *Caller) *httptest.ResponseRecorder {
	f.t.Helper()
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	f.server.ServeAPI(w, r, subpath, c)
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		f.t.Errorf("%s %s: Cache-Control = %q, want no-store", r.Method, subpath, got)
	}
	if !json.Valid(w.Body.Bytes()) {
		f.t.Errorf("%s %s: body is not JSON: %q", r.Method, subpath, w.Body.String())
	}
	return w
}

// post builds a POST to subpath of host with a query string and headers
// in name, value pairs.
func post(host, subpath, query, body string, headers ...string) *http.Request {
	target := "http://" + host + Prefix + subpath
	if query != "" {
		target += "?" + query
	}
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

// setupEmail calls setup for address and returns the mailed code.
func (f *mailFixture) setupEmail(c *Caller, address string) string {
	f.t.Helper()
	w := f.do(http.MethodPost, "/email-otp/setup", c, emailBody(address))
	wantOK(f.t, w, nil)
	return f.sink.lastCode(address)
}

// enrollEmail sets up and enables email OTP for c now and returns the
// recovery codes of the response.
func (f *mailFixture) enrollEmail(c *Caller, address string) []string {
	f.t.Helper()
	code := f.setupEmail(c, address)
	var answer struct {
		RecoveryCodes []string `json:"recoveryCodes"`
	}
	wantOK(f.t, f.do(http.MethodPost, "/email-otp/enable", c, otpBody(code)), &answer)
	f.server.WaitNotices() // the notice of the enable, so it comes before later mails
	return answer.RecoveryCodes
}

// challengeEmail requests a challenge code and returns it from the mail
// to address.
func (f *mailFixture) challengeEmail(c *Caller, address string) string {
	f.t.Helper()
	wantOK(f.t, f.do(http.MethodPost, "/email-otp/challenge", c, "{}"), nil)
	return f.sink.lastCode(address)
}

// passEmail moves the clock past the send interval, passes an email OTP
// challenge and returns the sudo token.
func (f *mailFixture) passEmail(c *Caller, address string) string {
	f.t.Helper()
	f.clock.Advance(emailSendInterval)
	code := f.challengeEmail(c, address)
	var answer tokens
	wantOK(f.t, f.do(http.MethodPost, "/email-otp/authenticate", c, otpBody(code)), &answer)
	return answer.SudoToken
}

// nextEmail returns the wait that next-email reports, in seconds.
func (f *mailFixture) nextEmail(c *Caller) int64 {
	f.t.Helper()
	return f.nextGuess(c, "/email-otp/next-email")
}

// addressSends returns the send times stored for a destination address.
func (f *mailFixture) addressSends(address string) []time.Time {
	f.t.Helper()
	var w *throttle.SendWindow
	err := f.server.Store.View(func(tx store.Tx) error {
		var err error
		w, err = loadSends(tx, address)
		return err
	})
	if err != nil {
		f.t.Fatalf("loading the sends of %s: %v", address, err)
	}
	return w.Sent
}

// wantRetryAfter checks the retryAfter member and the Retry-After header
// of a 429.
func wantRetryAfter(t *testing.T, w *httptest.ResponseRecorder, body errorBody, seconds int64) {
	t.Helper()
	if body.RetryAfter == nil || *body.RetryAfter != seconds {
		t.Errorf("retryAfter = %v, want %d", body.RetryAfter, seconds)
	}
	if got, want := w.Header().Get("Retry-After"), strconv.FormatInt(seconds, 10); got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
}
