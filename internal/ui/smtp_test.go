package ui

import (
	"errors"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	mailer "github.com/caddy-twofactor/caddy-twofactor/internal/mail"
)

// smtpSink is a real SMTP server on 127.0.0.1 that keeps what it receives.
type smtpSink struct {
	addr  string
	mu    sync.Mutex
	mails []sunkMail
}

// sunkMail is one delivered mail: its envelope recipients and raw data.
type sunkMail struct {
	to   []string
	data []byte
}

// withMail starts an SMTP sink and gives the API a real mailer that
// delivers to it in clear text, which the mailer allows on loopback.
func (f *pagesFixture) withMail() *pagesFixture {
	f.t.Helper()
	sink := &smtpSink{}
	server := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: sink}, nil
	}))
	server.Domain = "localhost"
	server.ReadTimeout = 5 * time.Second
	server.WriteTimeout = 5 * time.Second
	server.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatalf("listening for SMTP: %v", err)
	}
	sink.addr = ln.Addr().String()
	go server.Serve(ln)
	f.t.Cleanup(func() { server.Close() })

	m, err := mailer.New(mailer.Config{Address: sink.addr, From: "Pages test <no-reply@example.com>", TLS: mailer.TLSNone})
	if err != nil {
		f.t.Fatalf("mail.New: %v", err)
	}
	f.pages.API.Mailer = m
	f.mail = sink
	return f
}

// sinkSession is one SMTP connection to a sink.
type sinkSession struct {
	sink *smtpSink
	mail sunkMail
}

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.mail.to = append(s.mail.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mail.data = data
	s.sink.mu.Lock()
	s.sink.mails = append(s.sink.mails, s.mail)
	s.sink.mu.Unlock()
	return nil
}

func (s *sinkSession) Reset()        { s.mail = sunkMail{} }
func (s *sinkSession) Logout() error { return nil }

// codeMails returns how many mails with a code the sink received. Notices
// go out in the background and carry no code, so they do not count.
func (s *smtpSink) codeMails(t *testing.T) int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.mails {
		if codePattern.MatchString(mailText(t, m.data)) {
			n++
		}
	}
	return n
}

// codePattern finds the code line of a code mail's text part.
var codePattern = regexp.MustCompile(`(?m)^\s*(\d{6})\s*$`)

// lastCode returns the recipient and the code of the newest mail with a
// code.
func (s *smtpSink) lastCode(t *testing.T) (to, code string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.mails) - 1; i >= 0; i-- {
		if m := codePattern.FindStringSubmatch(mailText(t, s.mails[i].data)); m != nil {
			return strings.Join(s.mails[i].to, ","), m[1]
		}
	}
	t.Fatalf("none of the %d mails delivered has a code", len(s.mails))
	return "", ""
}

// mailText returns the text/plain part of a mail, decoded.
func mailText(t *testing.T, raw []byte) string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("reading mail: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("parsing Content-Type: %v", err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		body, _ := io.ReadAll(msg.Body)
		return string(body)
	}
	parts := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := parts.NextPart() // undoes quoted-printable
		if errors.Is(err, io.EOF) {
			t.Fatal("the mail has no text/plain part")
		}
		if err != nil {
			t.Fatalf("reading a MIME part: %v", err)
		}
		if strings.HasPrefix(part.Header.Get("Content-Type"), "text/plain") {
			body, _ := io.ReadAll(part)
			return string(body)
		}
	}
}
