package api

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	mailer "github.com/caddy-twofactor/caddy-twofactor/internal/mail"
	"github.com/caddy-twofactor/caddy-twofactor/internal/otp"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// Guess counters of the second factor sent with a password reset. They are
// apart from the login counters of the same methods, so guesses on the
// anonymous reset route never lock the user out of logging in, and the
// other way round.
const (
	ResetTOTPCounter         = "reset:totp"
	ResetRecoveryCodeCounter = "reset:recoveryCode"
)

// CheckResetFactor checks the second factor that a password reset for
// c.UserID sends: method is account.MethodTOTP or
// account.MethodRecoveryCode, input the code as the user typed it. The
// check and its consumption happen in one transaction: a valid TOTP step
// counts as used, a valid recovery code is removed. It verifies no session
// and mints no sudo token, because the reset ends every session anyway.
// c.Email is the reset's address, for the notice of a used recovery code.
func (s *Server) CheckResetFactor(r *http.Request, c *Caller, method, input string) *Error {
	var check func(u *account.User) *Error
	switch method {
	case account.MethodTOTP:
		if !otp.IsSixDigits(input) {
			return BadRequest(badTOTP)
		}
		check = func(u *account.User) *Error { return s.checkResetTOTP(u, input) }
	case account.MethodRecoveryCode:
		code, ok := otp.NormalizeRecoveryCode(input)
		if !ok {
			return BadRequest(badRecoveryCode)
		}
		check = func(u *account.User) *Error { return s.checkResetRecovery(u, code) }
	default:
		return BadRequest("the second factor must be totp or recoveryCode")
	}

	var apiErr *Error
	remaining := -1
	var notifyTo string
	err := s.Sessions.UpdateUser(c.UserID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, c.UserID)
		if err != nil {
			return err
		}
		notifyTo = emailOf(u)
		apiErr = check(u)
		if apiErr == nil && method == account.MethodRecoveryCode {
			remaining = len(u.Recovery.MACs)
		}
		if apiErr != nil && apiErr.Status != http.StatusUnauthorized {
			return nil // a 401 counted a failure; other errors changed nothing
		}
		if apiErr != nil {
			return s.saveFailed(tx, u, c, method, apiErr)
		}
		if err := account.SaveUser(tx, u); err != nil {
			return err
		}
		return s.audit(tx, c, account.AuditSecondFactorPassed, method, "password_reset")
	})
	if err != nil {
		return s.storeError(err)
	}
	if apiErr != nil {
		s.logRejected(c, method, apiErr)
		return apiErr
	}
	s.Logger.Info("second factor passed for a password reset", zap.String("user", c.UserID),
		zap.String("method", method), zap.String("client_ip", c.ClientIP))
	if remaining >= 0 {
		s.notify(r, c, notifyTo, mailer.KindRecoveryCodeUsed, account.MethodRecoveryCode, remaining)
	}
	return nil
}

// checkResetTOTP checks code against u's active TOTP enrolment on the
// reset counter and marks its time step used. The caller saves u.
func (s *Server) checkResetTOTP(u *account.User, code string) *Error {
	if u.TOTP == nil {
		return NewError(http.StatusConflict, CodeTOTPUninitialized)
	}
	now := s.Now()
	guess := u.Guess(ResetTOTPCounter)
	if wait := guess.Wait(now); wait > 0 {
		return TooMany(CodeTooManyTOTPChecks, wait)
	}
	secret, err := s.Keys.Open(u.TOTP.SealedSecret, totpAD(u.ID))
	if err != nil {
		return NewError(http.StatusInternalServerError, CodeTOTPCorrupt)
	}
	step, result := otp.CheckTOTP(secret, code, now, u.TOTP.Skew, u.TOTP.LastStep)
	switch result {
	case otp.TOTPValid:
		guess.Succeed()
		u.TOTP.LastStep = step
		return nil
	case otp.TOTPAlreadyUsed:
		return NewError(http.StatusUnauthorized, CodeTOTPAlreadyUsed)
	default:
		guess.Fail(now)
		return NewError(http.StatusUnauthorized, CodeTOTPInvalid)
	}
}

// checkResetRecovery checks a normalised recovery code of u on the reset
// counter and removes it when it matches. The caller saves u.
func (s *Server) checkResetRecovery(u *account.User, code string) *Error {
	if !u.Enabled() || u.Recovery == nil {
		return NewError(http.StatusConflict, CodeRecoveryUninitialized)
	}
	now := s.Now()
	guess := u.Guess(ResetRecoveryCodeCounter)
	if wait := guess.Wait(now); wait > 0 {
		return TooMany(CodeTooManyRecoveryChecks, wait)
	}
	match := -1
	for i, mac := range u.Recovery.MACs {
		if s.Keys.MatchMAC(mac, "recovery code", u.ID, code) {
			match = i
		}
	}
	if match < 0 {
		guess.Fail(now)
		return NewError(http.StatusUnauthorized, CodeRecoveryCodeInvalid)
	}
	guess.Succeed()
	u.Recovery.MACs = append(u.Recovery.MACs[:match], u.Recovery.MACs[match+1:]...)
	return nil
}
