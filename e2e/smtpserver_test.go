package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// smtpServer is a real SMTP server (go-smtp) on 127.0.0.1 in the test
// process. Unlike mailSink it can stop and start again on the same port,
// so Caddy's config keeps pointing at it, and it can offer STARTTLS.
type smtpServer struct {
	t    *testing.T
	addr string
	tls  *tls.Config // offered through STARTTLS when set

	mu     sync.Mutex
	server *smtp.Server
	ln     net.Listener
	mails  []smtpMail
}

// smtpMail is one mail the server accepted.
type smtpMail struct {
	to            []string
	subject, text string
	code          string // the six-digit code of a code mail, "" for a notice
	overTLS       bool   // the session had switched to TLS before DATA
}

// startSMTPServer serves SMTP on a free loopback port until the test ends,
// with STARTTLS when config is set.
func startSMTPServer(t *testing.T, config *tls.Config) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening for SMTP: %v", err)
	}
	m := &smtpServer{t: t, addr: ln.Addr().String(), tls: config}
	m.serve(ln)
	t.Cleanup(m.stop)
	return m
}

func (m *smtpServer) serve(ln net.Listener) {
	server := smtp.NewServer(smtp.BackendFunc(func(conn *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{server: m, conn: conn}, nil
	}))
	server.Domain = "localhost"
	server.TLSConfig = m.tls
	server.ReadTimeout = 10 * time.Second
	server.WriteTimeout = 10 * time.Second
	server.ErrorLog = log.New(io.Discard, "", 0)

	m.mu.Lock()
	m.server, m.ln = server, ln
	m.mu.Unlock()
	go server.Serve(ln)
}

// stop closes the server, so Caddy's connections to it are refused until
// start.
func (m *smtpServer) stop() {
	m.mu.Lock()
	server, ln := m.server, m.ln
	m.server, m.ln = nil, nil
	m.mu.Unlock()
	if server != nil {
		server.Close()
		ln.Close() // in case Serve had not taken it yet
	}
}

// start serves again on the same address after stop.
func (m *smtpServer) start() {
	m.t.Helper()
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		m.t.Fatalf("listening for SMTP again on %s: %v", m.addr, err)
	}
	m.serve(ln)
}

// smtpBlock returns the twofactor subdirective that mails through this
// server: in clear text, or with STARTTLS trusting the PEM file caFile.
func (m *smtpServer) smtpBlock(caFile string) string {
	tlsLines := "tls none\n"
	if caFile != "" {
		tlsLines = "tls starttls\nca_file " + caFile + "\n"
	}
	return "smtp " + m.addr + " {\n" + indent("from \"Legacy App <no-reply@localhost>\"\n"+tlsLines, 1) + "\n}\n"
}

// codeMails returns the code mails accepted so far, in order.
func (m *smtpServer) codeMails() []smtpMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []smtpMail
	for _, got := range m.mails {
		if got.code != "" {
			out = append(out, got)
		}
	}
	return out
}

// count returns the number of mails accepted so far, notices included.
func (m *smtpServer) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.mails)
}

// code returns the code mail number n (from 0), which must go to address,
// and records its code as a secret. Caddy responds after the server took
// the mail, so it waits only a moment.
func (m *smtpServer) code(s *stack, n int, address string) smtpMail {
	m.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if mails := m.codeMails(); len(mails) > n {
			got := mails[n]
			if strings.Join(got.to, ",") != address {
				m.t.Fatalf("code mail %d went to %v, want %s", n, got.to, address)
			}
			s.secrets.add("email code", got.code)
			return got
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("no code mail number %d arrived (%d so far)", n, len(m.codeMails()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// smtpSession is one SMTP connection to an smtpServer.
type smtpSession struct {
	server *smtpServer
	conn   *smtp.Conn
	to     []string
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	subject, text, err := parseSMTPMail(raw)
	if err != nil {
		s.server.t.Errorf("reading a mail Caddy sent: %v", err)
		return err
	}
	got := smtpMail{to: s.to, subject: subject, text: text}
	if match := codeInText.FindStringSubmatch(text); match != nil {
		got.code = match[1]
	}
	_, got.overTLS = s.conn.TLSConnectionState()
	s.server.mu.Lock()
	s.server.mails = append(s.server.mails, got)
	s.server.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.to = nil }
func (s *smtpSession) Logout() error { return nil }

// codeInText matches the line of a code mail's text part that contains
// the code.
var codeInText = regexp.MustCompile(`(?m)^\s*(\d{6})\s*$`)

// parseSMTPMail returns the decoded subject and text/plain part of a
// multipart mail, read with net/mail and mime/multipart.
func parseSMTPMail(raw []byte) (subject, text string, err error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", "", err
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return "", "", fmt.Errorf("decoding the subject: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mediaType, "multipart/") {
		return "", "", fmt.Errorf("Content-Type %q, want multipart", msg.Header.Get("Content-Type"))
	}
	parts := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := parts.NextPart() // undoes quoted-printable
		if err != nil {
			return "", "", fmt.Errorf("no text/plain part: %v", err)
		}
		if strings.HasPrefix(part.Header.Get("Content-Type"), "text/plain") {
			body, err := io.ReadAll(part)
			return subject, string(body), err
		}
	}
}

// selfSignedSMTP makes a self-signed certificate for 127.0.0.1 and
// localhost, and returns a server config with it and the path of a PEM
// file of the certificate, for ca_file.
func selfSignedSMTP(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating a key: %v", err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "twofactor e2e SMTP"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("creating a certificate: %v", err)
	}
	caFile := filepath.Join(t.TempDir(), "smtp-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatalf("writing %s: %v", caFile, err)
	}
	config := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}
	return config, caFile
}
