package ui

import (
	"net/http"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

// sudoCookie returns the name of the cookie that keeps the pages' sudo
// token. Over HTTPS the __Secure- prefix makes browsers insist on Secure.
// __Host- does not fit, because the cookie's path is ui_path, not /.
func sudoCookie(https bool) string {
	if https {
		return api.SudoCookieHTTPS
	}
	return api.SudoCookieHTTP
}

// sudoToken returns the sudo token of the request's sudo cookie, or "".
func (p *Pages) sudoToken(r *http.Request) string {
	c, err := r.Cookie(sudoCookie(p.isHTTPS(r)))
	if err != nil {
		return ""
	}
	return c.Value
}

// setSudoCookie keeps a sudo token for the pages under path only, for the
// token's lifetime. SameSite=Strict keeps it off requests that start on
// another site, and HttpOnly keeps it from scripts.
func setSudoCookie(w http.ResponseWriter, path string, https bool, token string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name:     sudoCookie(https),
		Value:    token,
		Path:     path,
		MaxAge:   int(ttl / time.Second),
		Secure:   https,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
}

// clearSudoCookie makes the browser drop the sudo cookie.
func clearSudoCookie(w http.ResponseWriter, path string, https bool) {
	http.SetCookie(w, &http.Cookie{
		Name:     sudoCookie(https),
		Value:    "",
		Path:     path,
		MaxAge:   -1,
		Secure:   https,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
}

// keepSudo stores the sudo token of a fresh verification, which the
// confirm page obtained for the manage and enrolment pages.
func (p *Pages) keepSudo(w http.ResponseWriter, r *http.Request, v *api.Verification) {
	setSudoCookie(w, p.Path, p.isHTTPS(r), v.SudoToken, p.API.Config.SudoTTL)
}
