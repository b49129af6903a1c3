package e2e

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
)

// mailSink is a real SMTP server on 127.0.0.1 in the test process, which
// Caddy delivers the code mails and notices to.
type mailSink struct {
	addr string

	mu    sync.Mutex
	mails []deliveredMail
}

// deliveredMail is one mail the sink accepted.
type deliveredMail struct {
	to   []string
	data []byte
}

// newMailSink serves SMTP on a free loopback port until the test ends.
func newMailSink(t *testing.T) *mailSink {
	t.Helper()
	sink := &mailSink{}
	server := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &mailSinkSession{sink: sink}, nil
	}))
	server.Domain = "localhost"
	server.ReadTimeout = 10 * time.Second
	server.WriteTimeout = 10 * time.Second
	server.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening for SMTP: %v", err)
	}
	sink.addr = ln.Addr().String()
	go server.Serve(ln)
	t.Cleanup(func() { server.Close() })
	return sink
}

// smtpBlock returns the twofactor subdirective that sends mail to the sink.
func (m *mailSink) smtpBlock() string {
	return "smtp " + m.addr + " {\n\tfrom \"Legacy App <no-reply@localhost>\"\n\ttls none\n}\n"
}

type mailSinkSession struct {
	sink *mailSink
	mail deliveredMail
}

func (s *mailSinkSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *mailSinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.mail.to = append(s.mail.to, to)
	return nil
}

func (s *mailSinkSession) Data(r io.Reader) error {
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

func (s *mailSinkSession) Reset()        { s.mail = deliveredMail{} }
func (s *mailSinkSession) Logout() error { return nil }

// mailCodeLine finds the code line of a code mail's text part.
var mailCodeLine = regexp.MustCompile(`(?m)^\s*(\d{6})\s*$`)

// codeMail is a delivered code mail, read back.
type codeMail struct {
	to, subject, text, code string
}

// waitCodeMail returns the first code mail after the first skip code
// mails, waiting up to 10 seconds for it. Notices carry no code and are
// passed over.
func (m *mailSink) waitCodeMail(t *testing.T, skip int) codeMail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if mails := m.codeMails(t); len(mails) > skip {
			return mails[skip]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no code mail after the first %d arrived within 10 s", skip)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// codeMails returns the code mails delivered so far, in order.
func (m *mailSink) codeMails(t *testing.T) []codeMail {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []codeMail
	for _, d := range m.mails {
		subject, text := readMail(t, d.data)
		if match := mailCodeLine.FindStringSubmatch(text); match != nil {
			out = append(out, codeMail{to: strings.Join(d.to, ","), subject: subject, text: text, code: match[1]})
		}
	}
	return out
}

// readMail returns the decoded subject and text/plain part of a mail.
func readMail(t *testing.T, raw []byte) (subject, text string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("reading a delivered mail: %v", err)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decoding the subject %q: %v", msg.Header.Get("Subject"), err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("parsing Content-Type: %v", err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		body, _ := io.ReadAll(msg.Body)
		return subject, string(body)
	}
	parts := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := parts.NextPart() // undoes quoted-printable
		if errors.Is(err, io.EOF) {
			return subject, ""
		}
		if err != nil {
			t.Fatalf("reading a MIME part: %v", err)
		}
		if strings.HasPrefix(part.Header.Get("Content-Type"), "text/plain") {
			body, _ := io.ReadAll(part)
			return subject, string(body)
		}
	}
}
