package ui

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
)

// visitor is the logged-in user of a page request.
type visitor struct {
	caller *api.Caller
	user   *account.User
}

// start runs the first steps of every page: it rejects methods other than
// GET, HEAD and POST, checks a POST's form rules, sets the CSRF token and
// resolves the visitor. It returns nil when it has already written the
// response, for example the "not logged in" page.
func (p *Pages) start(w http.ResponseWriter, r *http.Request, v *view, page string) *visitor {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		v.Next = gate.SafeNext(r.URL.Query().Get("next"))
	case http.MethodPost:
		if e := p.checkPost(w, r); e != nil {
			v.CSRF = p.csrfToken(w, r)
			p.renderError(w, page, v, e)
			return nil
		}
		v.Next = gate.SafeNext(r.PostForm.Get("next"))
	default:
		methodNotAllowed(w)
		return nil
	}
	v.CSRF = p.csrfToken(w, r)

	caller, e := p.resolve(w, r, v.Page == pageChallenge)
	if e != nil {
		p.renderError(w, page, v, e)
		return nil
	}
	if caller == nil {
		v.Error = v.T("error.notLoggedIn")
		p.render(w, http.StatusUnauthorized, page, v)
		return nil
	}
	user, e := p.API.User(caller)
	if e != nil {
		p.renderError(w, page, v, e)
		return nil
	}
	v.LoggedIn = true
	return &visitor{caller: caller, user: user}
}

// resolve returns the caller of a page request, or nil when no user is
// logged in to the app. With partialOK (the challenge page), a partial
// token of a held login is the only identity when present. It removes the
// pages' own cookies before the gate reads the request, so an identity
// source that forwards cookies to the app never forwards them. It clears
// a sudo cookie that is no longer valid (expired, revoked or of another
// session).
func (p *Pages) resolve(w http.ResponseWriter, r *http.Request, partialOK bool) (*api.Caller, *api.Error) {
	if partialOK {
		if caller, ok, e := p.resolvePartial(w, r); ok {
			return caller, e
		}
	}
	https := p.isHTTPS(r)
	clone := r.Clone(r.Context())
	for _, name := range []string{csrfCookie(true), csrfCookie(false), sudoCookie(true), sudoCookie(false)} {
		identity.RemoveCarrier(clone.Header, identity.Carrier{Kind: identity.CarrierCookie, Name: name})
	}
	res, e := p.Gate.Resolve(clone.Context(), clone)
	if e != nil {
		return nil, e
	}
	if res.Partial() || res.Identity == nil || res.Caller.UserID == "" {
		return nil, nil
	}

	caller := res.Caller
	if token := p.sudoToken(r); token != "" && caller.Sudo == nil {
		e := p.Gate.AttachSudo(caller, token)
		if e != nil && e.Status >= http.StatusInternalServerError {
			return nil, e
		}
		if e != nil {
			p.API.Logger.Debug("sudo cookie rejected", zap.String("user", caller.UserID),
				zap.String("message", e.Message), zap.String("client_ip", caller.ClientIP))
			clearSudoCookie(w, p.Path, https)
		}
	}
	return caller, nil
}

// verified reports whether the visitor's session has passed a second
// factor.
func (p *Pages) verified(vis *visitor) (bool, *api.Error) {
	_, ok, err := p.API.Sessions.Verified(vis.caller.UserID, vis.caller.SessionKey)
	if err != nil {
		p.API.Logger.Error("reading session failed", zap.Error(err), zap.String("user", vis.caller.UserID))
		return false, api.NewError(http.StatusServiceUnavailable, api.CodeStoreUnavailable)
	}
	return ok, nil
}

// checkPost applies the form rules: early data rejected, a form body of at
// most api.MaxBodySize, the site's own or an allowed origin, and a CSRF
// token that matches the CSRF cookie. Under Referrer-Policy no-referrer,
// browsers send "Origin: null" on form posts, so the origin check then
// rests on Sec-Fetch-Site, and the token covers browsers that send neither.
func (p *Pages) checkPost(w http.ResponseWriter, r *http.Request) *api.Error {
	if gate.IsEarlyData(r) {
		return api.NewError(http.StatusTooEarly, api.CodeTooEarly)
	}
	r.Body = http.MaxBytesReader(w, r.Body, api.MaxBodySize)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return api.NewError(http.StatusRequestEntityTooLarge, api.CodePayloadTooLarge)
		}
		return api.BadRequest("the form could not be read")
	}
	rejected := api.NewError(http.StatusForbidden, api.CodeCSRFRejected)
	if origin := r.Header.Get("Origin"); origin != "" && origin != "null" {
		if !p.Gate.SameOrigin(r, p.AllowedOrigins) {
			return rejected
		}
	} else if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return rejected
	}
	if !p.validCSRF(r, r.PostForm.Get("csrf")) {
		return rejected
	}
	return nil
}

func (p *Pages) isHTTPS(r *http.Request) bool {
	return p.Gate.IsHTTPS != nil && p.Gate.IsHTTPS(r)
}
