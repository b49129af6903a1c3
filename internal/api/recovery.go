package api

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	mailer "github.com/caddy-twofactor/caddy-twofactor/internal/mail"
	"github.com/caddy-twofactor/caddy-twofactor/internal/metrics"
	"github.com/caddy-twofactor/caddy-twofactor/internal/otp"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

const badRecoveryCode = "recoveryCode must be a string of 16 characters " +
	"from the recovery code alphabet (spaces and dashes are ignored)"

// recoveryMAC returns the HMAC a recovery code is kept as, bound to its user.
func (s *Server) recoveryMAC(userID, code string) string {
	return s.Keys.Current.MAC("recovery code", userID, code)
}

// newRecoveryCodes replaces u's recovery codes and returns them.
func (s *Server) newRecoveryCodes(u *account.User) ([]string, error) {
	codes, err := otp.NewRecoveryCodes(s.Random)
	if err != nil {
		return nil, err
	}
	macs := make([]string, len(codes))
	for i, code := range codes {
		macs[i] = s.recoveryMAC(u.ID, code)
	}
	u.Recovery = &account.Recovery{MACs: macs, CompletedAt: s.Now()}
	return codes, nil
}

// recoveryCodesOnEnable returns the codes an enable responds with: a new
// set for the first method, else [] and the set stays.
func (s *Server) recoveryCodesOnEnable(u *account.User, wasEnabled bool) ([]string, error) {
	if wasEnabled && u.Recovery != nil {
		return []string{}, nil
	}
	return s.newRecoveryCodes(u)
}

func (s *Server) recoveryAuthenticate(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	fields, e := DecodeFields(body, "recoveryCode")
	if e != nil {
		return e
	}
	v, e := s.AuthenticateRecoveryCode(r, c, fields["recoveryCode"])
	if e != nil {
		return e
	}
	s.writeVerified(w, c, v)
	return nil
}

// AuthenticateRecoveryCode consumes one of the caller's recovery codes
// (input as the user typed it) and on success verifies the caller's
// session. The caller sets the module cookie from the result.
func (s *Server) AuthenticateRecoveryCode(r *http.Request, c *Caller, input string) (*Verification, *Error) {
	code, ok := otp.NormalizeRecoveryCode(input)
	if !ok {
		return nil, BadRequest(badRecoveryCode)
	}
	var v *Verification
	var apiErr *Error
	var remaining int
	var notifyTo string
	err := s.Sessions.UpdateUser(c.UserID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, c.UserID)
		if err != nil {
			return err
		}
		if !u.Enabled() || u.Recovery == nil {
			apiErr = NewError(http.StatusConflict, CodeRecoveryUninitialized)
			return nil
		}
		notifyTo = emailOf(u)
		now := s.Now()
		guess := u.Guess(account.MethodRecoveryCode)
		if wait := guess.Wait(now); wait > 0 {
			apiErr = TooMany(CodeTooManyRecoveryChecks, wait)
			return nil
		}
		match := -1
		for i, mac := range u.Recovery.MACs {
			if s.Keys.MatchMAC(mac, "recovery code", u.ID, code) {
				match = i
			}
		}
		if match < 0 {
			guess.Fail(now)
			apiErr = NewError(http.StatusUnauthorized, CodeRecoveryCodeInvalid)
			return s.saveFailed(tx, u, c, account.MethodRecoveryCode, apiErr)
		}
		guess.Succeed()
		u.Recovery.MACs = append(u.Recovery.MACs[:match], u.Recovery.MACs[match+1:]...)
		remaining = len(u.Recovery.MACs)
		if err := account.SaveUser(tx, u); err != nil {
			return err
		}
		v, err = s.verifySession(tx, c, account.MethodRecoveryCode)
		return err
	})
	if err != nil {
		return nil, s.storeError(err)
	}
	if apiErr != nil {
		s.logRejected(c, account.MethodRecoveryCode, apiErr)
		return nil, apiErr
	}
	s.Metrics.SecondFactor(account.MethodRecoveryCode, metrics.OutcomeSuccess)
	s.Logger.Info("second factor passed", zap.String("user", c.UserID),
		zap.String("method", account.MethodRecoveryCode), zap.Int("recovery_codes_left", remaining),
		zap.String("client_ip", c.ClientIP))
	s.notify(r, c, notifyTo, mailer.KindRecoveryCodeUsed, account.MethodRecoveryCode, remaining)
	return v, nil
}

func (s *Server) recoveryNextGuess(w http.ResponseWriter, r *http.Request, c *Caller, _ []byte) *Error {
	return s.nextGuess(w, c, account.MethodRecoveryCode, func(u *account.User) *Error {
		if !u.Enabled() || u.Recovery == nil {
			return NewError(http.StatusConflict, CodeRecoveryUninitialized)
		}
		return nil
	})
}

func (s *Server) recoveryReset(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	if _, e := DecodeFields(body); e != nil {
		return e
	}
	codes, e := s.ResetRecoveryCodes(r, c)
	if e != nil {
		return e
	}
	WriteJSON(w, enableResponse{RecoveryCodes: codes})
	return nil
}

// ResetRecoveryCodes replaces the caller's recovery codes with a new set
// and returns it. It needs 2FA on and the caller's sudo token, minted by
// TOTP or a recovery code while TOTP is active, and ends every other
// session of the user.
func (s *Server) ResetRecoveryCodes(r *http.Request, c *Caller) ([]string, *Error) {
	var codes []string
	notifyTo, e := s.changeFactor(c, account.AuditRecoveryCodesReset, account.MethodRecoveryCode,
		func(u *account.User) (*Error, error) {
			if !u.Enabled() {
				return NewError(http.StatusConflict, Code2FAIsDisabled), nil
			}
			if e := requireSudo(u, c, true); e != nil {
				return e, nil
			}
			var err error
			codes, err = s.newRecoveryCodes(u)
			return nil, err
		})
	if e != nil {
		return nil, e
	}
	s.Logger.Info("recovery codes reset", zap.String("user", c.UserID), zap.String("client_ip", c.ClientIP))
	s.notify(r, c, notifyTo, mailer.KindCodesRegenerated, account.MethodRecoveryCode, len(codes))
	return codes, nil
}
