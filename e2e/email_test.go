package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// mailInterval is the least time between two code mails to one user.
const mailInterval = 60 * time.Second

// TestEmailOTPEnrolAndLogin enrols Alice in email codes with the code from
// the mail the SMTP server received, and passes the gate on a new login
// with an emailed challenge code. The challenge waits out the minute
// between two code mails to one user, and Bob's delivery failure runs in
// that minute.
func TestEmailOTPEnrolAndLogin(t *testing.T) {
	t.Parallel()
	server := startSMTPServer(t, nil)
	s := newStack(t, stackConfig{Twofactor: demoTwofactor + server.smtpBlock("")})

	alice := s.loginJSON(t, "alice")
	const address = "alice.codes@example.com"
	wantStatus(t, alice.post("/user/2fa/email-otp/setup", fmt.Sprintf(`{"email":%q}`, address)), http.StatusOK)
	setupSent := time.Now()
	setup := server.code(s, 0, address)
	if !strings.HasPrefix(setup.subject, "Confirm your email address") {
		t.Errorf("setup mail subject = %q, want the English setup subject", setup.subject)
	}
	r := alice.post("/user/2fa/email-otp/enable", fmt.Sprintf(`{"otp":%q}`, setup.code))
	wantStatus(t, r, http.StatusOK)
	if codes, _ := r.object()["recoveryCodes"].([]any); len(codes) != 10 {
		t.Errorf("%v: want 10 recovery codes", r)
	}
	status := alice.get("/user/2fa").object()
	if otp, _ := status["emailOtp"].(map[string]any); otp["email"] != address || status["enabled"] != true {
		t.Errorf("GET /user/2fa = %v, want email OTP on for %s", status, address)
	}

	second := s.loginJSON(t, "alice")
	r = second.get("/api/items")
	wantError(t, r, http.StatusUnauthorized, "2FA_REQUIRED")
	if methods, _ := r.object()["methods"].([]any); !slices.Contains(methods, any("emailOtp")) {
		t.Errorf("%v: methods do not list emailOtp", r)
	}

	checkDeliveryFailure(t, s, server)

	waitUntil(t, setupSent.Add(mailInterval))
	wantStatus(t, second.post("/user/2fa/email-otp/challenge", "{}"), http.StatusOK)
	challenge := server.code(s, 2, address)
	r = second.post("/user/2fa/email-otp/authenticate", fmt.Sprintf(`{"otp":%q}`, challenge.code))
	wantStatus(t, r, http.StatusOK)
	if sudo, _ := r.object()["sudoToken"].(string); !strings.HasPrefix(sudo, "sudo_") {
		t.Errorf("%v: no sudo token", r)
	}
	wantStatus(t, second.get("/api/items"), http.StatusOK)

	checkNoCodeInLog(t, s)
}

// checkDeliveryFailure stops the SMTP server, checks that Bob's setup gets
// 503 and leaves nothing pending and no cool-down, and that a setup right
// after the server is back is mailed.
func checkDeliveryFailure(t *testing.T, s *stack, server *smtpServer) {
	t.Helper()
	bob := s.loginJSON(t, "bob")
	const address = "bob.codes@example.com"
	wantError(t, bob.get("/user/2fa/email-otp/next-email"), http.StatusConflict, "EMAIL_OTP_UNINITIALIZED")

	server.stop()
	r := bob.post("/user/2fa/email-otp/setup", fmt.Sprintf(`{"email":%q}`, address))
	wantError(t, r, http.StatusServiceUnavailable, "MAIL_DELIVERY_FAILED")
	wantError(t, bob.get("/user/2fa/email-otp/next-email"), http.StatusConflict, "EMAIL_OTP_UNINITIALIZED")
	r = bob.post("/user/2fa/email-otp/enable", `{"otp":"123456"}`)
	wantError(t, r, http.StatusConflict, "EMAIL_OTP_UNINITIALIZED")
	if !strings.Contains(s.caddyOut.String(), `"msg":"mail delivery failed"`) {
		t.Error("Caddy's log has no line for the failed delivery")
	}

	server.start()
	wantStatus(t, bob.post("/user/2fa/email-otp/setup", fmt.Sprintf(`{"email":%q}`, address)), http.StatusOK)
	server.code(s, 1, address)
	var wait struct {
		Duration int64 `json:"duration"`
	}
	r = bob.get("/user/2fa/email-otp/next-email")
	wantStatus(t, r, http.StatusOK)
	if err := json.Unmarshal([]byte(r.body), &wait); err != nil || wait.Duration < 1 || wait.Duration > 60 {
		t.Errorf("%v: want a wait of 1 to 60 s after the mail", r)
	}
}

// TestEmailOTPStartTLS mails through an SMTP server that offers STARTTLS
// with a self-signed certificate that ca_file trusts. Without ca_file the
// certificate fails verification and setup gets 503.
func TestEmailOTPStartTLS(t *testing.T) {
	t.Parallel()
	config, caFile := selfSignedSMTP(t)
	server := startSMTPServer(t, config)
	s := newStack(t, stackConfig{Twofactor: demoTwofactor + server.smtpBlock(caFile)})

	carol := s.loginJSON(t, "carol")
	const address = "carol.codes@example.com"
	wantStatus(t, carol.post("/user/2fa/email-otp/setup", fmt.Sprintf(`{"email":%q}`, address)), http.StatusOK)
	setup := server.code(s, 0, address)
	if !setup.overTLS {
		t.Error("the setup mail was sent without STARTTLS")
	}
	r := carol.post("/user/2fa/email-otp/enable", fmt.Sprintf(`{"otp":%q}`, setup.code))
	wantStatus(t, r, http.StatusOK)

	// The same server without ca_file: the system roots do not trust it.
	untrusted := strings.Replace(server.smtpBlock(caFile), "ca_file "+caFile, "", 1)
	if out, err := s.reload(stackConfig{Twofactor: demoTwofactor + untrusted}); err != nil {
		t.Fatalf("reloading without ca_file: %v\n%s", err, out)
	}
	// The reload closes the old server's idle connections, and the client
	// does not retry a POST that meets a closed one.
	s.transport.CloseIdleConnections()
	bob := s.loginJSON(t, "bob")
	r = bob.post("/user/2fa/email-otp/setup", `{"email":"bob.codes@example.com"}`)
	wantError(t, r, http.StatusServiceUnavailable, "MAIL_DELIVERY_FAILED")
	if n := len(server.codeMails()); n != 1 {
		t.Errorf("%d code mails, want 1", n)
	}

	checkNoCodeInLog(t, s)
}

// checkNoCodeInLog checks that Caddy's log, at DEBUG with the access log
// on, contains none of the emailed codes, nor any other secret the test
// recorded.
func checkNoCodeInLog(t *testing.T, s *stack) {
	t.Helper()
	secrets := s.secrets.snapshot()
	codes := 0
	for _, kind := range secrets {
		if kind == "email code" {
			codes++
		}
	}
	if codes == 0 {
		t.Error("no email code recorded: the check would prove nothing")
	}
	out := s.caddyOut.String()
	if !strings.Contains(out, `"level":"debug"`) {
		t.Error("Caddy's log has no debug lines: the check would prove little")
	}
	for _, l := range findLeaks(out, secrets) {
		t.Errorf("Caddy's log contains a %s: %s", l.kind, l.line)
	}
}

// waitUntil sleeps until the given time, logging the wait when it is long.
func waitUntil(t *testing.T, at time.Time) {
	t.Helper()
	wait := time.Until(at) + 200*time.Millisecond
	if wait <= 0 {
		return
	}
	t.Logf("waiting %v for the next code mail to be allowed", wait.Round(time.Second))
	time.Sleep(wait)
}
