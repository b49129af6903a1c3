package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// demoJWTSecret signs access tokens when neither -jwt-secret nor
// LEGACYAPP_JWT_SECRET is set. It is public, so anyone can forge tokens for
// an app that runs with it.
const demoJWTSecret = "legacyapp-demo-secret-do-not-use-in-production"

// jwtSecretEnv is the environment variable read when -jwt-secret is empty.
const jwtSecretEnv = "LEGACYAPP_JWT_SECRET"

// Values of -anonymous-me, which select the response of GET /api/me to a
// visitor who is not logged in.
const (
	anonymousStatus401 = "401"  // 401 with a JSON error
	anonymousZeroID    = "zero" // 200 {"id":0}, as some PHP apps do
	anonymousStatus204 = "204"  // 204 with no body
)

// config is the app's settings, filled from the command line by parseConfig.
type config struct {
	// Listen is the TCP address to listen on. Default: 127.0.0.1:9000.
	Listen string

	// JWTSecret is the HMAC key of the HS256 access tokens.
	JWTSecret []byte

	// DemoSecret is true when JWTSecret is the built-in demoJWTSecret.
	DemoSecret bool

	// CookieName is the name of the session cookie. Default: session.
	CookieName string

	// AnonymousMe is one of the anonymous* constants. Default: 401.
	AnonymousMe string

	// ResetCodesFile, when set, is the file that receives one JSON line per
	// code the app mails. When empty, the codes go to the log.
	ResetCodesFile string

	// Echo enables GET /_echo, which returns the request the app received,
	// and GET /_echo/last, which returns the last request to a path with
	// its body. They show cookies, tokens and passwords, so they are for
	// tests only. Default: false.
	Echo bool

	// AltReset enables the alternate password reset flow under /account/,
	// with form fields named login, where a wrong code gets a 200 page or a
	// redirect. Default: false.
	AltReset bool

	// Log receives the app's log lines. Default: io.Discard.
	Log io.Writer

	// Now is the clock of code, token and session expiry. Default: time.Now.
	Now func() time.Time
}

// parseConfig parses the command-line arguments (without the program name).
// getenv supplies the environment fallbacks, and output receives usage and
// flag errors. It returns flag.ErrHelp for -h.
func parseConfig(args []string, getenv func(string) string, output io.Writer) (config, error) {
	fs := flag.NewFlagSet("legacyapp", flag.ContinueOnError)
	fs.SetOutput(output)

	var cfg config
	var secret string
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:9000",
		"TCP address (host:port) to listen on")
	fs.StringVar(&secret, "jwt-secret", "",
		"HMAC secret of the HS256 access tokens; falls back to $"+jwtSecretEnv+
			" (default: a fixed demo value, which is public and insecure)")
	fs.StringVar(&cfg.CookieName, "cookie", "session",
		"name of the session cookie")
	fs.StringVar(&cfg.AnonymousMe, "anonymous-me", anonymousStatus401,
		"answer of GET /api/me to anonymous visitors: 401 (401 JSON error), "+
			"zero (200 {\"id\":0}) or 204 (204, no body)")
	fs.StringVar(&cfg.ResetCodesFile, "reset-codes-file", "",
		"file that receives one JSON line per mailed code (default: none, codes are logged to stderr)")
	fs.BoolVar(&cfg.Echo, "echo", false,
		"serve GET /_echo, which answers the request's method, path and headers as JSON, and "+
			"GET /_echo/last?path=P, the last request to P with its body; they show cookies, "+
			"tokens and passwords, so use them in tests only")
	fs.BoolVar(&cfg.AltReset, "alt-reset", false,
		"serve a second password reset flow under /account/ with HTML forms: the address in "+
			"the field login, and wrong codes answered by a 200 page or a redirect")

	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q: legacyapp takes flags only", fs.Arg(0))
	}

	// The secret's default is resolved here rather than in the flag, so -h
	// never prints a secret taken from the environment.
	if secret == "" {
		secret = getenv(jwtSecretEnv)
	}
	if secret == "" {
		secret = demoJWTSecret
		cfg.DemoSecret = true
	}
	cfg.JWTSecret = []byte(secret)

	if err := cfg.validate(); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// validate checks the values that flags cannot check by type.
func (cfg config) validate() error {
	switch cfg.AnonymousMe {
	case anonymousStatus401, anonymousZeroID, anonymousStatus204:
	default:
		return fmt.Errorf("invalid -anonymous-me %q: use 401, zero or 204", cfg.AnonymousMe)
	}

	probe := http.Cookie{Name: cfg.CookieName, Value: "x"}
	if err := probe.Valid(); err != nil {
		return fmt.Errorf("invalid -cookie %q: %w", cfg.CookieName, err)
	}
	if cfg.CookieName == rememberCookieName {
		return errors.New("invalid -cookie \"remember\": that name is taken by the remember-me cookie")
	}
	if cfg.Listen == "" {
		return errors.New("missing -listen address")
	}
	return nil
}
