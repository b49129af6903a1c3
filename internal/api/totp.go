package api

import (
	"encoding/base32"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	mailer "github.com/caddy-twofactor/caddy-twofactor/internal/mail"
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

func (s *Server) totpSetup(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	if _, e := DecodeFields(body); e != nil {
		return e
	}
	answer, e := s.SetupTOTP(c, r.Host)
	if e != nil {
		return e
	}
	WriteJSON(w, answer)
	return nil
}

// TOTPSetup is a new TOTP secret, pending until enabled.
type TOTPSetup struct {
	// URL is the otpauth:// key URL for authenticator apps.
	URL string `json:"url"`
	// QRCode is the URL as a PNG QR code in a data: URL.
	QRCode string `json:"qrCode"`
	// Secret is the base32 secret, for typing into an app by hand. The
	// API leaves it out, since the URL carries it.
	Secret string `json:"-"`
}

// SetupTOTP creates a pending TOTP secret for the caller. host names the
// site in the authenticator app when no issuer is configured.
func (s *Server) SetupTOTP(c *Caller, host string) (*TOTPSetup, *Error) {
	secret, err := otp.NewTOTPSecret(s.Random)
	if err != nil {
		return nil, s.storeError(err)
	}
	sealed, err := s.Keys.Current.Seal(secret, totpAD(c.UserID))
	if err != nil {
		return nil, s.storeError(err)
	}
	var apiErr *Error
	var address string
	err = s.Sessions.UpdateUser(c.UserID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, c.UserID)
		if err != nil {
			return err
		}
		if apiErr = requireSudoIfActive(u, c, true); apiErr != nil {
			return nil
		}
		address = emailOf(u)
		u.PendingTOTP = &account.TOTP{SealedSecret: sealed, Skew: s.Config.Skew}
		return account.SaveUser(tx, u)
	})
	if err != nil {
		return nil, s.storeError(err)
	}
	if apiErr != nil {
		return nil, apiErr
	}

	// A caller known only by its sudo token has no identity email; the
	// authenticator app then shows the email OTP address, else the user id.
	named := *c
	if named.Email == "" {
		named.Email = address
	}
	setup, err := s.totpKey(&named, host, secret)
	if err != nil {
		return nil, s.storeError(err)
	}
	s.Logger.Info("TOTP set up, pending enable",
		zap.String("user", c.UserID), zap.String("client_ip", c.ClientIP))
	return setup, nil
}

// totpKey presents secret for authenticator apps: the key URL, its QR
// code and the base32 text.
func (s *Server) totpKey(c *Caller, host string, secret []byte) (*TOTPSetup, error) {
	issuer := s.Config.Issuer
	if issuer == "" {
		issuer = hostname(host)
	}
	name := c.Email
	if name == "" {
		name = c.UserID
	}
	url := otp.TOTPKeyURL(issuer, name, secret)
	qr, err := otp.QRCodeDataURL(url)
	if err != nil {
		return nil, err
	}
	return &TOTPSetup{
		URL:    url,
		QRCode: qr,
		Secret: base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret),
	}, nil
}

type enableResponse struct {
	RecoveryCodes []string `json:"recoveryCodes"`
}

func (s *Server) totpEnable(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	code, e := decodeCode(body, "totp", badTOTP)
	if e != nil {
		return e
	}
	codes, v, e := s.EnableTOTP(r, c, code)
	if e != nil {
		return e
	}
	s.SetModuleCookie(w, c, v)
	WriteJSON(w, enableResponse{RecoveryCodes: codes})
	return nil
}

// EnableTOTP activates the caller's pending TOTP secret with a code from
// it and verifies the caller's session. It returns the new recovery codes,
// or none when 2FA was already on.
func (s *Server) EnableTOTP(r *http.Request, c *Caller, code string) ([]string, *Verification, *Error) {
	var codes []string
	var notifyTo string
	var v *Verification
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
			return s.saveFailed(tx, u, c, account.MethodTOTP, checkErr)
		}

		reset := u.TOTP != nil
		wasEnabled := u.Enabled()
		notifyTo = emailOf(u)
		enabled := *u.PendingTOTP
		enabled.LastStep = step
		enabled.CompletedAt = s.Now()
		u.TOTP, u.PendingTOTP = &enabled, nil
		if codes, err = s.recoveryCodesOnEnable(u, wasEnabled); err != nil {
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
		if err := s.audit(tx, c, account.AuditTOTPEnabled, account.MethodTOTP, account.OutcomeSuccess); err != nil {
			return err
		}
		v, err = s.verifySession(tx, c, account.MethodTOTP)
		return err
	})
	if err != nil {
		return nil, nil, s.storeError(err)
	}
	if apiErr != nil {
		s.logRejected(c, account.MethodTOTP, apiErr)
		return nil, nil, apiErr
	}
	s.Logger.Info("TOTP enabled", zap.String("user", c.UserID), zap.String("client_ip", c.ClientIP))
	s.notify(r, c, notifyTo, mailer.KindMethodEnabled, account.MethodTOTP, 0)
	return codes, v, nil
}

func (s *Server) totpAuthenticate(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	code, e := decodeCode(body, "totp", badTOTP)
	if e != nil {
		return e
	}
	v, e := s.AuthenticateTOTP(c, code)
	if e != nil {
		return e
	}
	s.writeVerified(w, c, v)
	return nil
}

// AuthenticateTOTP checks a TOTP code of the caller's active enrolment and
// on success verifies the caller's session. The caller sets the module
// cookie from the result.
//
// Concurrent verifications share commits (Sessions.BatchUser), so the
// transaction function may run more than once: it reloads the user and
// sets both results afresh each time, and only the run that commits, or
// the last one that fails, decides the outcome.
func (s *Server) AuthenticateTOTP(c *Caller, code string) (*Verification, *Error) {
	var v *Verification
	var apiErr *Error
	err := s.Sessions.BatchUser(c.UserID, func(tx store.Tx) error {
		v, apiErr = nil, nil
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
			return s.saveFailed(tx, u, c, account.MethodTOTP, checkErr)
		}
		u.TOTP.LastStep = step
		if err := account.SaveUser(tx, u); err != nil {
			return err
		}
		v, err = s.verifySession(tx, c, account.MethodTOTP)
		return err
	})
	if err != nil {
		return nil, s.storeError(err)
	}
	if apiErr != nil {
		s.logRejected(c, account.MethodTOTP, apiErr)
		return nil, apiErr
	}
	s.passed(c, account.MethodTOTP)
	return v, nil
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

type durationResponse struct {
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

// nextGuess writes the wait before the next guess of a method.
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
	WriteJSON(w, durationResponse{Duration: throttle.Seconds(wait)})
	return nil
}

func (s *Server) totpDelete(w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error {
	if _, e := DecodeFields(body); e != nil {
		return e
	}
	if e := s.DeactivateTOTP(r, c); e != nil {
		return e
	}
	WriteJSON(w, nil)
	return nil
}

// DeactivateTOTP turns off the caller's TOTP, and 2FA with it when no
// other method is active (which deletes the recovery codes). It needs the
// caller's sudo token, minted by TOTP or a recovery code while TOTP is
// active, and ends every other session of the user.
func (s *Server) DeactivateTOTP(r *http.Request, c *Caller) *Error {
	notifyTo, e := s.changeFactor(c, account.AuditTOTPDisabled, account.MethodTOTP,
		func(u *account.User) (*Error, error) {
			if u.TOTP == nil {
				return NewError(http.StatusConflict, CodeTOTPAlreadyInactive), nil
			}
			if e := requireSudo(u, c, true); e != nil {
				return e, nil
			}
			u.TOTP, u.PendingTOTP = nil, nil
			dropRecoveryIfOff(u)
			return nil, nil
		})
	if e != nil {
		return e
	}
	s.Logger.Info("TOTP deactivated", zap.String("user", c.UserID), zap.String("client_ip", c.ClientIP))
	s.notify(r, c, notifyTo, mailer.KindMethodRemoved, account.MethodTOTP, 0)
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
