package main

import (
	"bytes"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/emersion/go-smtp"
)

// session is one SMTP connection. It accepts any sender and recipient.
type session struct {
	store  *store
	logger *slog.Logger
	from   string
	to     []string
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

// Data stores the mail. go-smtp has already enforced maxMessageBytes.
func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	subject, text := parseMessage(bytes.NewReader(raw))
	msg := s.store.add(message{
		Time:    time.Now().UTC(),
		From:    s.from,
		To:      slices.Clone(s.to),
		Subject: subject,
		Text:    text,
		Raw:     raw,
	})
	// The text is left out because it holds the codes.
	s.logger.Info("mail received", "id", msg.ID, "from", msg.From, "to", msg.To, "subject", msg.Subject)
	return nil
}

// Reset clears the envelope, as RSET and the end of a mail require.
func (s *session) Reset() {
	s.from, s.to = "", nil
}

func (s *session) Logout() error { return nil }
