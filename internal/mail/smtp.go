package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// deliver sends one composed mail on a new connection, within
// Config.Timeout.
func (m *Mailer) deliver(ctx context.Context, mail *gomail.Msg, kind Kind, code string) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()

	client, err := m.newClient(ctx)
	if err != nil {
		return newDeliveryError(ctx, "setting up the SMTP client", m.cfg.Address, err,
			code, m.cfg.Password)
	}
	if err := client.DialAndSendWithContext(ctx, mail); err != nil {
		return newDeliveryError(ctx, "sending "+string(kind)+" mail", m.cfg.Address, err,
			code, m.cfg.Password)
	}
	return nil
}

// newClient configures a go-mail client for one delivery whose context is
// ctx. A client per delivery keeps Send safe for concurrent use, because
// the AUTH state and the dialler are per connection.
func (m *Mailer) newClient(ctx context.Context) (*gomail.Client, error) {
	tlsConfig := &tls.Config{
		ServerName: m.cfg.ServerName,
		RootCAs:    m.cfg.RootCAs,
		MinVersion: tls.VersionTLS12,
	}
	opts := []gomail.Option{
		gomail.WithPort(m.cfg.port),
		gomail.WithTimeout(m.cfg.Timeout),
		gomail.WithTLSConfig(tlsConfig),
		gomail.WithDialContextFunc(m.dialer(ctx, tlsConfig)),
	}
	switch m.cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		// The dialler does the TLS handshake, so WithSSL only stops
		// go-mail from trying STARTTLS inside the TLS connection.
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if m.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&plainOrLoginAuth{
			username:   m.cfg.Username,
			password:   m.cfg.Password,
			allowNoTLS: m.cfg.TLS == TLSNone,
			serverName: m.cfg.host,
		}))
	}
	return gomail.NewClient(m.cfg.host, opts...)
}

// dialer returns the function go-mail dials with. It dials Config.Address
// itself, because go-mail joins host and port without the brackets an
// IPv6 address needs. It does the handshake of implicit TLS, checks that
// clear text goes only to a loopback address (what "localhost" resolved
// to), and closes the connection when ctx ends, because go-mail watches
// the context only while dialling.
func (m *Mailer) dialer(ctx context.Context, tlsConfig *tls.Config) gomail.DialContextFunc {
	return func(dialCtx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(dialCtx, network, m.cfg.Address)
		if err != nil {
			return nil, err
		}
		remote := conn.RemoteAddr().String()
		if m.cfg.TLS == TLSNone && !isLoopbackAddr(remote) {
			conn.Close()
			return nil, fmt.Errorf("%s is not a loopback address, and TLS %q is allowed only on loopback",
				remote, TLSNone)
		}
		context.AfterFunc(ctx, func() { conn.Close() })

		if m.cfg.TLS != TLSImplicit {
			return conn, nil
		}
		tlsConn := tls.Client(conn, tlsConfig)
		if err := tlsConn.HandshakeContext(dialCtx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		return tlsConn, nil
	}
}

// plainOrLoginAuth is SMTP AUTH with PLAIN when the server offers it, else
// LOGIN. Both send the password itself, so it rejects a start without TLS
// unless clear text was allowed, which New does only for loopback hosts.
// One value serves one connection.
type plainOrLoginAuth struct {
	username, password string
	allowNoTLS         bool
	serverName         string // host name go-mail reports as the server's
	mechanism          smtp.Auth
}

// errNoTLSForAuth stops AUTH on a connection without TLS.
var errNoTLSForAuth = errors.New("SMTP AUTH rejected on a connection without TLS")

// Start picks the mechanism from those the server offers.
func (a *plainOrLoginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !a.allowNoTLS {
		return "", nil, errNoTLSForAuth
	}
	offers := func(name string) bool {
		return slices.ContainsFunc(server.Auth, func(m string) bool { return strings.EqualFold(m, name) })
	}
	switch {
	case len(server.Auth) == 0:
		return "", nil, errors.New("SMTP server does not offer AUTH, but a username is configured")
	case offers("PLAIN"):
		a.mechanism = smtp.PlainAuth("", a.username, a.password, a.serverName, true)
	case offers("LOGIN"):
		a.mechanism = smtp.LoginAuth(a.username, a.password, a.serverName, true)
	default:
		return "", nil, fmt.Errorf("SMTP server offers neither AUTH PLAIN nor LOGIN (offered: %q)",
			strings.Join(server.Auth, " "))
	}
	return a.mechanism.Start(server)
}

// Next returns the response to a server challenge, from the chosen
// mechanism.
func (a *plainOrLoginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if a.mechanism == nil {
		return nil, errors.New("SMTP AUTH challenge before start")
	}
	return a.mechanism.Next(fromServer, more)
}
