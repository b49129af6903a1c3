package caddymodule

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/guard"
	"github.com/caddy-twofactor/caddy-twofactor/internal/hold"
)

// matchLoginHold returns the login hold of a request's method and
// canonical path, or nil.
func (h *Handler) matchLoginHold(r *http.Request, path string) *loginHold {
	for _, lh := range h.holds {
		// Methods compare case-insensitively here, because holding more
		// is safe, and some apps read "post" as POST.
		if strings.EqualFold(lh.method, r.Method) && gate.MatchExact(path, lh.path) {
			return lh
		}
	}
	return nil
}

// serveLoginHold forwards a login request to next and reads the app's
// response. It keeps a successful login of a user with 2FA on back, sealed,
// and the client gets nothing of the app's response (see holdLogin). Every
// other response passes unchanged.
func (h *Handler) serveLoginHold(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler,
	lh *loginHold,
) error {
	// The module reads the response and may pass it on unchanged, so it
	// needs the response uncompressed, as the app wrote it.
	r.Header.Del("Accept-Encoding")
	rec := hold.NewRecorder()
	if err := next.ServeHTTP(rec, r); err != nil {
		return err
	}
	answer, complete := rec.Answer()
	clientIP := clientIP(r)
	if !complete {
		h.logger.Error("login response over 1 MiB: responding 502", zap.String("path", r.URL.Path),
			zap.String("client_ip", clientIP))
		api.WriteError(w, api.NewError(http.StatusBadGateway, guard.CodeBadGateway))
		return nil
	}
	var issued *hold.Issued
	if lh.rule.Succeeded(answer) {
		issued = lh.rule.Credential(answer)
	}
	if issued == nil {
		answer.WriteTo(w)
		return nil
	}

	user, e := h.heldUser(r, issued)
	switch {
	case e != nil:
		api.WriteError(w, e)
		return nil
	case !user.Enabled():
		answer.WriteTo(w)
		return nil
	case h.Mode == "report":
		h.logger.Warn("report mode: login would be held until the second factor",
			zap.String("user", user.ID), zap.String("client_ip", clientIP))
		answer.WriteTo(w)
		return nil
	case len(answer.Body) > hold.MaxAnswer:
		h.logger.Error("login response over 64 KiB cannot be held: responding 502",
			zap.String("user", user.ID), zap.String("client_ip", clientIP))
		api.WriteError(w, api.NewError(http.StatusBadGateway, guard.CodeBadGateway))
		return nil
	}

	h.holdLogin(w, r, answer, issued, user)
	return nil
}

// holdLogin keeps a successful login back and responds in its place with
// 401 2FA_REQUIRED and the partial token. A browser gets a 303 to the
// challenge page instead, with the token in the partial cookie.
func (h *Handler) holdLogin(w http.ResponseWriter, r *http.Request, answer *hold.Answer,
	issued *hold.Issued, user *account.User,
) {
	token, err := hold.Keep(h.api.Store, h.keys, h.api.Random, time.Now(), user.ID,
		&hold.Login{Answer: answer, Issued: issued})
	if err != nil {
		h.logger.Error("holding a login failed", zap.Error(err), zap.String("user", user.ID))
		api.WriteError(w, api.NewError(http.StatusServiceUnavailable, api.CodeStoreUnavailable))
		return
	}
	h.logger.Info("login held until the second factor", zap.String("user", user.ID),
		zap.String("client_ip", clientIP(r)))
	if gate.WantsHTML(r) {
		gate.SetPartialCookie(w, token, isHTTPS(r), h.UIPath)
		w.Header().Set("Cache-Control", "no-store")
		target := h.heldNext(r, answer.Header.Get("Location"))
		http.Redirect(w, r, h.UIPath+"/challenge?next="+url.QueryEscape(target), http.StatusSeeOther)
		return
	}
	e := api.NewError(http.StatusUnauthorized, api.Code2FARequired)
	e.Methods, e.PartialToken = user.ActiveMethods(), token
	api.WriteError(w, e)
}

// heldUser resolves the credential a login issued, as a request that
// carries only that credential, and loads its user. A credential of no
// user means that the app's login and its identity check disagree: 502.
func (h *Handler) heldUser(r *http.Request, issued *hold.Issued) (*account.User, *api.Error) {
	synthetic := r.Clone(r.Context())
	synthetic.Header = issued.Header.Clone()
	res, e := h.gate.Resolve(r.Context(), synthetic)
	if e != nil && e.Status >= http.StatusInternalServerError {
		return nil, e
	}
	if e != nil || res.Identity == nil || res.Caller.UserID == "" {
		h.logger.Error("the credential of a successful login resolves to no user",
			zap.String("path", r.URL.Path), zap.String("client_ip", clientIP(r)))
		return nil, api.NewError(http.StatusBadGateway, guard.CodeBadGateway)
	}
	return h.api.User(res.Caller)
}

// heldNext returns where the challenge page sends the browser after the
// release: the held answer's Location when it is a path of this site,
// else "/".
func (h *Handler) heldNext(r *http.Request, location string) string {
	u, err := url.Parse(location)
	if location == "" || err != nil {
		return "/"
	}
	if u.Scheme != "" || u.Host != "" {
		if !strings.EqualFold(u.Scheme+"://"+u.Host, h.gate.SiteOrigin(r)) {
			return "/"
		}
		return gate.SafeNext(u.RequestURI())
	}
	return gate.SafeNext(location)
}

// resolveAPI resolves the caller of a 2FA API request. On the routes that
// accept a partial token, a valid one is the caller's only identity. A
// partial cookie that no longer opens a held login is ignored, as it is on
// every other route. A bearer partial token that is invalid, or on another
// route, gets 401 INVALID_TOKEN.
func (h *Handler) resolveAPI(r *http.Request, subpath string) (*gate.Resolution, *api.Error) {
	if api.AcceptsPartial(r.Method, subpath) {
		if token, bearer := h.gate.PartialToken(r); token != "" {
			res, e := h.gate.ResolvePartial(r.Context(), r, token)
			if e == nil || bearer || e.Status != http.StatusUnauthorized {
				return res, e
			}
		}
	}
	res, e := h.gate.Resolve(r.Context(), r)
	if e != nil {
		return nil, e
	}
	if res.Partial() {
		return nil, api.NewError(http.StatusUnauthorized, api.CodeInvalidToken)
	}
	return res, nil
}
