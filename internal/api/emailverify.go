package api

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	mailer "github.com/caddy-twofactor/caddy-twofactor/internal/mail"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

func (s *Server) emailEnable(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	code, e := decodeCode(body, "otp", badOTP)
	if e != nil {
		return e
	}
	codes, v, e := s.EnableEmailOTP(r, c, code)
	if e != nil {
		return e
	}
	s.SetModuleCookie(w, c, v)
	WriteJSON(w, enableResponse{RecoveryCodes: codes})
	return nil
}

// EnableEmailOTP activates the address a setup code was mailed to and
// verifies the caller's session.
func (s *Server) EnableEmailOTP(r *http.Request, c *Caller, code string) ([]string, *Verification, *Error) {
	var codes []string
	var v *Verification
	var apiErr *Error
	var address string
	err := s.Sessions.UpdateUser(c.UserID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, c.UserID)
		if err != nil {
			return err
		}
		if u.EmailCode == nil || u.EmailCode.Purpose != account.PurposeSetup {
			apiErr = NewError(http.StatusConflict, CodeEmailOTPUninitialized)
			return nil
		}
		if apiErr = s.checkEmailCode(u, account.PurposeSetup, code); apiErr != nil {
			return s.saveFailed(tx, u, c, account.MethodEmailOTP, apiErr)
		}
		address = u.EmailCode.Email
		reset := u.EmailOTP != nil
		wasEnabled := u.Enabled()
		u.EmailOTP = &account.EmailOTP{Email: address, CompletedAt: s.Now()}
		u.EmailCode = nil
		if codes, err = s.recoveryCodesOnEnable(u, wasEnabled); err != nil {
			return err
		}
		if err := account.SaveUser(tx, u); err != nil {
			return err
		}
		// The password reset guard finds the user by this address too.
		if err := account.IndexEmailIfAbsent(tx, u.ID, address); err != nil {
			return err
		}
		if reset {
			if err := s.revokeOthers(tx, c); err != nil {
				return err
			}
		}
		if err := s.audit(tx, c, account.AuditEmailOTPEnabled, account.MethodEmailOTP,
			account.OutcomeSuccess); err != nil {
			return err
		}
		v, err = s.verifySession(tx, c, account.MethodEmailOTP)
		return err
	})
	if err != nil {
		return nil, nil, s.storeError(err)
	}
	if apiErr != nil {
		s.logRejected(c, account.MethodEmailOTP, apiErr)
		return nil, nil, apiErr
	}
	s.Logger.Info("email OTP enabled", zap.String("user", c.UserID), zap.String("client_ip", c.ClientIP))
	s.notify(r, c, address, mailer.KindMethodEnabled, account.MethodEmailOTP, 0)
	return codes, v, nil
}

func (s *Server) emailAuthenticate(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	code, e := decodeCode(body, "otp", badOTP)
	if e != nil {
		return e
	}
	v, e := s.AuthenticateEmailOTP(c, code)
	if e != nil {
		return e
	}
	s.writeVerified(w, c, v)
	return nil
}

// AuthenticateEmailOTP checks a mailed challenge code and on success
// verifies the caller's session.
func (s *Server) AuthenticateEmailOTP(c *Caller, code string) (*Verification, *Error) {
	var v *Verification
	var apiErr *Error
	err := s.Sessions.UpdateUser(c.UserID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, c.UserID)
		if err != nil {
			return err
		}
		if u.EmailOTP == nil {
			apiErr = NewError(http.StatusConflict, CodeEmailOTPInactive)
			return nil
		}
		if apiErr = s.checkEmailCode(u, account.PurposeChallenge, code); apiErr != nil {
			return s.saveFailed(tx, u, c, account.MethodEmailOTP, apiErr)
		}
		u.EmailCode = nil
		if err := account.SaveUser(tx, u); err != nil {
			return err
		}
		v, err = s.verifySession(tx, c, account.MethodEmailOTP)
		return err
	})
	if err != nil {
		return nil, s.storeError(err)
	}
	if apiErr != nil {
		s.logRejected(c, account.MethodEmailOTP, apiErr)
		return nil, apiErr
	}
	s.passed(c, account.MethodEmailOTP)
	return v, nil
}

// checkEmailCode takes a guess slot of the email OTP counter and checks
// code against the pending code of purpose, which for a challenge must
// also be bound to the active address. The caller saves u whatever the
// outcome, in the same transaction.
func (s *Server) checkEmailCode(u *account.User, purpose, code string) *Error {
	now := s.Now()
	guess := u.Guess(account.MethodEmailOTP)
	if wait := guess.Wait(now); wait > 0 {
		return TooMany(CodeTooManyEmailOTPChecks, wait)
	}
	pending := u.EmailCode
	valid := pending != nil && pending.Purpose == purpose && now.Before(pending.Expires) &&
		(purpose != account.PurposeChallenge || FoldAddress(pending.Email) == FoldAddress(u.EmailOTP.Email))
	if valid {
		valid = s.Keys.MatchMAC(pending.MAC, "email code", u.ID, purpose, FoldAddress(pending.Email), code)
	}
	if !valid {
		guess.Fail(now)
		return NewError(http.StatusUnauthorized, CodeOTPInvalidExpired)
	}
	guess.Succeed()
	return nil
}

func (s *Server) emailNextEmail(w http.ResponseWriter, r *http.Request, c *Caller, _ []byte) *Error {
	u, e := s.User(c)
	if e != nil {
		return e
	}
	pending := u.EmailCode != nil && u.EmailCode.Purpose == account.PurposeSetup
	if u.EmailOTP == nil && !pending {
		return NewError(http.StatusConflict, CodeEmailOTPUninitialized)
	}
	now := s.Now()
	wait := u.EmailSends.Wait(now, emailSendInterval, emailSendsPerHour)

	// The next mail goes to the active address (a challenge), else to the
	// address being set up: its own hourly limit may be the longer wait.
	address := ""
	if u.EmailOTP != nil {
		address = u.EmailOTP.Email
	} else if pending {
		address = u.EmailCode.Email
	}
	var dest *throttle.SendWindow
	err := s.Store.View(func(tx store.Tx) error {
		var err error
		dest, err = loadSends(tx, address)
		return err
	})
	if err != nil {
		return s.storeError(err)
	}
	wait = max(wait, dest.Wait(now, 0, addressSendsPerHour))
	WriteJSON(w, durationResponse{Duration: throttle.Seconds(wait)})
	return nil
}

func (s *Server) emailDelete(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	if _, e := DecodeFields(body); e != nil {
		return e
	}
	if e := s.DeactivateEmailOTP(r, c); e != nil {
		return e
	}
	WriteJSON(w, nil)
	return nil
}

// DeactivateEmailOTP turns off the caller's email OTP, and 2FA with it
// when no other method is active (which deletes the recovery codes). It
// needs the caller's sudo token and ends every other session of the user.
func (s *Server) DeactivateEmailOTP(r *http.Request, c *Caller) *Error {
	address, e := s.changeFactor(c, account.AuditEmailOTPDisabled, account.MethodEmailOTP,
		func(u *account.User) (*Error, error) {
			if u.EmailOTP == nil {
				return NewError(http.StatusConflict, CodeEmailOTPAlreadyInactive), nil
			}
			if e := requireSudo(u, c, false); e != nil {
				return e, nil
			}
			u.EmailOTP, u.EmailCode = nil, nil
			dropRecoveryIfOff(u)
			return nil, nil
		})
	if e != nil {
		return e
	}
	s.Logger.Info("email OTP deactivated", zap.String("user", c.UserID), zap.String("client_ip", c.ClientIP))
	s.notify(r, c, address, mailer.KindMethodRemoved, account.MethodEmailOTP, 0)
	return nil
}
