package mail

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// serverOptions configure a test SMTP server.
type serverOptions struct {
	authMechanisms []string    // "PLAIN" and/or "LOGIN", or none: no AUTH offered or required
	username       string      // the account AUTH accepts
	password       string      //
	startTLS       *tls.Config // offer STARTTLS with this config
	implicitTLS    *tls.Config // speak TLS from the first byte
	rejectRcpt     bool        // reply 550 to every RCPT
	rejectData     func(data []byte) error
}

// receivedMail is one message the test server accepted.
type receivedMail struct {
	from string
	to   []string
	data []byte
}

// testServer is a go-smtp server on 127.0.0.1 that records what it gets.
type testServer struct {
	addr string
	opts serverOptions

	mu    sync.Mutex
	mails []receivedMail
}

// startServer serves SMTP on a free loopback port until the test ends.
func startServer(t *testing.T, opts serverOptions) *testServer {
	t.Helper()
	ts := &testServer{opts: opts}
	server := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &testSession{server: ts}, nil
	}))
	server.Domain = "localhost"
	server.AllowInsecureAuth = true
	server.TLSConfig = opts.startTLS
	server.ReadTimeout = 5 * time.Second
	server.WriteTimeout = 5 * time.Second
	server.ErrorLog = log.New(io.Discard, "", 0)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	if opts.implicitTLS != nil {
		ln = tls.NewListener(ln, opts.implicitTLS)
	}
	ts.addr = ln.Addr().String()
	go server.Serve(ln)
	t.Cleanup(func() { server.Close() })
	return ts
}

// received returns a copy of the accepted mails.
func (ts *testServer) received() []receivedMail {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]receivedMail(nil), ts.mails...)
}

// only returns the single accepted mail, failing the test otherwise.
func (ts *testServer) only(t *testing.T) receivedMail {
	t.Helper()
	mails := ts.received()
	if len(mails) != 1 {
		t.Fatalf("server received %d mails, want 1", len(mails))
	}
	return mails[0]
}

// testSession is one SMTP connection to a testServer.
type testSession struct {
	server *testServer
	authed bool
	mail   receivedMail
}

func (s *testSession) AuthMechanisms() []string { return s.server.opts.authMechanisms }

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	check := func(username, password string) error {
		if username != s.server.opts.username || password != s.server.opts.password {
			// Echoes the password, as a careless server might, so tests
			// can see that the client's error hides it.
			return errors.New("invalid credentials " + username + "/" + password)
		}
		s.authed = true
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, username, password string) error {
			return check(username, password)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if len(s.server.opts.authMechanisms) > 0 && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.mail.from = from
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.server.opts.rejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.mail.to = append(s.mail.to, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.server.opts.rejectData != nil {
		if err := s.server.opts.rejectData(data); err != nil {
			return err
		}
	}
	s.mail.data = data
	s.server.mu.Lock()
	s.server.mails = append(s.server.mails, s.mail)
	s.server.mu.Unlock()
	return nil
}

func (s *testSession) Reset()        { s.mail = receivedMail{} }
func (s *testSession) Logout() error { return nil }

// loginServer is the server side of SASL LOGIN, which go-sasl lacks.
type loginServer struct {
	step     int
	username string
	check    func(username, password string) error
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		return []byte("Username:"), false, nil
	case 2:
		l.username = string(response)
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.username, string(response))
	}
}

// silentServer accepts connections on 127.0.0.1 and never sends a byte,
// like a server that hangs before its greeting.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, conn := range conns {
			conn.Close()
		}
	})
	return ln.Addr().String()
}

// selfSignedTLS makes a certificate for localhost and 127.0.0.1, and
// returns a server config with it and a pool that trusts it.
func selfSignedTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating key: %v", err)
	}

	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("creating certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parsing certificate: %v", err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(cert)
	config := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}
	return config, pool
}

// parsedMail is a delivered mail read back with net/mail and
// mime/multipart.
type parsedMail struct {
	header      mail.Header
	subject     string
	contentType string
	text, html  string
}

// parseMail reads raw as a multipart/alternative mail with a text and an
// HTML part.
func parseMail(t *testing.T, raw []byte) parsedMail {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("reading mail: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decoding subject %q: %v", msg.Header.Get("Subject"), err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("parsing Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	out := parsedMail{header: msg.Header, subject: subject, contentType: mediaType}
	if mediaType != "multipart/alternative" {
		return out
	}

	parts := multipart.NewReader(msg.Body, params["boundary"])
	for {
		// NextPart undoes quoted-printable itself.
		part, err := parts.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading MIME part: %v", err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("reading MIME part body: %v", err)
		}
		partType, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch partType {
		case "text/plain":
			out.text = string(body)
		case "text/html":
			out.html = string(body)
		}
	}
	return out
}
