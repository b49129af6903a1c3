package caddymodule

import (
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-twofactor/caddy-twofactor/internal/mail"
)

// SMTPConfig configures the delivery of email codes and notices.
type SMTPConfig struct {
	// Address is the SMTP server as host:port.
	Address string `json:"address"`
	// Username for SMTP AUTH, with Password.
	Username string `json:"username,omitempty"`
	// Password for SMTP AUTH; a placeholder such as {env.SMTP_PASSWORD}
	// is replaced at provision time.
	Password string `json:"password,omitempty"`
	// From is the sender: "Name <addr@host>" or "addr@host".
	From string `json:"from"`
	// TLS is "starttls" (mandatory STARTTLS), "tls" (implicit TLS) or
	// "none" (loopback servers only). Default: "starttls".
	TLS string `json:"tls,omitempty"`
	// Timeout bounds one delivery. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// CAFile is a PEM file of roots trusted for the server's certificate,
	// for a server with a private CA. Default: the system roots.
	CAFile string `json:"ca_file,omitempty"`
}

// buildMailer creates the mailer, or nil when smtp is not configured.
func (h *Handler) buildMailer() (*mail.Mailer, error) {
	if h.SMTP == nil {
		if h.MailTemplates != "" {
			return nil, fmt.Errorf("mail_templates is set but smtp is not: add an smtp block")
		}
		return nil, nil
	}
	cfg := mail.Config{
		Address:      h.SMTP.Address,
		Username:     h.SMTP.Username,
		From:         h.SMTP.From,
		TLS:          h.SMTP.TLS,
		Timeout:      time.Duration(h.SMTP.Timeout),
		TemplatesDir: h.MailTemplates,
	}
	if h.SMTP.Password != "" {
		password, err := replaceSecret(h.SMTP.Password)
		if err != nil {
			return nil, fmt.Errorf("smtp password: %v", err)
		}
		cfg.Password = password
	}
	if h.SMTP.CAFile != "" {
		pem, err := os.ReadFile(h.SMTP.CAFile)
		if err != nil {
			return nil, fmt.Errorf("smtp ca_file: %v", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("smtp ca_file %s holds no PEM certificate", h.SMTP.CAFile)
		}
	}
	m, err := mail.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("smtp: %v", err)
	}
	return m, nil
}
