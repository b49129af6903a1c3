package gate

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/hold"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// Names of the cookie that carries a partial token to a browser. Over
// HTTPS the __Secure- prefix makes browsers insist on Secure; __Host- does
// not fit, because the cookie's path is /user/2fa, not /.
const (
	PartialCookieHTTP  = api.PartialCookieHTTP
	PartialCookieHTTPS = api.PartialCookieHTTPS
)

// PartialCookieName returns the partial cookie's name for a connection.
func PartialCookieName(https bool) string {
	if https {
		return PartialCookieHTTPS
	}
	return PartialCookieHTTP
}

// PartialToken returns the partial token r presents: an Authorization
// bearer token with the partial_ prefix, which wins, or else the value of
// the partial cookie. bearer reports which one it is.
func (g *Gate) PartialToken(r *http.Request) (token string, bearer bool) {
	for _, value := range r.Header.Values("Authorization") {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(value), " ")
		rest = strings.TrimSpace(rest)
		if strings.EqualFold(scheme, "Bearer") && strings.HasPrefix(rest, api.PartialPrefix) {
			return rest, true
		}
	}
	if c, err := r.Cookie(PartialCookieName(g.isHTTPS(r))); err == nil {
		return c.Value, false
	}
	return "", false
}

// ResolvePartial resolves the caller of a request that presents a partial
// token, for the routes that accept one. The held login's credential is
// the only identity, and the request's own carriers, module cookie and
// sudo token are ignored. The identity source resolves the credential as
// a request that carries nothing else, and its user must be the one the
// login was held for. The caller's session is the released credential's,
// and its PartialMAC and Release let a passed second factor release the
// login. An unknown, expired or damaged token gets 401 INVALID_TOKEN.
func (g *Gate) ResolvePartial(ctx context.Context, r *http.Request, token string,
) (*Resolution, *api.Error) {
	invalid := api.NewError(http.StatusUnauthorized, api.CodeInvalidToken)
	if !strings.HasPrefix(token, api.PartialPrefix) {
		return nil, invalid
	}
	mac := hold.TokenMAC(g.Keys, token)
	var record *account.HeldLogin
	var held *hold.Login
	err := g.Store.View(func(tx store.Tx) error {
		var err error
		record, held, err = hold.Load(tx, g.Keys, mac, g.Now())
		return err
	})
	switch {
	case errors.Is(err, hold.ErrSealed):
		g.Logger.Error("held login does not open; treating its partial token as invalid",
			zap.String("client_ip", g.ClientIP(r)))
		return nil, invalid
	case err != nil:
		g.Logger.Error("reading held login failed", zap.Error(err))
		return nil, api.NewError(http.StatusServiceUnavailable, api.CodeStoreUnavailable)
	case record == nil:
		return nil, invalid
	}

	synthetic := r.Clone(ctx)
	synthetic.Header = held.Issued.Header.Clone()
	res, e := g.Resolve(ctx, synthetic)
	if e != nil {
		return nil, e
	}
	if res.Identity == nil || res.Caller.UserID != record.UserID {
		g.Logger.Warn("the credential of a held login no longer resolves to its user",
			zap.String("user", record.UserID), zap.String("client_ip", g.ClientIP(r)))
		return nil, invalid
	}

	caller := res.Caller
	caller.HTTPS, caller.ClientIP = g.isHTTPS(r), g.ClientIP(r)
	caller.PartialMAC = mac
	caller.Release = &api.Release{
		SetCookies:   held.Answer.Header.Values("Set-Cookie"),
		Location:     held.Answer.Header.Get("Location"),
		AccessToken:  held.Issued.AccessToken,
		RefreshToken: held.Issued.RefreshToken,
	}
	g.releasedSessions(synthetic, caller, res)
	return &Resolution{Caller: caller, Identity: res.Identity}, nil
}

// releasedSessions sets the sessions a released credential verifies. A
// client may later send the cookies or the token of a login alone, or
// both. So with a token, the caller's own session becomes the token's,
// because the JSON response that carries the token also carries the sudo
// token, and the cookies' and the combined sessions go to
// Release.Sessions.
func (g *Gate) releasedSessions(synthetic *http.Request, caller *api.Caller, res *Resolution) {
	creds, err := identity.Extract(synthetic, g.Carriers)
	if err != nil {
		return
	}
	var cookies, headers []identity.Presented
	for _, p := range accepted(creds.Presented, res.Rejected) {
		if p.Carrier.Kind == identity.CarrierCookie {
			cookies = append(cookies, p)
		} else {
			headers = append(headers, p)
		}
	}
	if len(cookies) == 0 || len(headers) == 0 {
		return
	}
	combined := api.ReleasedSession{Key: caller.SessionKey, Rekey: caller.Rekey}
	cookieOnly := g.sessionOf(synthetic, caller, res.Identity, cookies)
	caller.SessionKey, caller.Rekey = "", nil
	g.sessionKeys(synthetic, caller, res.Identity, headers)
	caller.Release.Sessions = []api.ReleasedSession{cookieOnly, combined}
}

// sessionOf returns the session of the carriers presented, as a caller
// that sent only those would have it.
func (g *Gate) sessionOf(r *http.Request, like *api.Caller, id *identity.Identity,
	carriers []identity.Presented,
) api.ReleasedSession {
	c := &api.Caller{HTTPS: like.HTTPS}
	g.sessionKeys(r, c, id, carriers)
	return api.ReleasedSession{Key: c.SessionKey, Rekey: c.Rekey}
}

// partialCookiePaths are the paths the partial cookie is set for: the 2FA
// API, and ui_path when it lies outside it.
func partialCookiePaths(uiPath string) []string {
	paths := []string{api.Prefix}
	if !MatchPrefix(uiPath, api.Prefix) {
		paths = append(paths, uiPath)
	}
	return paths
}

// SetPartialCookie gives a browser the partial token of a held login, for
// the 2FA API and the pages only, for the held login's lifetime. HttpOnly
// keeps it from scripts; SameSite=Lax lets the 303 from the login form
// carry it to the challenge page.
func SetPartialCookie(w http.ResponseWriter, token string, https bool, uiPath string) {
	for _, path := range partialCookiePaths(uiPath) {
		http.SetCookie(w, &http.Cookie{
			Name:     PartialCookieName(https),
			Value:    token,
			Path:     path,
			MaxAge:   int(hold.TTL / time.Second),
			Secure:   https,
			HttpOnly: true,
			SameSite: http.SameSiteLaxMode,
		})
	}
}

// ClearPartialCookie makes the browser drop the partial cookie.
func ClearPartialCookie(w http.ResponseWriter, https bool, uiPath string) {
	for _, path := range partialCookiePaths(uiPath) {
		http.SetCookie(w, &http.Cookie{
			Name:     PartialCookieName(https),
			Value:    "",
			Path:     path,
			MaxAge:   -1,
			Secure:   https,
			HttpOnly: true,
			SameSite: http.SameSiteLaxMode,
		})
	}
}
