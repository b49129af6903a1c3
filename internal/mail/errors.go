package mail

import (
	"context"
	"errors"
	"net"
	"strings"
)

// ErrDelivery wraps every failure to hand a message to the SMTP server:
// connection refused or reset, timeout, TLS or STARTTLS failure, AUTH
// rejected, sender or recipient rejected. errors.Is also matches
// context.DeadlineExceeded when the delivery timed out, and
// context.Canceled when the caller's context was cancelled.
var ErrDelivery = errors.New("mail delivery failed")

// ErrTemplate wraps a template that is missing, cannot be parsed or lacks
// one of its blocks. New returns it with the file name, and Send returns it
// for a Kind that has no template or a template that fails to render.
var ErrTemplate = errors.New("mail template not found")

// ErrAddress wraps a recipient or sender address that cannot be parsed.
// Nothing is sent.
var ErrAddress = errors.New("invalid mail address")

// redacted replaces secrets in error text.
const redacted = "[redacted]"

// cleanError is an error whose text has had the secrets removed. It
// unwraps only to sentinel errors, never to the error it was made from, so
// no caller can reach the original text.
type cleanError struct {
	text    string
	wrapped []error
}

func (e *cleanError) Error() string   { return e.text }
func (e *cleanError) Unwrap() []error { return e.wrapped }

// redact replaces every non-empty secret in text with "[redacted]".
func redact(text string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, redacted)
		}
	}
	return text
}

// scrub returns err unchanged when its text contains no secret, else a
// copy with the secrets redacted that still matches ErrTemplate or
// ErrAddress under errors.Is.
func scrub(err error, secrets ...string) error {
	text := redact(err.Error(), secrets...)
	if text == err.Error() {
		return err
	}
	clean := &cleanError{text: text}
	for _, sentinel := range []error{ErrTemplate, ErrAddress, ErrDelivery} {
		if errors.Is(err, sentinel) {
			clean.wrapped = append(clean.wrapped, sentinel)
		}
	}
	return clean
}

// newDeliveryError describes a failure of op against the server at addr,
// wrapping ErrDelivery. The text of cause is kept with the secrets
// redacted. A network timeout counts as the context's deadline, because
// both are set to Config.Timeout and either may fire first.
func newDeliveryError(ctx context.Context, op, addr string, cause error, secrets ...string) error {
	text := redact(cause.Error(), secrets...)

	ctxErr := ctx.Err()
	var netErr net.Error
	if ctxErr == nil && errors.As(cause, &netErr) && netErr.Timeout() {
		ctxErr = context.DeadlineExceeded
	}
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		text = "timed out: " + text
	}

	err := &cleanError{
		text:    ErrDelivery.Error() + ": " + op + " via " + addr + ": " + text,
		wrapped: []error{ErrDelivery},
	}
	if ctxErr != nil {
		err.wrapped = append(err.wrapped, ctxErr)
	}
	return err
}
