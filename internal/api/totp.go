package api

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/otp"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

const badTOTP = "totp must be a string of 6 digits"

// totpAD binds a sealed TOTP secret to its user, so a sealed value copied
// to another user's record does not open.
func totpAD(userID string) []byte {
	return []byte("totp secret\x00" + userID)
}

type setupAnswer struct {
	URL    string `json:"url"`
	QRCode string `json:"qrCode"`
}

func (s *Server) totpSetup(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	if _, e := DecodeFields(body); e != nil {
		return e
	}
	secret, err := otp.NewTOTPSecret(s.Random)
	if err != nil {
		return s.storeError(err)
	}
	sealed, err := s.Keys.Current.Seal(secret, totpAD(c.UserID))
	if err != nil {
		return s.storeError(err)
	}
	var apiErr *Error
	err = s.Sessions.UpdateUser(c.UserID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, c.UserID)
		if err != nil {
			return err
		}
		if apiErr = requireSudoIfActive(u, c, true); apiErr != nil {
			return nil
		}
		u.PendingTOTP = &account.TOTP{SealedSecret: sealed, Skew: s.Config.Skew}
		return account.SaveUser(tx, u)
	})
	if err != nil {
		return s.storeError(err)
	}
	if apiErr != nil {
		return apiErr
	}

	issuer := s.Config.Issuer
	if issuer == "" {
		issuer = hostname(r.Host)
	}
	account := c.Email
	if account == "" {
		account = c.UserID
	}
	url := otp.TOTPKeyURL(issuer, account, secret)
	qr, err := otp.QRCodeDataURL(url)
	if err != nil {
		return s.storeError(err)
	}
	s.Logger.Info("TOTP set up, pending enable",
		zap.String("user", c.UserID), zap.String("client_ip", c.ClientIP))
	WriteJSON(w, setupAnswer{URL: url, QRCode: qr})
	return nil
}

type enableAnswer struct {
	RecoveryCodes []string `json:"recoveryCodes"`
}

func (s *Server) totpEnable(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	code, e := decodeCode(body, "totp", badTOTP)
	if e != nil {
		return e
	}
	var answer enableAnswer
	var v *verification
	var apiErr *Error
	err := s.Sessions.UpdateUser(c.UserID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, c.UserID)
		if err != nil {
			return err
		}
		if u.PendingTOTP == nil {
			apiErr = NewError(http.StatusConflict, CodeTOTPUninitialized)
			return nil
		}
		step, checkErr := s.checkTOTP(u, u.PendingTOTP, code)
		if checkErr != nil {
			apiErr = checkErr
			return account.SaveUser(tx, u)
		}

		reset := u.TOTP != nil
		wasEnabled := u.Enabled()
		enabled := *u.PendingTOTP
		enabled.LastStep = step
		enabled.CompletedAt = s.Now()
		u.TOTP, u.PendingTOTP = &enabled, nil
		answer.RecoveryCodes, err = s.recoveryCodesOnEnable(u, wasEnabled)
		if err != nil {
			return err
		}
		if err := account.SaveUser(tx, u); err != nil {
			return err
		}
		if reset {
			if err := s.revokeOthers(tx, c); err != nil {
				return err
			}
		}
		v, err = s.verifySession(tx, c, account.MethodTOTP)
		return err
	})
	if err != nil {
		return s.storeError(err)
	}
	if apiErr != nil {
		s.logRejected(c, account.MethodTOTP, apiErr)
		return apiErr
	}
	s.setModuleCookie(w, c, v)
	s.Logger.Info("TOTP enabled", zap.String("user", c.UserID), zap.String("client_ip", c.ClientIP))
	WriteJSON(w, answer)
	return nil
}

func (s *Server) totpAuthenticate(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	code, e := decodeCode(body, "totp", badTOTP)
	if e != nil {
		return e
	}
	var v *verification
	var apiErr *Error
	err := s.Sessions.UpdateUser(c.UserID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, c.UserID)
		if err != nil {
			return err
		}
		if u.TOTP == nil {
			apiErr = NewError(http.StatusConflict, CodeTOTPUninitialized)
			return nil
		}
		step, checkErr := s.checkTOTP(u, u.TOTP, code)
		if checkErr != nil {
			apiErr = checkErr
			return account.SaveUser(tx, u)
		}
		u.TOTP.LastStep = step
		if err := account.SaveUser(tx, u); err != nil {
			return err
		}
		v, err = s.verifySession(tx, c, account.MethodTOTP)
		return err
	})
	if err != nil {
		return s.storeError(err)
	}
	if apiErr != nil {
		s.logRejected(c, account.MethodTOTP, apiErr)
		return apiErr
	}
	s.setModuleCookie(w, c, v)
	s.Logger.Info("second factor passed", zap.String("user", c.UserID),
		zap.String("method", account.MethodTOTP), zap.String("client_ip", c.ClientIP))
	WriteJSON(w, tokens{SudoToken: v.sudoToken})
	return nil
}

// checkTOTP takes a guess slot of the TOTP counter and checks code against
// enrolment t. It updates u's counter; the caller saves u whatever the
// outcome, inside the same transaction, so the slot is taken atomically.
func (s *Server) checkTOTP(u *account.User, t *account.TOTP, code string) (int64, *Error) {
	now := s.Now()
	guess := u.Guess(account.MethodTOTP)
	if wait := guess.Wait(now); wait > 0 {
		return 0, TooMany(CodeTooManyTOTPChecks, wait)
	}
	secret, err := s.Keys.Open(t.SealedSecret, totpAD(u.ID))
	if err != nil {
		return 0, NewError(http.StatusInternalServerError, CodeTOTPCorrupt)
	}
	step, result := otp.CheckTOTP(secret, code, now, t.Skew, t.LastStep)
	switch result {
	case otp.TOTPValid:
		guess.Succeed()
		return step, nil
	case otp.TOTPAlreadyUsed:
		return 0, NewError(http.StatusUnauthorized, CodeTOTPAlreadyUsed)
	default:
		guess.Fail(now)
		return 0, NewError(http.StatusUnauthorized, CodeTOTPInvalid)
	}
}

type durationAnswer struct {
	Duration int64 `json:"duration"`
}

func (s *Server) totpNextGuess(w http.ResponseWriter, r *http.Request, c *Caller, _ []byte) *Error {
	return s.nextGuess(w, c, account.MethodTOTP, func(u *account.User) *Error {
		if u.TOTP == nil && u.PendingTOTP == nil {
			return NewError(http.StatusConflict, CodeTOTPUninitialized)
		}
		return nil
	})
}

// nextGuess answers the wait before the next guess of a method.
func (s *Server) nextGuess(w http.ResponseWriter, c *Caller, method string, check func(*account.User) *Error) *Error {
	var u *account.User
	err := s.Store.View(func(tx store.Tx) error {
		var err error
		u, err = account.LoadUser(tx, c.UserID)
		return err
	})
	if err != nil {
		return s.storeError(err)
	}
	if e := check(u); e != nil {
		return e
	}
	wait := u.Guess(method).Wait(s.Now())
	WriteJSON(w, durationAnswer{Duration: throttle.Seconds(wait)})
	return nil
}

func (s *Server) totpDelete(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	if _, e := DecodeFields(body); e != nil {
		return e
	}
	var apiErr *Error
	err := s.Sessions.UpdateUser(c.UserID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, c.UserID)
		if err != nil {
			return err
		}
		if u.TOTP == nil {
			apiErr = NewError(http.StatusConflict, CodeTOTPAlreadyInactive)
			return nil
		}
		if apiErr = requireSudo(u, c, true); apiErr != nil {
			return nil
		}
		u.TOTP, u.PendingTOTP = nil, nil
		if !u.Enabled() {
			u.Recovery = nil
		}
		if err := account.SaveUser(tx, u); err != nil {
			return err
		}
		return s.revokeOthers(tx, c)
	})
	if err != nil {
		return s.storeError(err)
	}
	if apiErr != nil {
		return apiErr
	}
	s.Logger.Info("TOTP deactivated", zap.String("user", c.UserID), zap.String("client_ip", c.ClientIP))
	WriteJSON(w, nil)
	return nil
}

// decodeCode reads the one code field of an enable or authenticate body.
func decodeCode(body []byte, field, invalid string) (string, *Error) {
	fields, e := DecodeFields(body, field)
	if e != nil {
		return "", e
	}
	code, ok := fields[field]
	if !ok || !otp.IsSixDigits(code) {
		return "", BadRequest(invalid)
	}
	return code, nil
}

// logRejected logs a failed second factor without the code.
func (s *Server) logRejected(c *Caller, method string, e *Error) {
	s.Logger.Warn("second factor rejected", zap.String("user", c.UserID),
		zap.String("method", method), zap.String("client_ip", c.ClientIP),
		zap.String("message", e.Message))
}
