package caddymodule

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalSMTP(t *testing.T) {
	input := block(
		"smtp smtp.example.com:587 {",
		"username mailer",
		"password {env.SMTP_PASSWORD}",
		`from "App <no-reply@example.com>"`,
		"tls starttls",
		"timeout 20s",
		"}",
		"mail_templates /etc/twofactor/mail",
	)
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatalf("UnmarshalCaddyfile: %v", err)
	}
	want := SMTPConfig{
		Address:  "smtp.example.com:587",
		Username: "mailer",
		Password: "{env.SMTP_PASSWORD}",
		From:     "App <no-reply@example.com>",
		TLS:      "starttls",
		Timeout:  caddy.Duration(20 * time.Second),
	}
	if h.SMTP == nil || *h.SMTP != want {
		t.Errorf("SMTP = %+v, want %+v", h.SMTP, want)
	}
	if h.MailTemplates != "/etc/twofactor/mail" {
		t.Errorf("MailTemplates = %q, want /etc/twofactor/mail", h.MailTemplates)
	}
}

func TestUnmarshalSMTPBad(t *testing.T) {
	tests := []struct {
		name  string
		input string
		line  int
		want  string
	}{
		{"no port", block("smtp mail.example.com {", "from a@example.com", "}"), 3, "expected host:port"},
		{"no from", block("smtp mail.example.com:587 {", "tls tls", "}"), 5, "missing from"},
		{"clear text off loopback", block("smtp mail.example.com:25 {", "from a@example.com",
			"tls none", "}"), 6, "tls none is allowed only for a loopback server"},
		{"tls value", block("smtp 127.0.0.1:25 {", "from a@example.com", "tls maybe", "}"), 5,
			`invalid tls value "maybe"`},
		{"user without password", block("smtp 127.0.0.1:25 {", "from a@example.com",
			"username u", "}"), 6, "set both username and password"},
		{"misspelt", block("smtp 127.0.0.1:25 {", "form a@example.com", "}"), 4,
			`smtp: unknown subdirective "form": did you mean "from"?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if err == nil {
				t.Fatal("UnmarshalCaddyfile accepted the input")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if want := fmt.Sprintf("at Testfile:%d", tt.line); !strings.HasSuffix(err.Error(), want) {
				t.Errorf("error %q does not name line %d", err, tt.line)
			}
		})
	}
}
