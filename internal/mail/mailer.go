package mail

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Mailer renders and sends mails. It is safe for concurrent use: each Send
// opens a connection of its own.
type Mailer struct {
	cfg       settings
	templates catalog
	now       func() time.Time // the clock, replaced in tests
}

// New checks cfg and parses the templates, embedded or overridden from
// cfg.TemplatesDir, rendering each once with sample data. A template that
// is broken, lacks a block or has an unknown name fails with ErrTemplate
// and the file name. TLS "none" to a host that is not loopback is
// rejected.
func New(cfg Config) (*Mailer, error) {
	checked, err := cfg.check()
	if err != nil {
		return nil, fmt.Errorf("mail config: %w", err)
	}
	templates, err := loadCatalog(checked.TemplatesDir)
	if err != nil {
		return nil, fmt.Errorf("mail config: %w", err)
	}
	return &Mailer{cfg: checked, templates: templates, now: time.Now}, nil
}

// Send renders msg in its language and delivers it, within Config.Timeout
// or the deadline of ctx if that comes first. It returns an error wrapping
// ErrAddress for an invalid recipient, ErrTemplate for a Kind without a
// template, or ErrDelivery when the server could not be reached or did
// not accept the mail. Errors contain neither msg.Data.Code nor the
// password.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	lang := strings.ToLower(msg.Language)
	if !slices.Contains(Languages, lang) {
		lang = DefaultLanguage
	}
	set := m.templates[lang][msg.Kind]
	if set == nil {
		return fmt.Errorf("%w: no template for mail kind %q", ErrTemplate, msg.Kind)
	}

	data := msg.Data
	if data.Time.IsZero() {
		data.Time = m.now()
	}
	data.Time = data.Time.UTC()
	out, err := set.render(view{Data: data, Lang: lang})
	if err != nil {
		return scrub(err, data.Code, m.cfg.Password)
	}

	mail, err := m.compose(msg, lang, out)
	if err != nil {
		return scrub(err, data.Code, m.cfg.Password)
	}
	return m.deliver(ctx, mail, msg.Kind, data.Code)
}

// compose builds the MIME message: a text and an HTML part as
// multipart/alternative, with the headers of an automatic mail.
func (m *Mailer) compose(msg Message, lang string, out rendered) (*gomail.Msg, error) {
	mail := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := mail.From(m.cfg.From); err != nil {
		return nil, fmt.Errorf("%w: sender %q: %v", ErrAddress, m.cfg.From, err)
	}
	if err := mail.To(msg.To); err != nil {
		return nil, fmt.Errorf("%w: recipient %q: %v", ErrAddress, msg.To, err)
	}
	mail.Subject(out.subject)
	mail.SetDateWithValue(m.now())
	mail.SetMessageID()
	// Auto-Submitted (RFC 3834) marks the mail as automatic, so that
	// vacation responders and other robots do not reply to it.
	mail.SetGenHeader("Auto-Submitted", "auto-generated")
	mail.SetGenHeader(gomail.HeaderContentLang, lang)
	mail.SetBodyString(gomail.TypeTextPlain, out.text)
	mail.AddAlternativeString(gomail.TypeTextHTML, out.html)
	return mail, nil
}
