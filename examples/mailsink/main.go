// Command mailsink is the SMTP server of the caddy-twofactor demo and
// tests. It accepts every mail sent to it on a loopback address, without
// AUTH or TLS, keeps the last 100 in memory and shows them over HTTP, so
// the email codes of the demo can be read in a browser. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is the sink's settings, filled from the command line.
type config struct {
	// SMTPAddr is the loopback host:port of the SMTP server.
	// Default: 127.0.0.1:2525.
	SMTPAddr string
	// HTTPAddr is the loopback host:port of the web page and JSON list.
	// Default: 127.0.0.1:8025.
	HTTPAddr string
}

// parseConfig parses the command-line arguments (without the program
// name). Help and usage errors go to output.
func parseConfig(args []string, output io.Writer) (config, error) {
	var cfg config
	flags := flag.NewFlagSet("mailsink", flag.ContinueOnError)
	flags.SetOutput(output)
	flags.StringVar(&cfg.SMTPAddr, "smtp", "127.0.0.1:2525", "loopback `host:port` of the SMTP server")
	flags.StringVar(&cfg.HTTPAddr, "http", "127.0.0.1:8025", "loopback `host:port` of the web page")
	if err := flags.Parse(args); err != nil {
		return config{}, err
	}
	if flags.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	return cfg, nil
}

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mailsink:", err)
		os.Exit(2)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(cfg, logger); err != nil {
		fmt.Fprintln(os.Stderr, "mailsink:", err)
		os.Exit(1)
	}
}

// run serves until SIGINT or SIGTERM.
func run(cfg config, logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	s, err := startSink(cfg, logger)
	if err != nil {
		return err
	}
	// Printed on stdout, so scripts can read the actual addresses when
	// they pass port 0.
	fmt.Printf("SMTP on %s\n", s.SMTPAddr())
	fmt.Printf("HTTP on http://%s/\n", s.HTTPAddr())

	select {
	case err := <-s.done:
		s.close(context.Background())
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.close(shutdownCtx)
	logger.Info("stopped")
	return nil
}
