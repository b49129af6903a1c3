package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	mailer "github.com/caddy-twofactor/caddy-twofactor/internal/mail"
	"github.com/caddy-twofactor/caddy-twofactor/internal/metrics"
	"github.com/caddy-twofactor/caddy-twofactor/internal/otp"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

// Email OTP limits. The send limits keep the module from flooding a
// mailbox, whoever asks for the mails.
const (
	emailCodeTTL        = 10 * time.Minute
	emailSendInterval   = 60 * time.Second // per user
	emailSendsPerHour   = 10               // per user
	addressSendsPerHour = 10               // per destination address
	maxAddressLength    = 254              // RFC 5321 path limit
)

const (
	badOTP   = "otp must be a string of 6 digits"
	badEmail = "email must be one email address, such as name@example.com"
)

// Mailer delivers mail; *mail.Mailer implements it.
type Mailer interface {
	Send(ctx context.Context, msg mailer.Message) error
}

// FoldAddress returns the form addresses are compared in: trimmed and
// case-folded.
func FoldAddress(address string) string {
	return account.FoldEmail(address)
}

// parseAddress accepts one bare address (no display name, no list).
func parseAddress(input string) (string, bool) {
	input = strings.TrimSpace(input)
	if input == "" || len(input) > maxAddressLength || strings.ContainsAny(input, "<>,;\r\n") {
		return "", false
	}
	parsed, err := mail.ParseAddress(input)
	if err != nil || parsed.Name != "" || parsed.Address != input || !strings.Contains(input, "@") {
		return "", false
	}
	return input, true
}

// emailCodeMAC binds a code to its user, purpose and address.
func (s *Server) emailCodeMAC(userID, purpose, address, code string) string {
	return s.Keys.Current.MAC("email code", userID, purpose, FoldAddress(address), code)
}

func (s *Server) emailSetup(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	fields, e := DecodeFields(body, "email")
	if e != nil {
		return e
	}
	address, ok := parseAddress(fields["email"])
	if !ok {
		return BadRequest(badEmail)
	}
	if e := s.SendEmailCode(r, c, account.PurposeSetup, address); e != nil {
		return e
	}
	WriteJSON(w, nil)
	return nil
}

func (s *Server) emailChallenge(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	if _, e := DecodeFields(body); e != nil {
		return e
	}
	if e := s.SendEmailCode(r, c, account.PurposeChallenge, ""); e != nil {
		return e
	}
	WriteJSON(w, nil)
	return nil
}

// SendEmailCode mails a new code for purpose: for setup to address, for a
// challenge to the active email OTP address. The send slots are reserved
// before the mail goes out and given back when delivery fails, so a failed
// delivery consumes nothing, replaces no code and starts no cool-down.
func (s *Server) SendEmailCode(r *http.Request, c *Caller, purpose, address string) *Error {
	if s.Mailer == nil {
		return NewError(http.StatusServiceUnavailable, CodeMailDeliveryFailed)
	}
	now := s.Now()
	var apiErr *Error
	err := s.Sessions.UpdateUser(c.UserID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, c.UserID)
		if err != nil {
			return err
		}
		if purpose == account.PurposeSetup {
			apiErr = requireSudoIfActive(u, c, true)
		} else if u.EmailOTP == nil {
			apiErr = NewError(http.StatusConflict, CodeEmailOTPInactive)
		} else {
			address = u.EmailOTP.Email
		}
		if apiErr != nil {
			return nil
		}
		apiErr, err = s.reserveSend(tx, u, address, now)
		return err
	})
	if err != nil {
		return s.storeError(err)
	}
	if apiErr != nil {
		return apiErr
	}

	code, err := otp.NewEmailCode(s.Random)
	if err == nil {
		err = s.mailCode(r, c, purpose, address, code, now)
	}
	if err != nil {
		s.Metrics.Mail(metrics.MailKindCode, metrics.MailFailed)
		return s.cancelSend(c, address, now, err)
	}
	s.Metrics.Mail(metrics.MailKindCode, metrics.MailSent)

	err = s.Sessions.UpdateUser(c.UserID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, c.UserID)
		if err != nil {
			return err
		}
		u.EmailCode = &account.EmailCode{
			MAC:     s.emailCodeMAC(c.UserID, purpose, address, code),
			Purpose: purpose,
			Email:   address,
			Expires: now.Add(emailCodeTTL),
		}
		return account.SaveUser(tx, u)
	})
	if err != nil {
		return s.storeError(err)
	}
	s.Logger.Info("email code sent", zap.String("user", c.UserID), zap.String("purpose", purpose),
		zap.String("client_ip", c.ClientIP))
	return nil
}

// reserveSend takes a send slot of the user and of the address.
func (s *Server) reserveSend(tx store.Tx, u *account.User, address string, now time.Time) (*Error, error) {
	if wait := u.EmailSends.Wait(now, emailSendInterval, emailSendsPerHour); wait > 0 {
		return TooMany(CodeTooManyOTPEmails, wait), nil
	}
	dest, err := loadSends(tx, address)
	if err != nil {
		return nil, err
	}
	if wait := dest.Wait(now, 0, addressSendsPerHour); wait > 0 {
		return TooMany(CodeTooManyOTPEmails, wait), nil
	}
	u.EmailSends.Record(now)
	dest.Record(now)
	if err := saveSends(tx, address, dest, now); err != nil {
		return nil, err
	}
	return nil, account.SaveUser(tx, u)
}

// cancelSend gives back the slots reserveSend took and maps the failure.
func (s *Server) cancelSend(c *Caller, address string, at time.Time, cause error) *Error {
	err := s.Sessions.UpdateUser(c.UserID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, c.UserID)
		if err != nil {
			return err
		}
		u.EmailSends.Cancel(at)
		if address == "" && u.EmailOTP != nil {
			address = u.EmailOTP.Email
		}
		dest, err := loadSends(tx, address)
		if err != nil {
			return err
		}
		dest.Cancel(at)
		if err := saveSends(tx, address, dest, at); err != nil {
			return err
		}
		return account.SaveUser(tx, u)
	})
	if err != nil {
		s.Logger.Error("giving back a mail send slot failed", zap.Error(err), zap.String("user", c.UserID))
	}
	if errors.Is(cause, mailer.ErrTemplate) {
		s.Logger.Error("mail template missing", zap.Error(cause))
		return NewError(http.StatusInternalServerError, CodeMailTemplateMissing)
	}
	s.Logger.Error("mail delivery failed", zap.Error(cause), zap.String("user", c.UserID),
		zap.String("client_ip", c.ClientIP))
	return NewError(http.StatusServiceUnavailable, CodeMailDeliveryFailed)
}

func (s *Server) mailCode(r *http.Request, c *Caller, purpose, address, code string, now time.Time) error {
	kind := mailer.KindSetupCode
	if purpose == account.PurposeChallenge {
		kind = mailer.KindChallengeCode
	}
	return s.Mailer.Send(r.Context(), mailer.Message{
		To:       address,
		Kind:     kind,
		Language: requestLanguage(r),
		Data: mailer.Data{
			Code:         code,
			ValidMinutes: int(emailCodeTTL / time.Minute),
			Site:         s.site(r),
			Time:         now.UTC(),
			ClientIP:     c.ClientIP,
		},
	})
}

func requestLanguage(r *http.Request) string {
	return mailer.Language(r.URL.Query().Get("language"), r.Header.Get("Accept-Language"))
}

func loadSends(tx store.Tx, address string) (*throttle.SendWindow, error) {
	w := &throttle.SendWindow{}
	raw, err := tx.Get(store.BucketSends, FoldAddress(address))
	if err != nil || raw == nil {
		return w, err
	}
	if err := json.Unmarshal(raw, w); err != nil {
		return &throttle.SendWindow{}, nil
	}
	return w, nil
}

func saveSends(tx store.Tx, address string, w *throttle.SendWindow, now time.Time) error {
	raw, err := json.Marshal(w)
	if err != nil {
		return err
	}
	return tx.Put(store.BucketSends, FoldAddress(address), raw, now.Add(time.Hour))
}
