package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// Kinds of mailed codes, the "kind" field of a codes-file line.
const (
	mailKindReset         = "reset"
	mailKindEmailTransfer = "email-transfer"
)

// mailedCode is one line of the codes file.
type mailedCode struct {
	Kind  string `json:"kind"`
	Email string `json:"email"`
	Code  string `json:"code"`
}

// mailer replaces the app's mail server. With a path it appends one JSON
// line per code to that file, where tests and the demo read the codes.
type mailer struct {
	path string
	log  *slog.Logger

	mu sync.Mutex // serialises appends, so lines never interleave
}

// send "mails" a code to an address.
func (m *mailer) send(kind, email, code string) error {
	if m.path == "" {
		// This is a demo app without a mail server, so the log is the
		// mailbox and prints the code. A real app must never log a code.
		m.log.Info("mail not sent, demo app", "kind", kind, "email", email, "code", code)
		return nil
	}

	line, err := json.Marshal(mailedCode{Kind: kind, Email: email, Code: code})
	if err != nil {
		return fmt.Errorf("encoding %s mail: %w", kind, err)
	}
	line = append(line, '\n')

	m.mu.Lock()
	defer m.mu.Unlock()

	f, err := os.OpenFile(m.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening codes file: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("writing codes file %s: %w", m.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing codes file %s: %w", m.path, err)
	}
	return nil
}
