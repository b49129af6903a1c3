package api

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/metrics"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// audit appends an event about the caller to the audit log, inside tx.
func (s *Server) audit(tx store.Tx, c *Caller, event, method, outcome string) error {
	return account.AppendAudit(tx, account.AuditEvent{
		Time:     s.Now(),
		User:     c.UserID,
		Event:    event,
		Method:   method,
		Outcome:  outcome,
		ClientIP: c.ClientIP,
	})
}

// saveFailed saves u after a rejected guess, whose counter the check
// updated, and audits a counted failure. A guess made too early (429)
// counted nothing and is not audited, so an attacker hammering a locked
// method cannot grow the audit log.
func (s *Server) saveFailed(tx store.Tx, u *account.User, c *Caller, method string, e *Error) error {
	if err := account.SaveUser(tx, u); err != nil {
		return err
	}
	if e.Status == http.StatusTooManyRequests {
		return nil
	}
	return s.audit(tx, c, account.AuditSecondFactorFailed, method, outcomeOf(e))
}

// outcomeOf names the outcome of a rejected guess for the audit log.
func outcomeOf(e *Error) string {
	if e.Message == CodeTOTPAlreadyUsed {
		return "replayed"
	}
	return account.OutcomeFailure
}

// passed logs and counts a second factor that passed.
func (s *Server) passed(c *Caller, method string) {
	s.Metrics.SecondFactor(method, metrics.OutcomeSuccess)
	s.Logger.Info("second factor passed", zap.String("user", c.UserID),
		zap.String("method", method), zap.String("client_ip", c.ClientIP))
}

// logRejected logs and counts a failed second factor, without the code.
func (s *Server) logRejected(c *Caller, method string, e *Error) {
	outcome := metrics.OutcomeFailure
	if e.Status == http.StatusTooManyRequests {
		outcome = metrics.OutcomeThrottled
	}
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusTooManyRequests {
		s.Metrics.SecondFactor(method, outcome)
	}
	s.Logger.Warn("second factor rejected", zap.String("user", c.UserID),
		zap.String("method", method), zap.String("client_ip", c.ClientIP),
		zap.String("message", e.Message))
}
