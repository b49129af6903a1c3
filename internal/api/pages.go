package api

import (
	"net/http"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
)

// PendingTOTP returns the caller's pending TOTP key again, so a page that
// rejected a code can show the QR code the user already scanned. Because
// the pending secret activates with a code alone, it needs a sudo token
// while 2FA is on, as SetupTOTP does. With nothing pending it returns 409
// TOTP_UNINITIALIZED.
func (s *Server) PendingTOTP(c *Caller, host string) (*TOTPSetup, *Error) {
	u, e := s.User(c)
	if e != nil {
		return nil, e
	}
	if u.PendingTOTP == nil {
		return nil, NewError(http.StatusConflict, CodeTOTPUninitialized)
	}
	if e := requireSudoIfActive(u, c, true); e != nil {
		return nil, e
	}
	secret, err := s.Keys.Open(u.PendingTOTP.SealedSecret, totpAD(c.UserID))
	if err != nil {
		return nil, NewError(http.StatusInternalServerError, CodeTOTPCorrupt)
	}
	setup, err := s.totpKey(c, host, secret)
	if err != nil {
		return nil, s.storeError(err)
	}
	return setup, nil
}

// EmailCodePending returns the address of an unexpired code mailed to u
// for purpose (account.PurposeSetup or account.PurposeChallenge), and
// whether there is one, so a page can ask for that code after a reload.
func (s *Server) EmailCodePending(u *account.User, purpose string) (address string, ok bool) {
	code := u.EmailCode
	if code == nil || code.Purpose != purpose || !s.Now().Before(code.Expires) {
		return "", false
	}
	return code.Email, true
}

// ParseAddress checks an email address typed into a form by the rules of
// POST /email-otp/setup: one bare address, trimmed, with no display name.
func ParseAddress(input string) (string, bool) {
	return parseAddress(input)
}
