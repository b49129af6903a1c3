package mail

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// TLS modes of Config.TLS.
const (
	// TLSStartTLS connects in clear text and requires STARTTLS before
	// anything else is sent. A server that does not offer it is rejected.
	TLSStartTLS = "starttls"
	// TLSImplicit starts TLS on connect (SMTPS, usually port 465).
	TLSImplicit = "tls"
	// TLSNone sends everything in clear text. New accepts it only for a
	// loopback host.
	TLSNone = "none"
)

// DefaultTimeout bounds one delivery, dial included, when Config.Timeout
// is zero.
const DefaultTimeout = 10 * time.Second

// Config of the SMTP client.
type Config struct {
	// Address is the SMTP server as host:port, for example
	// "smtp.example.com:587". Required, because the port is never guessed.
	Address string

	// Username and Password, when both are set, log in with SMTP AUTH,
	// PLAIN when the server offers it, else LOGIN. Set both or neither.
	Username string
	Password string

	// From is the sender, "Name <addr@host>" or "addr@host". Required.
	From string

	// TLS is "starttls" (mandatory STARTTLS), "tls" (implicit TLS) or
	// "none" (clear text, loopback hosts only). Default: "starttls".
	TLS string

	// Timeout bounds a whole delivery: dial, TLS, AUTH and the message.
	// Default: 10 s.
	Timeout time.Duration

	// TemplatesDir optionally names a folder laid out like the embedded
	// templates (<lang>/<kind>.tmpl, plus layout.tmpl for the HTML frame).
	// Each file found there replaces its embedded counterpart. It is read
	// once, by New. Default: none, the embedded templates only.
	TemplatesDir string

	// RootCAs are the roots trusted for the server's certificate.
	// Default: nil, the system roots.
	RootCAs *x509.CertPool

	// ServerName is the name checked against the server's certificate.
	// Default: the host of Address.
	ServerName string
}

// settings is a checked Config with its defaults applied.
type settings struct {
	Config
	host string
	port int
}

// check validates cfg and fills in its defaults. Its errors never contain
// the password.
func (cfg Config) check() (settings, error) {
	s := settings{Config: cfg}
	host, portText, err := net.SplitHostPort(cfg.Address)
	if err != nil || host == "" {
		return s, fmt.Errorf("invalid address %q: want host:port, for example smtp.example.com:587",
			cfg.Address)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return s, fmt.Errorf("invalid port in address %q: want 1 to 65535", cfg.Address)
	}
	s.host, s.port = host, port

	if err := checkFrom(cfg.From); err != nil {
		return s, err
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return s, errors.New("username and password must be set together")
	}

	s.TLS = strings.ToLower(strings.TrimSpace(cfg.TLS))
	if s.TLS == "" {
		s.TLS = TLSStartTLS
	}
	if err := checkTLSMode(s.TLS, host); err != nil {
		return s, err
	}

	if cfg.Timeout < 0 {
		return s, fmt.Errorf("invalid timeout %s: must not be negative", cfg.Timeout)
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.ServerName == "" {
		s.ServerName = host
	}
	return s, nil
}

// checkFrom rejects a missing or malformed sender.
func checkFrom(from string) error {
	if strings.TrimSpace(from) == "" {
		return errors.New("missing sender (from): set an address like \"Example <2fa@example.com>\"")
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return fmt.Errorf("invalid sender (from) %q: %v", from, err)
	}
	return nil
}

// checkTLSMode rejects an unknown mode, and clear text to a host that is
// not this machine.
func checkTLSMode(mode, host string) error {
	switch mode {
	case TLSStartTLS, TLSImplicit:
		return nil
	case TLSNone:
		if IsLoopbackHost(host) {
			return nil
		}
		return fmt.Errorf("TLS %q is rejected for host %s: the SMTP password and the "+
			"one-time codes would cross the network in clear text; use %q or %q, or a relay "+
			"on this machine (localhost)", TLSNone, host, TLSStartTLS, TLSImplicit)
	default:
		return fmt.Errorf("invalid TLS mode %q: want %q, %q or %q",
			mode, TLSStartTLS, TLSImplicit, TLSNone)
	}
}
