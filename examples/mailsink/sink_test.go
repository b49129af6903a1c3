package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/mail"
	gomail "github.com/wneessen/go-mail"
)

// startTestSink runs a sink on free loopback ports until the test ends.
func startTestSink(t *testing.T) *sink {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := startSink(config{SMTPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"}, logger)
	if err != nil {
		t.Fatalf("startSink: %v", err)
	}
	t.Cleanup(func() { s.close(context.Background()) })
	return s
}

// fetchList returns GET /messages.json from a running sink.
func fetchList(t *testing.T, s *sink) []jsonMessage {
	t.Helper()
	resp, err := http.Get("http://" + s.HTTPAddr() + "/messages.json")
	if err != nil {
		t.Fatalf("GET /messages.json: %v", err)
	}
	defer resp.Body.Close()
	var list []jsonMessage
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("decoding /messages.json: %v", err)
	}
	return list
}

func TestSinkGoMailClient(t *testing.T) {
	s := startTestSink(t)
	host, portText, _ := net.SplitHostPort(s.SMTPAddr())
	port, _ := strconv.Atoi(portText)

	msg := gomail.NewMsg()
	if err := msg.From("demo@example.com"); err != nil {
		t.Fatalf("From: %v", err)
	}
	if err := msg.To("alice@example.com"); err != nil {
		t.Fatalf("To: %v", err)
	}
	msg.Subject("Grüße from the demo")
	msg.SetBodyString(gomail.TypeTextPlain, "Your code is 246810. "+strings.Repeat("long line ", 20))
	msg.AddAlternativeString(gomail.TypeTextHTML, "<p>Your code is <b>246810</b></p>")
	client, err := gomail.NewClient(host, gomail.WithPort(port), gomail.WithTLSPolicy(gomail.NoTLS),
		gomail.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	if err := client.DialAndSend(msg); err != nil {
		t.Fatalf("DialAndSend: %v", err)
	}

	list := fetchList(t, s)
	if len(list) != 1 {
		t.Fatalf("sink lists %d mails, want 1", len(list))
	}
	got := list[0]
	if got.Subject != "Grüße from the demo" {
		t.Errorf("subject = %q, want the decoded subject", got.Subject)
	}
	if !strings.Contains(got.Text, "Your code is 246810. long line") {
		t.Errorf("text = %q, want the decoded text part", got.Text)
	}
	if strings.Contains(got.Text, "<b>") {
		t.Errorf("text = %q, want the text part, not the HTML part", got.Text)
	}
	if got.From != "demo@example.com" || len(got.To) != 1 || got.To[0] != "alice@example.com" {
		t.Errorf("envelope = %q -> %q, want demo@example.com -> [alice@example.com]", got.From, got.To)
	}

	resp, err := http.Get("http://" + s.HTTPAddr() + "/messages/" + strconv.Itoa(got.ID) + ".eml")
	if err != nil {
		t.Fatalf("GET raw: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(raw), "Content-Type: multipart/alternative") {
		t.Errorf("raw mail lacks its multipart header:\n%s", raw)
	}
}

func TestSinkMailPackage(t *testing.T) {
	s := startTestSink(t)
	mailer, err := mail.New(mail.Config{Address: s.SMTPAddr(), TLS: "none", From: "2FA <2fa@example.com>"})
	if err != nil {
		t.Fatalf("mail.New: %v", err)
	}

	err = mailer.Send(context.Background(), mail.Message{
		To: "bob@example.com", Kind: mail.KindSetupCode, Language: "fr",
		Data: mail.Data{Code: "135790", ValidMinutes: 10, Site: "app.example.com"},
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}

	list := fetchList(t, s)
	if len(list) != 1 {
		t.Fatalf("sink lists %d mails, want 1", len(list))
	}
	if !strings.Contains(list[0].Text, "135790") || !strings.Contains(list[0].Text, "l’authentification") {
		t.Errorf("text = %q, want the French text with the code", list[0].Text)
	}
}

func TestSinkRejectsNonLoopback(t *testing.T) {
	tests := []struct {
		name string
		cfg  config
	}{
		{"smtp any", config{SMTPAddr: "0.0.0.0:0", HTTPAddr: "127.0.0.1:0"}},
		{"http any", config{SMTPAddr: "127.0.0.1:0", HTTPAddr: ":0"}},
		{"smtp remote", config{SMTPAddr: "192.0.2.1:2525", HTTPAddr: "127.0.0.1:0"}},
		{"http name", config{SMTPAddr: "127.0.0.1:0", HTTPAddr: "example.com:8025"}},
		{"no port", config{SMTPAddr: "127.0.0.1", HTTPAddr: "127.0.0.1:0"}},
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := startSink(tt.cfg, logger)
			if err == nil {
				s.close(context.Background())
				t.Fatalf("startSink(%+v) succeeded, want an error", tt.cfg)
			}
			if !strings.Contains(err.Error(), "loopback") && !strings.Contains(err.Error(), "host:port") {
				t.Errorf("error %q does not say why", err)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	cfg, err := parseConfig(nil, io.Discard)
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	if cfg.SMTPAddr != "127.0.0.1:2525" || cfg.HTTPAddr != "127.0.0.1:8025" {
		t.Errorf("defaults = %+v, want 127.0.0.1:2525 and 127.0.0.1:8025", cfg)
	}

	cfg, err = parseConfig([]string{"-smtp", "[::1]:2526", "-http", "localhost:8026"}, io.Discard)
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	if cfg.SMTPAddr != "[::1]:2526" || cfg.HTTPAddr != "localhost:8026" {
		t.Errorf("config = %+v, want the flag values", cfg)
	}

	if _, err := parseConfig([]string{"extra"}, io.Discard); err == nil {
		t.Errorf("parseConfig accepted a stray argument")
	}
}
