package caddymodule

import (
	"net"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/guard"
)

// ServeHTTP canonicalises the request, serves module routes, and lets
// other requests through the gate to next.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if !h.waitReady(r) {
		api.WriteError(w, api.NewError(http.StatusServiceUnavailable, api.CodeStoreUnavailable))
		return nil
	}
	gate.StripClientHeaders(r.Header)
	path, err := gate.Canonicalize(r.URL.EscapedPath(), h.AllowEncodedSlash)
	if err != nil {
		api.WriteError(w, api.BadRequest(err.Error()))
		return nil
	}
	r.URL.Path, r.URL.RawPath = path.Path, path.RawPath

	// A guarded route or a held login is never bypassed: a bypass matcher
	// that covers one would switch off its throttles and second factor.
	route := h.guards.Match(r, path.Path)
	hold := h.matchLoginHold(r, path.Path)
	switch {
	case gate.MatchPrefix(path.Path, h.UIPath):
		h.ui.ServeHTTP(w, r)
		return nil
	case gate.MatchPrefix(path.Path, api.Prefix):
		h.serveAPI(w, r, path.Path)
		return nil
	case route == nil && hold == nil && h.bypassed(r, path.Path):
		gate.StripModuleParts(r.Header)
		return next.ServeHTTP(w, r)
	}

	// A guarded route needs the headers as the client sent them, module
	// cookie included, which Check removes before forwarding.
	var original http.Header
	if route != nil {
		original = r.Header.Clone()
	}
	res, e := h.gate.Resolve(r.Context(), r)
	if e != nil {
		h.countDecision(nil, gate.Decision{Error: e})
		api.WriteError(w, e)
		return nil
	}
	decision := h.gate.Check(r, res)
	h.countDecision(res, decision)
	exact := (hold != nil && hold.method == r.Method && hold.path == path.Path) ||
		(route != nil && route.Kind == guard.Logout && route.MatchesExactly(r, path.Path))
	if startsOver(decision, exact) {
		// A login or logout replaces or ends the credential the gate
		// stopped, so a user at the challenge can still log out or log in
		// as someone else. Check has removed the module's parts already.
		decision = gate.Decision{}
	}
	switch {
	case decision.Error != nil:
		api.WriteError(w, decision.Error)
		return nil
	case decision.Redirect != "":
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, decision.Redirect, http.StatusSeeOther)
		return nil
	}
	if decision.UserID != "" {
		r.Header.Set(gate.UserHeader, decision.UserID)
		r.Header.Set(gate.MethodHeader, decision.Method)
		if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
			repl.Set("http.twofactor.user", decision.UserID)
			repl.Set("http.twofactor.method", decision.Method)
			repl.Set("http.auth.user.id", decision.UserID)
		}
	}
	if hold != nil {
		return h.serveLoginHold(w, r, next, hold)
	}
	if route != nil {
		return h.guards.Serve(w, r, next.ServeHTTP, guard.Request{Route: route, Resolution: res,
			VerifiedMethod: decision.Method, Original: original})
	}
	return next.ServeHTTP(w, r)
}

// startsOver reports whether a gate stop is lifted for a route that logs
// in or out: only a second factor or enrolment the session lacks is
// lifted, never an error of the request or the store.
func startsOver(d gate.Decision, loginOrLogout bool) bool {
	if !loginOrLogout {
		return false
	}
	if d.Redirect != "" {
		return true
	}
	return d.Error != nil &&
		(d.Error.Message == api.Code2FARequired || d.Error.Message == api.CodeEnrollmentRequired)
}

// serveAPI serves a route of the 2FA API.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, path string) {
	if gate.CORS(w, r, h.AllowedOrigins) {
		return
	}
	if e := h.gate.CheckAPIRequest(r, h.AllowedOrigins); e != nil {
		api.WriteError(w, e)
		return
	}
	subpath := apiSubpath(path)
	res, e := h.resolveAPI(r, subpath)
	if e != nil {
		api.WriteError(w, e)
		return
	}
	h.api.ServeAPI(w, r, subpath, res.Caller)
}

// apiSubpath returns the part of a canonical path after /user/2fa, folded
// as route matching folds it: each segment cut at ';' and lower-cased, and
// no trailing slash.
func apiSubpath(path string) string {
	segments := strings.Split(strings.Trim(path, "/"), "/")
	var b strings.Builder
	for i, segment := range segments {
		name, _, _ := strings.Cut(segment, ";")
		if i < 2 || name == "" {
			continue
		}
		b.WriteString("/")
		b.WriteString(strings.ToLower(name))
	}
	return b.String()
}

// bypassed reports whether a bypass prefix or matcher covers the request.
func (h *Handler) bypassed(r *http.Request, path string) bool {
	for _, prefix := range h.BypassPaths {
		if gate.MatchPrefix(path, prefix) {
			return true
		}
	}
	// Named matchers see path parameters (";x"), which apps such as
	// Tomcat drop before routing: "/admin;.css" would pass a *.css matcher
	// and reach /admin. Such paths are never bypassed by a matcher.
	if len(h.bypass) == 0 || strings.Contains(path, ";") {
		return false
	}
	match, err := h.bypass.AnyMatchWithError(r)
	if err != nil {
		h.logger.Error("bypass matcher failed; not bypassing", zap.Error(err))
		return false
	}
	return match
}

// isHTTPS reports whether the client reached the site over HTTPS: directly,
// or through a proxy in trusted_proxies that reports it in X-Forwarded-Proto.
func isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool)
	return trusted && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

// originalURI returns the request URI as the client sent it: Caddy keeps
// a copy of the request before any rewrite in the request context.
func originalURI(r *http.Request) string {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok {
		return orig.RequestURI
	}
	return r.RequestURI
}

// clientIP returns the client address Caddy resolved, which honours
// trusted_proxies, never a raw X-Forwarded-For.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
