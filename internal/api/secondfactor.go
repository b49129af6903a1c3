package api

import (
	"net/http"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// Token prefixes of module tokens.
const (
	SudoPrefix    = identity.SudoTokenPrefix
	PartialPrefix = identity.PartialTokenPrefix
)

// ModuleCookieName returns the module cookie's name for a connection.
func ModuleCookieName(https bool) string {
	if https {
		return ModuleCookieHTTPS
	}
	return ModuleCookieHTTP
}

// SudoMAC returns the store key of a sudo token.
func SudoMAC(keys *crypto.Keyring, token string) string {
	return keys.Current.MAC("sudo token", token)
}

// Verification is the outcome of a passed second factor.
type Verification struct {
	// SudoToken is the sudo token minted for the caller's session.
	SudoToken string
	// Release is set when the verification released a held login: what
	// the client receives of the app's login response.
	Release *Release
	// moduleCookie is the new module cookie value to set, if any.
	moduleCookie string
}

// verifySession marks the caller's session verified by method inside tx
// (which must run under Sessions.UpdateUser for the caller), rotating the
// module cookie where the session key includes it, and mints a sudo token.
// A caller with a partial token also releases its held login, once.
func (s *Server) verifySession(tx store.Tx, c *Caller, method string) (*Verification, error) {
	v := &Verification{}
	key := c.SessionKey
	if c.Rekey != nil {
		cookie, err := s.newModuleCookie()
		if err != nil {
			return nil, err
		}
		v.moduleCookie = cookie
		key = c.Rekey(cookie)
	}
	if key != "" {
		if err := s.Sessions.Verify(tx, c.UserID, key, c.SessionKey, method); err != nil {
			return nil, err
		}
	}
	if c.PartialMAC != "" {
		if err := s.releaseHeld(tx, c, v, method); err != nil {
			return nil, err
		}
	}
	token, err := crypto.NewToken(s.Random, SudoPrefix)
	if err != nil {
		return nil, err
	}
	record := &account.SudoToken{
		UserID:     c.UserID,
		SessionKey: key,
		Method:     method,
		Expires:    s.Now().Add(s.Config.SudoTTL),
	}
	if err := account.PutSudoToken(tx, SudoMAC(s.Keys, token), record); err != nil {
		return nil, err
	}
	if err := s.audit(tx, c, account.AuditSecondFactorPassed, method, account.OutcomeSuccess); err != nil {
		return nil, err
	}
	v.SudoToken = token
	return v, nil
}

// newModuleCookie returns a new module cookie value: 256 random bits.
func (s *Server) newModuleCookie() (string, error) {
	return crypto.NewToken(s.Random, "")
}

// SetModuleCookie sets the module cookie when a verification rotated it.
func (s *Server) SetModuleCookie(w http.ResponseWriter, c *Caller, v *Verification) {
	if v.moduleCookie == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     ModuleCookieName(c.HTTPS),
		Value:    v.moduleCookie,
		Path:     "/",
		MaxAge:   int(s.Sessions.Policy.TTL / time.Second),
		Secure:   c.HTTPS,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// tokens is the response of every authenticate route.
type tokens struct {
	AccessToken  *string `json:"accessToken"`
	RefreshToken *string `json:"refreshToken"`
	SudoToken    string  `json:"sudoToken"`
}

// requireSudoIfActive enforces "ST, or credential if 2FA off", and the
// stronger-factor rule for the TOTP-guarding operations: while TOTP is
// active, a sudo token minted by email OTP may not touch TOTP, the
// recovery codes or the email OTP address.
func requireSudoIfActive(u *account.User, c *Caller, guardsTOTP bool) *Error {
	if !u.Enabled() {
		return nil
	}
	return requireSudo(u, c, guardsTOTP)
}

func requireSudo(u *account.User, c *Caller, guardsTOTP bool) *Error {
	if c.Sudo == nil {
		return NewError(http.StatusUnauthorized, CodeSudoTokenRequired)
	}
	if guardsTOTP && u.TOTP != nil && c.Sudo.Method == account.MethodEmailOTP {
		return NewError(http.StatusForbidden, CodeStrongerFactorRequired)
	}
	return nil
}

// revokeOthers applies the "changing factors" rule: every verified session
// and sudo token of the user except the caller's session ends.
func (s *Server) revokeOthers(tx store.Tx, c *Caller) error {
	return s.Sessions.RevokeUser(tx, c.UserID, c.SessionKey)
}

// changeFactor runs a change of the caller's second factors in one
// transaction: change checks the loaded user and applies the change, and
// then the user is saved, event is audited and every other session of the
// user is revoked, as changing factors requires. A non-nil *Error from
// change is the response, with nothing written. changeFactor returns the
// address that notices go to when the identity gives none, read before
// the change.
func (s *Server) changeFactor(c *Caller, event, method string,
	change func(u *account.User) (*Error, error),
) (string, *Error) {
	var apiErr *Error
	var notifyTo string
	err := s.Sessions.UpdateUser(c.UserID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, c.UserID)
		if err != nil {
			return err
		}
		notifyTo = emailOf(u)
		if apiErr, err = change(u); apiErr != nil || err != nil {
			return err
		}
		if err := account.SaveUser(tx, u); err != nil {
			return err
		}
		if err := s.audit(tx, c, event, method, account.OutcomeSuccess); err != nil {
			return err
		}
		return s.revokeOthers(tx, c)
	})
	if err != nil {
		return "", s.storeError(err)
	}
	return notifyTo, apiErr
}

// dropRecoveryIfOff deletes the recovery codes of a user left without an
// active method: turning 2FA off deletes the set.
func dropRecoveryIfOff(u *account.User) {
	if !u.Enabled() {
		u.Recovery = nil
	}
}
