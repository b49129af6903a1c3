package api

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// partialRoutes are the routes below Prefix that accept a partial token as
// the caller's identity: the ones that pass a second factor, and the one
// that mails the code for it.
var partialRoutes = map[string]bool{
	"/totp/authenticate":          true,
	"/email-otp/challenge":        true,
	"/email-otp/authenticate":     true,
	"/recovery-code/authenticate": true,
}

// AcceptsPartial reports whether the route of method and subpath (as
// ServeAPI takes it) accepts a partial token. Everywhere else a presented
// partial token is invalid.
func AcceptsPartial(method, subpath string) bool {
	return method == http.MethodPost && partialRoutes[subpath]
}

// Release is the part of a held login that the client receives once its
// user passed the second factor.
type Release struct {
	// SetCookies are the Set-Cookie lines of the app's login response.
	SetCookies []string
	// Location is the Location header of the app's login response, if any.
	Location string
	// AccessToken and RefreshToken are the tokens of the response body, if
	// the login route names them.
	AccessToken, RefreshToken string
	// Sessions are further sessions of the released credential to verify
	// with the caller's: a client may later send the credential's cookies
	// or its token alone, and each of those is a session of its own.
	Sessions []ReleasedSession
}

// ReleasedSession is one session of a released credential: its key, or
// for a key that includes the module cookie, the function that makes it.
type ReleasedSession struct {
	Key   string
	Rekey func(moduleCookie string) string
}

// releaseHeld consumes the held login of the caller's partial token inside
// tx and verifies the released credential's further sessions. A held login
// that is gone (released by a parallel request, revoked or expired) fails
// the whole transaction with 401 INVALID_TOKEN, so the second factor it
// checked is not spent either.
func (s *Server) releaseHeld(tx store.Tx, c *Caller, v *Verification, method string) error {
	held, err := account.GetHeldLogin(tx, c.PartialMAC)
	if err != nil {
		return err
	}
	if held == nil || held.UserID != c.UserID || !s.Now().Before(held.Expires) {
		return NewError(http.StatusUnauthorized, CodeInvalidToken)
	}
	if err := account.DeleteHeldLogin(tx, c.PartialMAC); err != nil {
		return err
	}
	if c.Release == nil {
		return nil
	}
	for _, session := range c.Release.Sessions {
		key := session.Key
		if session.Rekey != nil {
			if v.moduleCookie == "" {
				if v.moduleCookie, err = s.newModuleCookie(); err != nil {
					return err
				}
			}
			key = session.Rekey(v.moduleCookie)
		}
		if err := s.Sessions.Verify(tx, c.UserID, key, "", method); err != nil {
			return err
		}
	}
	v.Release = c.Release
	return nil
}

// SetReleasedCookies adds the Set-Cookie lines of a released login to w,
// as the app wrote them, and logs the release.
func (s *Server) SetReleasedCookies(w http.ResponseWriter, c *Caller, v *Verification) {
	if v.Release == nil {
		return
	}
	for _, line := range v.Release.SetCookies {
		w.Header().Add("Set-Cookie", line)
	}
	s.Logger.Info("held login released", zap.String("user", c.UserID),
		zap.String("client_ip", c.ClientIP))
}

// writeVerified writes the response of a successful authenticate: the
// module cookie where it rotated, the sudo token, and for a released login
// its cookies, Location and tokens.
func (s *Server) writeVerified(w http.ResponseWriter, c *Caller, v *Verification) {
	s.SetModuleCookie(w, c, v)
	body := tokens{SudoToken: v.SudoToken}
	if rel := v.Release; rel != nil {
		s.SetReleasedCookies(w, c, v)
		if rel.Location != "" {
			w.Header().Set("Location", rel.Location)
		}
		if rel.AccessToken != "" {
			body.AccessToken = &rel.AccessToken
		}
		if rel.RefreshToken != "" {
			body.RefreshToken = &rel.RefreshToken
		}
	}
	WriteJSON(w, body)
}
