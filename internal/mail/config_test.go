package mail

import (
	"strings"
	"testing"
	"time"
)

func TestNewConfigRejected(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // part of the error
	}{
		{"no address", Config{From: "a@example.com"}, "invalid address"},
		{"no port", Config{Address: "smtp.example.com", From: "a@example.com"}, "host:port"},
		{"bad port", Config{Address: "smtp.example.com:99999", From: "a@example.com"}, "invalid port"},
		{"no from", Config{Address: "smtp.example.com:587"}, "missing sender"},
		{"bad from", Config{Address: "smtp.example.com:587", From: "not an address"}, "invalid sender"},
		{"username alone", Config{Address: "smtp.example.com:587", From: "a@example.com", Username: "u"},
			"set together"},
		{"password alone", Config{Address: "smtp.example.com:587", From: "a@example.com", Password: testPassword},
			"set together"},
		{"unknown TLS", Config{Address: "smtp.example.com:587", From: "a@example.com", TLS: "ssl"},
			"invalid TLS mode"},
		{"negative timeout", Config{Address: "smtp.example.com:587", From: "a@example.com", Timeout: -time.Second},
			"invalid timeout"},
		{"clear text remote", Config{Address: "smtp.example.com:25", From: "a@example.com", TLS: "none",
			Username: "u", Password: testPassword}, "cross the network in clear text"},
		{"clear text private IP", Config{Address: "10.0.0.5:25", From: "a@example.com", TLS: "none"},
			"starttls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil {
				t.Fatalf("New accepted %+v", tt.cfg)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("New error %q contains the password", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	m, err := New(Config{Address: "[::1]:2525", From: "a@example.com"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if m.cfg.TLS != TLSStartTLS {
		t.Errorf("TLS = %q, want %q", m.cfg.TLS, TLSStartTLS)
	}
	if m.cfg.Timeout != DefaultTimeout {
		t.Errorf("Timeout = %s, want %s", m.cfg.Timeout, DefaultTimeout)
	}
	if m.cfg.ServerName != "::1" {
		t.Errorf("ServerName = %q, want the host of Address", m.cfg.ServerName)
	}
	if m.cfg.port != 2525 {
		t.Errorf("port = %d, want 2525 from Address", m.cfg.port)
	}
}

func TestNewClearTextLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:25", "127.9.9.9:25", "[::1]:25", "localhost:25", "LOCALHOST:25"} {
		if _, err := New(Config{Address: addr, From: "a@example.com", TLS: "none"}); err != nil {
			t.Errorf("New with TLS none to %s: %v, want it accepted", addr, err)
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LocalHost", true},
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"::1", true},
		{"[::1]", true},
		{"::ffff:127.0.0.1", true},
		{"", false},
		{"0.0.0.0", false},
		{"::", false},
		{"10.0.0.1", false},
		{"128.0.0.1", false},
		{"localhost.example.com", false},
		{"127.0.0.1.example.com", false},
		{"169.254.169.254", false},
	}
	for _, tt := range tests {
		if got := IsLoopbackHost(tt.host); got != tt.want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}
