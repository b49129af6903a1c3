// Package guard checks the app's password and account-email routes that
// the module guards, and follows its refresh and logout routes. A guard runs after the gate let a request through: it reads
// the request strictly, applies its throttle or sudo requirement, forwards
// the request to the app and reads the app's response to count a guess,
// give a slot back, or end sessions. The app keeps owning passwords and email.
package guard

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

// Message codes of the guards' responses (docs/api.md). A reset gets
// 502 BAD_GATEWAY when the app's validate route gave a response that its
// rules do not recognise, so the code's validity is unknown.
const (
	CodeBadGateway                  = "BAD_GATEWAY"
	CodeTooManyOTPChecks            = "TOO_MANY_OTP_CHECKS"
	CodeTooManyResetMailAttempts    = "TOO_MANY_RESET_MAIL_ATTEMPTS"
	CodeTooManyTransferAttempts     = "TOO_MANY_TRANSFER_ATTEMPTS"
	CodeTooManyFailedPasswordChecks = "TOO_MANY_FAILED_PASSWORD_CHECKS"
)

// Kind names what a route is to the app; it picks the guard's rules.
type Kind string

// Route kinds, as the Caddyfile names them.
const (
	ResetSend     Kind = "reset_send"     // mails a password reset code
	ResetValidate Kind = "reset_validate" // checks a reset code
	ResetPassword Kind = "reset_password" // sets a password with a reset code
	OldPassword   Kind = "old_password"   // changes the password, given the old one
	EmailInitiate Kind = "email_initiate" // starts a change of the account email
	EmailChange   Kind = "email_change"   // completes a change of the account email
	Refresh       Kind = "refresh_route"  // issues a new credential for a login
	Logout        Kind = "logout"         // ends a login
)

// Route is one route the module guards or follows.
type Route struct {
	Kind Kind
	// Paths are matched against the canonical path as gate.MatchExact
	// matches: per segment cut at ";", case-insensitively, trailing slash
	// ignored. The first path is where synthetic requests go.
	Paths []string
	// Method, when set, is the only method matched (refresh and logout
	// routes). Empty: every method.
	Method string
	// Names of the request body fields the guard reads.
	EmailField, CodeField, TOTPField, RecoveryCodeField string
	// TokenField is the dotted path of the new token in the JSON response
	// of a refresh route. Empty: only carrier cookies in Set-Cookie count.
	TokenField string
	// Success and Failure recognise the app's response. A response is a
	// success when Success matches it and Failure does not.
	Success, Failure Rule
}

// guardedFields returns the body fields the guard reads, which may appear
// neither twice nor in the query string.
func (rt *Route) guardedFields() []string {
	switch rt.Kind {
	case ResetSend, EmailInitiate:
		return []string{rt.EmailField}
	case ResetValidate:
		return []string{rt.EmailField, rt.CodeField}
	case ResetPassword:
		return []string{rt.EmailField, rt.CodeField, rt.TOTPField, rt.RecoveryCodeField}
	}
	return nil
}

// succeeded reports whether the app's response is a success of this route.
func (rt *Route) succeeded(a *Response) bool {
	return rt.Success.Match(a) && !rt.Failure.Match(a)
}

// needsBody reports whether judging the response reads its body.
func (rt *Route) needsBody() bool {
	return rt.Success.Body != nil || rt.Failure.Body != nil || rt.TokenField != ""
}

// Resolver finds who sent a request; *gate.Gate implements it. Guards use
// it on synthetic requests that carry a refreshed credential.
type Resolver interface {
	Resolve(ctx context.Context, r *http.Request) (*gate.Resolution, *api.Error)
}

// Next passes a request on to the app.
type Next func(w http.ResponseWriter, r *http.Request) error

// Request is the gate's knowledge of a request that a guard handles.
type Request struct {
	Route *Route
	// Resolution is the gate's: the caller, with the sudo token checked,
	// and the identity (nil for a request that is not logged in).
	Resolution *gate.Resolution
	// VerifiedMethod is the method that verified the caller's session,
	// empty when the gate let the request through without a verified
	// session (2FA off, or report mode).
	VerifiedMethod string
	// Original holds the request headers as they were before the gate
	// removed the module cookie and tokens, for synthetic requests that
	// stand for the same client.
	Original http.Header
}

// sendLimiterKeys bounds the in-memory send throttle of reset_send.
const sendLimiterKeys = 100_000

// Guards holds the guarded routes and what their checks need. Set every
// field but Store before use, Store before the first request, and change
// none afterwards.
type Guards struct {
	Routes   []*Route
	Store    store.Store
	Sessions *account.Sessions
	// API checks the second factor sent with a password reset.
	API *api.Server
	// Resolver resolves the new credential of a refresh route.
	Resolver Resolver
	// Forget drops the identity source's cached identity of a request's
	// credential; nil when the source keeps no cache.
	Forget func(*http.Request)
	// Carriers are the app credential's carriers: a refresh route's new
	// credential is looked for in them.
	Carriers []identity.Carrier
	Logger   *zap.Logger
	Now      func() time.Time

	// NOTE: the reset mail limits live with this Guards, so a config
	// reload starts them afresh.
	sendsOnce sync.Once
	sends     *throttle.Limiter

	// unknownLogged is when the last "matched neither" warning was
	// logged, in Unix nanoseconds: any client can provoke one.
	unknownLogged atomic.Int64
}

// Match returns the route that the canonical path and r's method fall
// under, or nil.
func (g *Guards) Match(r *http.Request, path string) *Route {
	if g == nil {
		return nil
	}
	for _, rt := range g.Routes {
		if rt.Method != "" && !strings.EqualFold(rt.Method, r.Method) {
			continue
		}
		for _, p := range rt.Paths {
			if gate.MatchExact(path, p) {
				return rt
			}
		}
	}
	return nil
}

// route returns the configured route of a kind, or nil.
func (g *Guards) route(kind Kind) *Route {
	for _, rt := range g.Routes {
		if rt.Kind == kind {
			return rt
		}
	}
	return nil
}

// Serve checks a request that the gate let through on req.Route, and
// forwards it to next unless a check rejects it. The module's own error
// responses are written here, and a returned error is next's.
func (g *Guards) Serve(w http.ResponseWriter, r *http.Request, next Next, req Request) error {
	rt := req.Route
	if gate.ChangesState(r.Method) && gate.IsEarlyData(r) {
		api.WriteError(w, api.NewError(http.StatusTooEarly, api.CodeTooEarly))
		return nil
	}
	switch rt.Kind {
	case Refresh:
		return g.serveRefresh(w, r, next, req)
	case Logout:
		return g.serveLogout(w, r, next, req)
	}
	fields := rt.guardedFields()
	if !gate.ChangesState(r.Method) && !hasBody(r) && !queryHasField(r.URL.RawQuery, fields) {
		return next(w, r) // the app's own form page, say
	}
	b, e := readBody(r, fields)
	if e != nil {
		api.WriteError(w, e)
		return nil
	}

	switch rt.Kind {
	case ResetSend:
		return g.serveResetSend(w, r, next, req, b)
	case ResetValidate:
		return g.serveResetValidate(w, r, next, req, b)
	case ResetPassword:
		return g.serveResetPassword(w, r, next, req, b)
	case OldPassword:
		return g.serveOldPassword(w, r, next, req, b)
	case EmailInitiate:
		return g.serveEmailInitiate(w, r, next, req, b)
	case EmailChange:
		return g.serveEmailChange(w, r, next, req, b)
	}
	b.install(r, nil)
	return next(w, r)
}

// forward sends r to next through a watcher and returns the app's
// response, its body kept when rt's rules read it. It never changes the
// response.
func forward(w http.ResponseWriter, r *http.Request, next Next, rt *Route) (*Response, error) {
	if rt.needsBody() {
		// A body rule reads the response as the app wrote it, not compressed.
		r.Header.Del("Accept-Encoding")
	}
	ww := newWatcher(w, rt.needsBody())
	err := next(ww, r)
	return ww.response(), err
}

// writeStoreError logs a failed store transaction and responds 503.
func (g *Guards) writeStoreError(w http.ResponseWriter, err error, what string) {
	g.Logger.Error(what, zap.Error(err))
	api.WriteError(w, api.NewError(http.StatusServiceUnavailable, api.CodeStoreUnavailable))
}

// withoutModuleParts returns a request with the original headers minus the
// module cookie and tokens: the credential as the identity source saw it.
func withoutModuleParts(r *http.Request, original http.Header) *http.Request {
	clone := r.Clone(r.Context())
	if original != nil {
		clone.Header = original.Clone()
	}
	gate.StripModuleParts(clone.Header)
	return clone
}

// forget drops the cached identity of the request's original credential.
func (g *Guards) forget(r *http.Request, req Request) {
	if g.Forget != nil {
		g.Forget(withoutModuleParts(r, req.Original))
	}
}

// MatchesExactly reports whether r names the route exactly as configured:
// its method and one of its paths byte for byte. Lifting a gate stop needs
// this, not Match's folding, so that no other spelling the app may route
// elsewhere passes unverified.
func (rt *Route) MatchesExactly(r *http.Request, path string) bool {
	if rt.Method != "" && rt.Method != r.Method {
		return false
	}
	for _, p := range rt.Paths {
		if path == p {
			return true
		}
	}
	return false
}
