// Command legacyapp is a small web app with password login and no second
// factor. The caddy-twofactor demo and end-to-end tests run it behind Caddy
// with the twofactor handler. It keeps all state in memory and has three
// fixed users; see README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "legacyapp:", err)
		os.Exit(2)
	}
	cfg.Log = os.Stderr

	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "legacyapp:", err)
		os.Exit(1)
	}
}

// run serves the app until SIGINT or SIGTERM.
func run(cfg config) error {
	logger := slog.New(slog.NewTextHandler(cfg.Log, nil))
	if cfg.DemoSecret {
		logger.Warn("signing access tokens with the public demo secret; set -jwt-secret or " + jwtSecretEnv)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           newServer(cfg),
		ReadHeaderTimeout: 10 * time.Second,
	}
	// The actual address matters with port 0, which tests use.
	logger.Info("listening", "addr", ln.Addr().String())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	logger.Info("stopped")
	return nil
}
