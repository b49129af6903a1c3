package api

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

// sinkMode is how an smtpSink treats the next connections and recipients.
type sinkMode int

const (
	sinkAccept sinkMode = iota // deliver every mail
	sinkRefuse                 // reply 550 to every RCPT
	sinkSilent                 // accept the connection and never greet
)

// smtpSink is a real SMTP server (go-smtp) on 127.0.0.1 in the test
// process. It can reject recipients, hang before its greeting, or stop and
// start again on the same port, so one Mailer, configured once, meets each
// kind of failure.
type smtpSink struct {
	t    *testing.T
	addr string

	mu     sync.Mutex
	mode   sinkMode
	mails  []delivered
	server *smtp.Server
	ln     net.Listener
	parked []net.Conn // connections held by sinkSilent
	// onDeliver, when set, runs for each accepted mail before the server
	// replies to the DATA command, so the sender is still waiting.
	onDeliver func(delivered)
}

// delivered is one mail the sink accepted, read back with net/mail and
// mime/multipart.
type delivered struct {
	to       []string
	header   mail.Header
	subject  string
	text     string
	html     string
	language string // Content-Language
}

// codeLine matches the line of a code mail's text part that contains the
// code.
var codeLine = regexp.MustCompile(`(?m)^\s*(\d{6})\s*$`)

// code returns the six-digit code of a code mail, or "" for a notice.
func (d delivered) code() string {
	if m := codeLine.FindStringSubmatch(d.text); m != nil {
		return m[1]
	}
	return ""
}

// startSink serves SMTP on a free loopback port until the test ends.
func startSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening for SMTP: %v", err)
	}
	sink := &smtpSink{t: t, addr: ln.Addr().String()}
	sink.serve(ln)
	t.Cleanup(sink.stop)
	return sink
}

func (s *smtpSink) serve(ln net.Listener) {
	server := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: s}, nil
	}))
	server.Domain = "localhost"
	server.ReadTimeout = 5 * time.Second
	server.WriteTimeout = 5 * time.Second
	server.ErrorLog = log.New(io.Discard, "", 0)

	s.mu.Lock()
	s.server, s.ln = server, ln
	s.mu.Unlock()
	go server.Serve(&gateListener{Listener: ln, sink: s})
}

// stop closes the listener and every connection, so dialling the sink's
// address is refused until start.
func (s *smtpSink) stop() {
	s.mu.Lock()
	server, ln, parked := s.server, s.ln, s.parked
	s.server, s.ln, s.parked = nil, nil, nil
	s.mu.Unlock()
	if server != nil {
		server.Close()
		ln.Close() // in case Serve had not taken it yet
	}
	for _, conn := range parked {
		conn.Close()
	}
}

// start serves again on the same address after stop.
func (s *smtpSink) start() {
	s.t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("listening for SMTP again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

func (s *smtpSink) setMode(mode sinkMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = mode
}

// setOnDeliver sets the hook that runs for each accepted mail.
func (s *smtpSink) setOnDeliver(hook func(delivered)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onDeliver = hook
}

func (s *smtpSink) currentMode() sinkMode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

// received returns the mails accepted so far, in order.
func (s *smtpSink) received() []delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivered(nil), s.mails...)
}

// last returns the latest mail, failing the test when there is none.
func (s *smtpSink) last() delivered {
	s.t.Helper()
	mails := s.received()
	if len(mails) == 0 {
		s.t.Fatal("the SMTP server received no mail")
	}
	return mails[len(mails)-1]
}

// lastCode returns the code of the latest code mail, which must be to
// address. Notices, which carry no code, are passed over: they go out in
// the background and may arrive after a later code mail.
func (s *smtpSink) lastCode(address string) string {
	s.t.Helper()
	mails := s.received()
	for i := len(mails) - 1; i >= 0; i-- {
		code := mails[i].code()
		if code == "" {
			continue
		}
		if len(mails[i].to) != 1 || mails[i].to[0] != address {
			s.t.Fatalf("latest code mail went to %v, want [%s]", mails[i].to, address)
		}
		return code
	}
	s.t.Fatalf("none of the %d mails contains a code", len(mails))
	return ""
}

// gateListener parks the connections of sinkSilent instead of handing
// them to the SMTP server.
type gateListener struct {
	net.Listener
	sink *smtpSink
}

func (g *gateListener) Accept() (net.Conn, error) {
	for {
		conn, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if g.sink.currentMode() != sinkSilent {
			return conn, nil
		}
		g.sink.mu.Lock()
		g.sink.parked = append(g.sink.parked, conn)
		g.sink.mu.Unlock()
	}
}

// sinkSession is one SMTP connection to an smtpSink.
type sinkSession struct {
	sink *smtpSink
	to   []string
}

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.sink.currentMode() == sinkRefuse {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	d, err := parseDelivered(raw)
	if err != nil {
		s.sink.t.Errorf("reading a delivered mail: %v", err)
		return err
	}
	d.to = s.to
	s.sink.mu.Lock()
	s.sink.mails = append(s.sink.mails, d)
	hook := s.sink.onDeliver
	s.sink.mu.Unlock()
	if hook != nil {
		hook(d)
	}
	return nil
}

func (s *sinkSession) Reset()        { s.to = nil }
func (s *sinkSession) Logout() error { return nil }

// parseDelivered reads a mail with a text and an HTML part as
// multipart/alternative, undoing the header and transfer encodings.
func parseDelivered(raw []byte) (delivered, error) {
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return delivered{}, err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return delivered{}, err
	}
	d := delivered{header: msg.Header, subject: subject, language: msg.Header.Get("Content-Language")}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return delivered{}, err
	}
	if mediaType != "multipart/alternative" {
		return delivered{}, errors.New("Content-Type is " + mediaType + ", want multipart/alternative")
	}
	parts := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := parts.NextPart() // undoes quoted-printable
		if errors.Is(err, io.EOF) {
			return d, nil
		}
		if err != nil {
			return delivered{}, err
		}
		body, err := io.ReadAll(part)
		if err != nil {
			return delivered{}, err
		}
		partType, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch partType {
		case "text/plain":
			d.text = string(body)
		case "text/html":
			d.html = string(body)
		}
	}
}
