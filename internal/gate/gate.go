package gate

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// Headers the gate sets on requests it lets through.
const (
	UserHeader   = "X-2FA-User"
	MethodHeader = "X-2FA-Method"
)

// Gate decides, per request, whether a logged-in request may reach the app.
// Its fields must be set before use and not changed afterwards.
type Gate struct {
	Store    store.Store
	Keys     *crypto.Keyring
	Sessions *account.Sessions
	Source   identity.Source
	Logger   *zap.Logger
	Now      func() time.Time

	// Carriers lists every credential carrier the app accepts.
	Carriers []identity.Carrier
	// AnyCredential makes any Cookie or Authorization header count as a
	// credential (the introspect source, which lets the app judge them).
	AnyCredential bool
	// ModuleCookieAlways includes the module cookie in every session key
	// (the placeholder source, whose credential the module cannot see).
	ModuleCookieAlways bool
	// PassHeaders are headers kept on the way to the app although they are
	// neither carriers nor module headers (for example an Authorization the
	// app reads for something else).
	PassHeaders []string
	// EnforceRequired stops users without an active method.
	EnforceRequired bool
	// Report logs the 2FA_REQUIRED and enrolment stops of the gate instead of
	// returning them, and forwards the request.
	Report bool
	// UIPath is the path prefix of the built-in pages.
	UIPath string
	// IsHTTPS reports whether the client reached the site over HTTPS.
	IsHTTPS func(*http.Request) bool
	// ClientIP returns the client address for logs and throttles.
	ClientIP func(*http.Request) string
	// OriginalURI returns the request URI as the client sent it, before
	// rewrites such as handle_path, which Caddy applies to r.RequestURI too.
	// Nil: r.RequestURI.
	OriginalURI func(*http.Request) string
	// Emails, when set, learns each user's address from the identities
	// Resolve finds, for the password reset guard. Nil: no index.
	Emails *account.EmailIndex
}

func (g *Gate) isHTTPS(r *http.Request) bool {
	return g.IsHTTPS != nil && g.IsHTTPS(r)
}

// Decision is the outcome of Check for a request that is not a module route.
type Decision struct {
	// Error, when set, is the response; Redirect, when set, a 303 target.
	Error    *api.Error
	Redirect string
	// UserID and Method are set when the request passes as a verified session.
	UserID, Method string
}

// Check runs the gate's steps on a request for the app. On a pass it
// prepares r for forwarding: it removes rejected carriers, module tokens
// and the module cookie, and sets the X-2FA-* headers.
func (g *Gate) Check(r *http.Request, res *Resolution) Decision {
	defer g.prepareForward(r, res)
	caller := res.Caller
	if res.partial {
		return Decision{Error: api.NewError(http.StatusUnauthorized, api.CodeInvalidToken)}
	}
	// A sudo token alone proves nothing to the app, which never sees it:
	// without an app credential the request goes on as anonymous.
	if res.Identity == nil {
		return Decision{}
	}

	method, verified, err := g.Sessions.Verified(caller.UserID, caller.SessionKey)
	if err != nil {
		g.Logger.Error("reading session failed", zap.Error(err), zap.String("user", caller.UserID))
		return Decision{Error: api.NewError(http.StatusServiceUnavailable, api.CodeStoreUnavailable)}
	}
	if verified {
		return Decision{UserID: caller.UserID, Method: method}
	}

	var u *account.User
	err = g.Store.View(func(tx store.Tx) error {
		u, err = account.LoadUser(tx, caller.UserID)
		return err
	})
	if err != nil {
		g.Logger.Error("reading user failed", zap.Error(err), zap.String("user", caller.UserID))
		return Decision{Error: api.NewError(http.StatusServiceUnavailable, api.CodeStoreUnavailable)}
	}
	if !u.Enabled() {
		if !g.EnforceRequired {
			return Decision{}
		}
		return g.stop(r, caller, api.NewError(http.StatusForbidden, api.CodeEnrollmentRequired), "enroll")
	}
	e := api.NewError(http.StatusUnauthorized, api.Code2FARequired)
	e.Methods = u.ActiveMethods()
	return g.stop(r, caller, e, "challenge")
}

// stop returns e, or redirects a browser navigation to page, or in report
// mode logs and lets the request through.
func (g *Gate) stop(r *http.Request, caller *api.Caller, e *api.Error, page string) Decision {
	if g.Report {
		g.Logger.Warn("report mode: request would be stopped", zap.String("user", caller.UserID),
			zap.String("message", e.Message), zap.String("path", r.URL.Path),
			zap.String("client_ip", caller.ClientIP))
		return Decision{}
	}
	g.Logger.Info("request stopped by the gate", zap.String("user", caller.UserID),
		zap.String("message", e.Message), zap.String("path", r.URL.Path),
		zap.String("client_ip", caller.ClientIP))
	if IsBrowserNavigation(r) {
		uri := r.RequestURI
		if g.OriginalURI != nil {
			uri = g.OriginalURI(r)
		}
		return Decision{Redirect: pageRedirect(uri, g.UIPath, page)}
	}
	return Decision{Error: e}
}

// prepareForward strips from r everything the app must not see: carriers
// that failed verification, module tokens, the module's cookies, and any
// Authorization header that is neither a carrier (with its scheme) nor
// passed through.
func (g *Gate) prepareForward(r *http.Request, res *Resolution) {
	for _, p := range res.Rejected {
		identity.RemoveCarrier(r.Header, p.Carrier)
	}
	StripModuleParts(r.Header)
	if g.passes("Authorization") {
		return
	}
	for key, values := range r.Header {
		if !strings.EqualFold(key, "Authorization") {
			continue
		}
		kept := values[:0]
		for _, value := range values {
			if g.isCarrierValue(value) {
				kept = append(kept, value)
			}
		}
		if len(kept) == 0 {
			delete(r.Header, key)
		} else {
			r.Header[key] = kept
		}
	}
}

// StripModuleParts removes the module's cookies and tokens from h, under
// any spelling of the header names.
func StripModuleParts(h http.Header) {
	identity.RemoveCookies(h, api.ModuleCookies...)
	for key, values := range h {
		switch {
		case strings.EqualFold(key, SudoHeader):
			delete(h, key)
		case strings.EqualFold(key, "Authorization") && slices.ContainsFunc(values, identity.IsModuleToken):
			delete(h, key)
		}
	}
}

// passes reports whether a header is listed in pass_header.
func (g *Gate) passes(name string) bool {
	return slices.ContainsFunc(g.PassHeaders, func(h string) bool {
		return strings.EqualFold(h, name)
	})
}

// isCarrierValue reports whether an Authorization value belongs to a
// configured carrier: an Authorization carrier without a scheme, or one
// whose scheme the value has.
func (g *Gate) isCarrierValue(value string) bool {
	scheme, _, _ := strings.Cut(strings.TrimSpace(value), " ")
	for _, c := range g.Carriers {
		if c.Kind != identity.CarrierHeader || !strings.EqualFold(c.Name, "Authorization") {
			continue
		}
		if c.Scheme == "" || strings.EqualFold(c.Scheme, scheme) {
			return true
		}
	}
	return false
}

// withoutModuleParts returns a shallow copy of r whose headers lack the
// module cookie and tokens, for identity sources that forward headers.
// The copy's header map is its own, but it shares the header values with
// r, which no source modifies.
func (g *Gate) withoutModuleParts(r *http.Request) *http.Request {
	clone := r.WithContext(r.Context())
	clone.Header = maps.Clone(r.Header)
	StripModuleParts(clone.Header)
	return clone
}

// sessionKeys sets the caller's session key: an HMAC of
// the user id and the accepted carriers' values, or of the user id and the
// JWT session claim, plus the module cookie for cookie, Basic and
// placeholder credentials.
func (g *Gate) sessionKeys(r *http.Request, caller *api.Caller, id *identity.Identity, carriers []identity.Presented) {
	parts := []string{id.UserID}
	if id.SessionID != "" {
		parts = append(parts, "sid", id.SessionID)
	}
	needsCookie := g.ModuleCookieAlways
	for _, p := range carriers {
		if id.SessionID == "" {
			parts = append(parts, p.Carrier.String(), p.Value)
		}
		if p.Carrier.Kind == identity.CarrierCookie || strings.EqualFold(p.Carrier.Scheme, "Basic") ||
			(p.Carrier.Scheme == "" && strings.HasPrefix(strings.ToLower(p.Value), "basic ")) {
			needsCookie = true
		}
	}
	if len(carriers) == 0 && !g.ModuleCookieAlways {
		return
	}
	key := func(moduleCookie string) string {
		// A new slice: appending to parts could write into its spare
		// capacity, which every call of this closure shares.
		withCookie := slices.Concat(parts, []string{"module cookie", moduleCookie})
		return g.Keys.Current.MAC("session", withCookie...)
	}
	if !needsCookie {
		caller.SessionKey = g.Keys.Current.MAC("session", parts...)
		return
	}
	caller.Rekey = key
	if c, err := r.Cookie(api.ModuleCookieName(caller.HTTPS)); err == nil && c.Value != "" {
		caller.SessionKey = key(c.Value)
	}
}
