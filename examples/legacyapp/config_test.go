package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	if cfg.Listen != "127.0.0.1:9000" {
		t.Errorf("Listen = %q, want 127.0.0.1:9000", cfg.Listen)
	}
	if cfg.CookieName != "session" {
		t.Errorf("CookieName = %q, want session", cfg.CookieName)
	}
	if cfg.AnonymousMe != anonymousStatus401 {
		t.Errorf("AnonymousMe = %q, want 401", cfg.AnonymousMe)
	}
	if string(cfg.JWTSecret) != demoJWTSecret {
		t.Errorf("JWTSecret = %q, want the demo secret", cfg.JWTSecret)
	}
	if !cfg.DemoSecret {
		t.Error("DemoSecret = false, want true")
	}
	if cfg.ResetCodesFile != "" {
		t.Errorf("ResetCodesFile = %q, want empty", cfg.ResetCodesFile)
	}
}

func TestParseConfigSecret(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      string
		want     string
		wantDemo bool
	}{
		{"flag", []string{"-jwt-secret", "from-flag"}, "", "from-flag", false},
		{"env", nil, "from-env", "from-env", false},
		{"flag over env", []string{"-jwt-secret", "from-flag"}, "from-env", "from-flag", false},
		{"demo", nil, "", demoJWTSecret, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(name string) string {
				if name == jwtSecretEnv {
					return tt.env
				}
				return ""
			}
			cfg, err := parseConfig(tt.args, getenv, io.Discard)
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			if string(cfg.JWTSecret) != tt.want {
				t.Errorf("JWTSecret = %q, want %q", cfg.JWTSecret, tt.want)
			}
			if cfg.DemoSecret != tt.wantDemo {
				t.Errorf("DemoSecret = %v, want %v", cfg.DemoSecret, tt.wantDemo)
			}
		})
	}
}

func TestParseConfigFlags(t *testing.T) {
	args := []string{
		"-listen", "127.0.0.1:0", "-cookie", "PHPSESSID",
		"-anonymous-me", "zero", "-reset-codes-file", "codes.jsonl",
	}
	cfg, err := parseConfig(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	if cfg.Listen != "127.0.0.1:0" {
		t.Errorf("Listen = %q, want 127.0.0.1:0", cfg.Listen)
	}
	if cfg.CookieName != "PHPSESSID" {
		t.Errorf("CookieName = %q, want PHPSESSID", cfg.CookieName)
	}
	if cfg.AnonymousMe != anonymousZeroID {
		t.Errorf("AnonymousMe = %q, want zero", cfg.AnonymousMe)
	}
	if cfg.ResetCodesFile != "codes.jsonl" {
		t.Errorf("ResetCodesFile = %q, want codes.jsonl", cfg.ResetCodesFile)
	}
}

func TestParseConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"anonymous mode", []string{"-anonymous-me", "403"}, "invalid -anonymous-me"},
		{"cookie with space", []string{"-cookie", "my session"}, "invalid -cookie"},
		{"empty cookie", []string{"-cookie", ""}, "invalid -cookie"},
		{"remember cookie", []string{"-cookie", "remember"}, "remember-me"},
		{"empty listen", []string{"-listen", ""}, "missing -listen"},
		{"argument", []string{"extra"}, "unexpected argument"},
		{"unknown flag", []string{"-port", "80"}, "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, func(string) string { return "" }, io.Discard)
			if err == nil {
				t.Fatalf("parseConfig(%q) = nil error, want one containing %q", tt.args, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseConfig(%q) error = %q, want it to contain %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestParseConfigHelpHidesEnvSecret(t *testing.T) {
	var out strings.Builder
	getenv := func(string) string { return "secret-from-env" }
	_, err := parseConfig([]string{"-h"}, getenv, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseConfig(-h) error = %v, want flag.ErrHelp", err)
	}
	if strings.Contains(out.String(), "secret-from-env") {
		t.Errorf("help text shows the secret from the environment:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "insecure") {
		t.Errorf("help text does not call the demo secret insecure:\n%s", out.String())
	}
}
