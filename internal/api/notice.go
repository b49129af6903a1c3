package api

import (
	"context"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	mailer "github.com/caddy-twofactor/caddy-twofactor/internal/mail"
	"github.com/caddy-twofactor/caddy-twofactor/internal/metrics"
)

// noticeTimeout bounds the delivery of one notice, which runs after the
// response is on its way.
const noticeTimeout = 30 * time.Second

// notify mails a security notice to the account address: the identity's
// email, else fallback (the email OTP address). It runs after the change
// is committed, in the background, so it outlives a config reload. It is
// best effort: a failure is logged and changes nothing, and a notice still
// under way when the Caddy process exits is lost.
func (s *Server) notify(r *http.Request, c *Caller, fallback string, kind mailer.Kind, method string, remaining int) {
	if s.Mailer == nil {
		return
	}
	to := c.Email
	if to == "" {
		to = fallback
	}
	if to == "" {
		return
	}
	msg := mailer.Message{
		To:       to,
		Kind:     kind,
		Language: requestLanguage(r),
		Data: mailer.Data{
			Site:      s.site(r),
			Method:    method,
			Time:      s.Now().UTC(),
			ClientIP:  c.ClientIP,
			Remaining: remaining,
		},
	}
	sender := s.Mailer
	s.notices.Add(1)
	go func() {
		defer s.notices.Done()
		ctx, cancel := context.WithTimeout(context.Background(), noticeTimeout)
		defer cancel()
		if err := sender.Send(ctx, msg); err != nil {
			s.Metrics.Mail(metrics.MailKindNotice, metrics.MailFailed)
			s.Logger.Error("sending notice failed", zap.Error(err), zap.String("user", c.UserID),
				zap.String("kind", string(kind)))
			return
		}
		s.Metrics.Mail(metrics.MailKindNotice, metrics.MailSent)
	}()
}

// WaitNotices blocks until every notice under way is sent or has failed.
func (s *Server) WaitNotices() {
	s.notices.Wait()
}

// site names the site in mails: the configured issuer, else the host.
func (s *Server) site(r *http.Request) string {
	if s.Config.Issuer != "" {
		return s.Config.Issuer
	}
	return hostname(r.Host)
}

// emailOf returns the user's email OTP address, the fallback address of
// notices when the identity source gives no email.
func emailOf(u *account.User) string {
	if u.EmailOTP != nil {
		return u.EmailOTP.Email
	}
	return ""
}
