package ui

import (
	"crypto/rand"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
)

// minCookieLength is the length of a 256-bit token in base64url, the
// shortest CSRF cookie value accepted.
const minCookieLength = 43

// csrfCookie returns the name of the CSRF cookie. Over HTTPS the __Host-
// prefix keeps a sibling subdomain from planting one.
func csrfCookie(https bool) string {
	if https {
		return api.CSRFCookieHTTPS
	}
	return api.CSRFCookieHTTP
}

// csrfToken returns the form token of a request, setting a new CSRF cookie
// when the request has none. The token is an HMAC of the cookie, so a
// cross-site form that cannot read the cookie cannot forge it.
func (p *Pages) csrfToken(w http.ResponseWriter, r *http.Request) string {
	https := p.isHTTPS(r)
	name := csrfCookie(https)
	if c, err := r.Cookie(name); err == nil && len(c.Value) >= minCookieLength {
		return p.Keys.Current.MAC("csrf", c.Value)
	}
	value, err := crypto.NewToken(rand.Reader, "")
	if err != nil {
		// The form then carries no token, and its post gets CSRF_REJECTED.
		p.API.Logger.Error("creating a CSRF cookie failed", zap.Error(err))
		return ""
	}
	path := p.Path
	if https {
		path = "/" // __Host- cookies must have Path=/
	}
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		Secure:   https,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
	return p.Keys.Current.MAC("csrf", value)
}

// validCSRF reports whether token matches the request's CSRF cookie.
func (p *Pages) validCSRF(r *http.Request, token string) bool {
	c, err := r.Cookie(csrfCookie(p.isHTTPS(r)))
	if err != nil || c.Value == "" || token == "" {
		return false
	}
	return p.Keys.MatchMAC(token, "csrf", c.Value)
}
