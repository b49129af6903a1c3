package caddymodule

import (
	"net"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// parseSMTP reads `smtp <host:port> { ... }`.
func (p *caddyfileParser) parseSMTP(d *caddyfile.Dispenser, args []string) error {
	host, port, err := net.SplitHostPort(args[0])
	if err != nil || host == "" || port == "" {
		return d.Errf("invalid smtp address %q: expected host:port, such as smtp.example.com:587",
			args[0])
	}
	smtp := &SMTPConfig{Address: args[0]}
	p.h.SMTP = smtp
	if err := p.parseBlock(d, "smtp", smtpSubdirectives(smtp)); err != nil {
		return err
	}
	if smtp.From == "" {
		return d.Errf("smtp: missing from: add `from \"Name <address@example.com>\"` to the smtp block")
	}
	if (smtp.Username == "") != (smtp.Password == "") {
		return d.Errf("smtp: set both username and password, or neither")
	}
	if smtp.TLS == "none" && !isLoopbackHost(host) {
		return d.Errf("smtp: tls none is allowed only for a loopback server (localhost, 127.0.0.1, ::1), " +
			"because codes and the password would cross the network in clear text: use starttls or tls")
	}
	return nil
}

func smtpSubdirectives(c *SMTPConfig) map[string]subdirective {
	return map[string]subdirective{
		"username": single("username <user>", setString(&c.Username)),
		"password": single("password <password>", setString(&c.Password)),
		"from":     single("from <address>", setString(&c.From)),
		"tls":      single("tls starttls | tls | none", setEnum(&c.TLS, "tls", "starttls", "tls", "none")),
		"timeout":  single("timeout <duration>", setDuration(&c.Timeout, "timeout", false)),
		"ca_file":  single("ca_file <pem file>", setString(&c.CAFile)),
	}
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
