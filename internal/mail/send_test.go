package mail

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

const (
	testCode     = "482913"
	testPassword = "s3cret-smtp-pass"
)

// testTime is the fixed clock of the tests.
var testTime = time.Date(2024, 5, 1, 14, 3, 0, 0, time.UTC)

// newTestMailer returns a Mailer for cfg with a fixed clock, failing the
// test if New fails.
func newTestMailer(t *testing.T, cfg Config) *Mailer {
	t.Helper()
	if cfg.From == "" {
		cfg.From = "Example <2fa@example.com>"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	m.now = func() time.Time { return testTime }
	return m
}

// codeMessage is a challenge-code mail to alice.
func codeMessage() Message {
	return Message{
		To:       "alice@example.com",
		Kind:     KindChallengeCode,
		Language: "en",
		Data:     Data{Code: testCode, ValidMinutes: 10, Site: "app.example.com"},
	}
}

// checkSecretFree fails the test if err's text contains the code or the
// password.
func checkSecretFree(t *testing.T, err error) {
	t.Helper()
	for _, secret := range []string{testCode, testPassword} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains the secret %q", err, secret)
		}
	}
}

func TestSendPlainLoopback(t *testing.T) {
	server := startServer(t, serverOptions{})
	m := newTestMailer(t, Config{Address: server.addr, TLS: "none"})

	if err := m.Send(context.Background(), codeMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}

	got := server.only(t)
	if got.from != "2fa@example.com" {
		t.Errorf("envelope sender = %q, want %q", got.from, "2fa@example.com")
	}
	if len(got.to) != 1 || got.to[0] != "alice@example.com" {
		t.Errorf("envelope recipients = %q, want [alice@example.com]", got.to)
	}

	mail := parseMail(t, got.data)
	if mail.contentType != "multipart/alternative" {
		t.Errorf("Content-Type = %q, want multipart/alternative", mail.contentType)
	}
	headers := map[string]string{
		"From":           `"Example" <2fa@example.com>`,
		"To":             "<alice@example.com>",
		"Auto-Submitted": "auto-generated",
		"Date":           testTime.Format(time.RFC1123Z),
	}
	for name, want := range headers {
		if got := mail.header.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if id := mail.header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.Contains(id, "@") {
		t.Errorf("Message-ID = %q, want <random@host>", id)
	}
	if mail.subject != "Your sign-in code for app.example.com" {
		t.Errorf("subject = %q, want the English challenge subject", mail.subject)
	}
	if !strings.Contains(mail.text, testCode) {
		t.Errorf("text part does not contain the code:\n%s", mail.text)
	}
	if !strings.Contains(mail.html, testCode) {
		t.Errorf("HTML part does not contain the code:\n%s", mail.html)
	}
}

func TestSendAuth(t *testing.T) {
	tests := []struct {
		name       string
		mechanisms []string
	}{
		{"plain", []string{"PLAIN"}},
		{"login", []string{"LOGIN"}},
		{"both", []string{"LOGIN", "PLAIN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := startServer(t, serverOptions{
				authMechanisms: tt.mechanisms, username: "mailer", password: testPassword,
			})
			m := newTestMailer(t, Config{
				Address: server.addr, TLS: "none", Username: "mailer", Password: testPassword,
			})

			if err := m.Send(context.Background(), codeMessage()); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if n := len(server.received()); n != 1 {
				t.Errorf("server received %d mails, want 1", n)
			}
		})
	}
}

func TestSendAuthRejected(t *testing.T) {
	server := startServer(t, serverOptions{
		authMechanisms: []string{"PLAIN"}, username: "mailer", password: "other-password",
	})
	m := newTestMailer(t, Config{
		Address: server.addr, TLS: "none", Username: "mailer", Password: testPassword,
	})

	err := m.Send(context.Background(), codeMessage())
	if !errors.Is(err, ErrDelivery) {
		t.Fatalf("Send error = %v, want ErrDelivery", err)
	}
	if !strings.Contains(err.Error(), redacted) {
		t.Errorf("error %q does not show where the echoed password was redacted", err)
	}
	checkSecretFree(t, err)
}

func TestSendAuthMechanismMissing(t *testing.T) {
	server := startServer(t, serverOptions{})
	m := newTestMailer(t, Config{
		Address: server.addr, TLS: "none", Username: "mailer", Password: testPassword,
	})

	err := m.Send(context.Background(), codeMessage())
	if !errors.Is(err, ErrDelivery) {
		t.Fatalf("Send error = %v, want ErrDelivery", err)
	}
	if n := len(server.received()); n != 0 {
		t.Errorf("server received %d mails without AUTH, want 0", n)
	}
	checkSecretFree(t, err)
}

func TestSendStartTLS(t *testing.T) {
	serverTLS, roots := selfSignedTLS(t)
	server := startServer(t, serverOptions{
		startTLS: serverTLS, authMechanisms: []string{"PLAIN"}, username: "mailer", password: testPassword,
	})
	m := newTestMailer(t, Config{
		Address: server.addr, Username: "mailer", Password: testPassword,
		RootCAs: roots, ServerName: "localhost",
	})

	if err := m.Send(context.Background(), codeMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := len(server.received()); n != 1 {
		t.Errorf("server received %d mails, want 1", n)
	}
}

func TestSendStartTLSFailures(t *testing.T) {
	serverTLS, roots := selfSignedTLS(t)
	tests := []struct {
		name   string
		server serverOptions
		roots  *x509.CertPool
	}{
		{"not offered", serverOptions{}, roots},
		{"untrusted certificate", serverOptions{startTLS: serverTLS}, x509.NewCertPool()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := startServer(t, tt.server)
			m := newTestMailer(t, Config{Address: server.addr, TLS: "starttls", RootCAs: tt.roots})

			err := m.Send(context.Background(), codeMessage())
			if !errors.Is(err, ErrDelivery) {
				t.Fatalf("Send error = %v, want ErrDelivery", err)
			}
			if n := len(server.received()); n != 0 {
				t.Errorf("server received %d mails, want 0", n)
			}
			checkSecretFree(t, err)
		})
	}
}

func TestSendImplicitTLS(t *testing.T) {
	serverTLS, roots := selfSignedTLS(t)
	server := startServer(t, serverOptions{
		implicitTLS: serverTLS, authMechanisms: []string{"LOGIN"}, username: "mailer", password: testPassword,
	})
	m := newTestMailer(t, Config{
		Address: server.addr, TLS: "tls", Username: "mailer", Password: testPassword, RootCAs: roots,
	})

	if err := m.Send(context.Background(), codeMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := len(server.received()); n != 1 {
		t.Errorf("server received %d mails, want 1", n)
	}
}

func TestSendTimeout(t *testing.T) {
	addr := silentServer(t)
	const timeout = 300 * time.Millisecond
	m := newTestMailer(t, Config{Address: addr, TLS: "none", Timeout: timeout})

	start := time.Now()
	err := m.Send(context.Background(), codeMessage())
	elapsed := time.Since(start)

	if !errors.Is(err, ErrDelivery) {
		t.Fatalf("Send error = %v, want ErrDelivery", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send error = %v, want it to match context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "timed out") {
		t.Errorf("error %q does not say it timed out", err)
	}
	// The slack is generous for a loaded machine, because the point is
	// that Send does not wait for the server forever.
	if elapsed > timeout+2*time.Second {
		t.Errorf("Send returned after %s, want about %s", elapsed, timeout)
	}
}

func TestSendContextCancelled(t *testing.T) {
	addr := silentServer(t)
	m := newTestMailer(t, Config{Address: addr, TLS: "none", Timeout: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()

	err := m.Send(ctx, codeMessage())
	if !errors.Is(err, ErrDelivery) {
		t.Fatalf("Send error = %v, want ErrDelivery", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send error = %v, want it to match context.DeadlineExceeded", err)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now, so the dial is refused
	m := newTestMailer(t, Config{Address: addr, TLS: "none"})

	err = m.Send(context.Background(), codeMessage())
	if !errors.Is(err, ErrDelivery) {
		t.Fatalf("Send error = %v, want ErrDelivery", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the server address %s", err, addr)
	}
}

func TestSendRecipientRejected(t *testing.T) {
	server := startServer(t, serverOptions{rejectRcpt: true})
	m := newTestMailer(t, Config{Address: server.addr, TLS: "none"})

	err := m.Send(context.Background(), codeMessage())
	if !errors.Is(err, ErrDelivery) {
		t.Fatalf("Send error = %v, want ErrDelivery", err)
	}
	if !strings.Contains(err.Error(), "no such user") {
		t.Errorf("error %q does not carry the server's reply", err)
	}
	checkSecretFree(t, err)
}

func TestSendDataRejectedHidesCode(t *testing.T) {
	server := startServer(t, serverOptions{rejectData: func(data []byte) error {
		// Echoes the whole message, code included, as a careless server
		// might.
		return &smtp.SMTPError{Code: 554, Message: "rejected: " + strings.ReplaceAll(string(data), "\r\n", " ")}
	}})
	m := newTestMailer(t, Config{Address: server.addr, TLS: "none"})

	err := m.Send(context.Background(), codeMessage())
	if !errors.Is(err, ErrDelivery) {
		t.Fatalf("Send error = %v, want ErrDelivery", err)
	}
	if !strings.Contains(err.Error(), redacted) {
		t.Errorf("error %q does not show where the echoed code was redacted", err)
	}
	checkSecretFree(t, err)
}

func TestSendInvalidRecipient(t *testing.T) {
	server := startServer(t, serverOptions{})
	m := newTestMailer(t, Config{Address: server.addr, TLS: "none"})
	msg := codeMessage()
	msg.To = "alice@example.com\r\nBcc: eve@example.com"

	err := m.Send(context.Background(), msg)
	if !errors.Is(err, ErrAddress) {
		t.Fatalf("Send error = %v, want ErrAddress", err)
	}
	if n := len(server.received()); n != 0 {
		t.Errorf("server received %d mails, want 0", n)
	}
}

func TestSendUnknownKind(t *testing.T) {
	server := startServer(t, serverOptions{})
	m := newTestMailer(t, Config{Address: server.addr, TLS: "none"})
	msg := codeMessage()
	msg.Kind = "welcome"

	err := m.Send(context.Background(), msg)
	if !errors.Is(err, ErrTemplate) {
		t.Fatalf("Send error = %v, want ErrTemplate", err)
	}
}

func TestSendConcurrent(t *testing.T) {
	server := startServer(t, serverOptions{
		authMechanisms: []string{"LOGIN"}, username: "mailer", password: testPassword,
	})
	m := newTestMailer(t, Config{
		Address: server.addr, TLS: "none", Username: "mailer", Password: testPassword,
	})

	const senders = 8
	errs := make(chan error, senders)
	for range senders {
		go func() { errs <- m.Send(context.Background(), codeMessage()) }()
	}
	for range senders {
		if err := <-errs; err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	if n := len(server.received()); n != senders {
		t.Errorf("server received %d mails, want %d", n, senders)
	}
}
