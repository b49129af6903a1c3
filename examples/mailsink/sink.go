package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/mail"
	"github.com/emersion/go-smtp"
)

// Limits of the SMTP server. The sink is for a demo, so they only keep a
// runaway client from filling the memory.
const (
	maxMessageBytes = 10 << 20 // 10 MiB per mail
	maxRecipients   = 50
	smtpIOTimeout   = time.Minute
)

// sink is a running SMTP server and web server that share one store.
type sink struct {
	store *store
	smtp  *smtp.Server
	http  *http.Server

	smtpListener net.Listener
	httpListener net.Listener
	done         chan error // receives the first serving error
}

// startSink listens on both addresses and serves in the background. It
// rejects an address that is not loopback, because the sink accepts mail
// from anyone who can reach it and shows every mail to anyone.
func startSink(cfg config, logger *slog.Logger) (*sink, error) {
	smtpListener, err := listenLoopback("SMTP", cfg.SMTPAddr)
	if err != nil {
		return nil, err
	}
	httpListener, err := listenLoopback("HTTP", cfg.HTTPAddr)
	if err != nil {
		smtpListener.Close()
		return nil, err
	}

	s := &sink{
		store:        newStore(maxMessages),
		smtpListener: smtpListener,
		httpListener: httpListener,
		done:         make(chan error, 2),
	}
	s.smtp = newSMTPServer(s.store, logger)
	s.http = &http.Server{
		Handler:           newWebHandler(s.store),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	go func() {
		// Serve returns nil after Close.
		if err := s.smtp.Serve(smtpListener); err != nil {
			s.done <- err
		}
	}()
	go func() {
		if err := s.http.Serve(httpListener); !errors.Is(err, http.ErrServerClosed) {
			s.done <- err
		}
	}()
	return s, nil
}

// SMTPAddr returns the address the SMTP server listens on.
func (s *sink) SMTPAddr() string { return s.smtpListener.Addr().String() }

// HTTPAddr returns the address the web server listens on.
func (s *sink) HTTPAddr() string { return s.httpListener.Addr().String() }

// close stops both servers, waiting for open HTTP requests until ctx ends.
func (s *sink) close(ctx context.Context) {
	s.smtp.Close()
	s.http.Shutdown(ctx)
}

// listenLoopback listens on addr after checking that its host is loopback,
// and checks again what a name like "localhost" resolved to.
func listenLoopback(service, addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("invalid %s address %q: want host:port, for example 127.0.0.1:2525", service, addr)
	}
	if !mail.IsLoopbackHost(host) {
		return nil, fmt.Errorf("%s address %s is not loopback: the sink accepts and shows mail "+
			"without any login, so it listens only on 127.0.0.1, ::1 or localhost", service, addr)
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for %s on %s: %w", service, addr, err)
	}
	bound, err := netip.ParseAddrPort(ln.Addr().String())
	if err != nil || !bound.Addr().Unmap().IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("%s address %s resolved to %s, which is not loopback", service, addr, ln.Addr())
	}
	return ln, nil
}

// newSMTPServer returns a go-smtp server that stores every mail it
// accepts. It offers neither AUTH nor STARTTLS.
func newSMTPServer(st *store, logger *slog.Logger) *smtp.Server {
	server := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{store: st, logger: logger}, nil
	}))
	server.Domain = "localhost"
	server.MaxMessageBytes = maxMessageBytes
	server.MaxRecipients = maxRecipients
	server.ReadTimeout = smtpIOTimeout
	server.WriteTimeout = smtpIOTimeout
	server.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	return server
}
