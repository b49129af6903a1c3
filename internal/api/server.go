package api

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
	"github.com/caddy-twofactor/caddy-twofactor/internal/metrics"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// Prefix is the path under which the module serves its API.
const Prefix = "/user/2fa"

// Config holds the settings of the API.
type Config struct {
	// Issuer names the site in authenticator apps. Empty: the request's host.
	Issuer string
	// Skew is the number of TOTP time steps accepted either side of now.
	Skew uint
	// SudoTTL is how long a sudo token is valid.
	SudoTTL time.Duration
}

// Server serves the 2FA API. Its fields must be set before use.
type Server struct {
	Store    store.Store
	Keys     *crypto.Keyring
	Sessions *account.Sessions
	Config   Config
	Now      func() time.Time
	Random   io.Reader
	Logger   *zap.Logger
	// Metrics counts second factors and mails; nil counts nothing.
	Metrics *metrics.Metrics
	// Mailer delivers email codes and notices; nil turns email OTP off
	// (its routes return 503 MAIL_DELIVERY_FAILED) and sends no notices.
	Mailer Mailer

	notices sync.WaitGroup
}

// Caller is who sent a request, as the gate resolved it.
type Caller struct {
	// UserID is empty when the request has no logged-in user.
	UserID string
	// Email is the address the identity source reports, if any.
	Email string
	// HasCredential reports whether the request carried any credential.
	HasCredential bool
	// SessionKey identifies the caller's session; empty when the session
	// cannot be verified (for example a cookie carrier without the module
	// cookie).
	SessionKey string
	// Rekey returns the session key for a new module cookie value; nil
	// when the session key does not include the module cookie.
	Rekey func(moduleCookie string) string
	// Sudo is the sudo token the request presented, already checked
	// against the caller's session.
	Sudo *account.SudoToken
	// HTTPS reports whether the client reached the site over HTTPS, which
	// picks the module cookie's name.
	HTTPS bool
	// ClientIP is the client address as Caddy resolved it, for logs.
	ClientIP string
	// PartialMAC is the store key of the held login whose partial token
	// the request presented, on the routes that accept one. The caller is
	// then the held login's credential, and a passed second factor
	// releases that login once.
	PartialMAC string
	// Release is what the held login gives the client once released.
	Release *Release
}

type route struct {
	method string
	auth   authLevel
	handle func(s *Server, w http.ResponseWriter, r *http.Request, c *Caller, body []byte) *Error
}

// authLevel is what a route needs of its caller.
type authLevel int

const (
	authCredential   authLevel = iota // a logged-in user
	authSudoIfActive                  // a sudo token, unless 2FA is off
	authSudo                          // a sudo token
)

var routes = map[string][]route{
	"":                            {{http.MethodGet, authCredential, (*Server).status}},
	"/totp/setup":                 {{http.MethodPost, authSudoIfActive, (*Server).totpSetup}},
	"/totp/enable":                {{http.MethodPost, authCredential, (*Server).totpEnable}},
	"/totp/authenticate":          {{http.MethodPost, authCredential, (*Server).totpAuthenticate}},
	"/totp/next-guess":            {{http.MethodGet, authCredential, (*Server).totpNextGuess}},
	"/totp":                       {{http.MethodDelete, authSudo, (*Server).totpDelete}},
	"/email-otp/setup":            {{http.MethodPost, authSudoIfActive, (*Server).emailSetup}},
	"/email-otp/enable":           {{http.MethodPost, authCredential, (*Server).emailEnable}},
	"/email-otp/challenge":        {{http.MethodPost, authCredential, (*Server).emailChallenge}},
	"/email-otp/authenticate":     {{http.MethodPost, authCredential, (*Server).emailAuthenticate}},
	"/email-otp/next-email":       {{http.MethodGet, authCredential, (*Server).emailNextEmail}},
	"/email-otp":                  {{http.MethodDelete, authSudo, (*Server).emailDelete}},
	"/recovery-code/authenticate": {{http.MethodPost, authCredential, (*Server).recoveryAuthenticate}},
	"/recovery-code/next-guess":   {{http.MethodGet, authCredential, (*Server).recoveryNextGuess}},
	"/recovery-code/reset":        {{http.MethodPost, authSudo, (*Server).recoveryReset}},
}

// Lookup finds the route for a path below Prefix (canonical, lower case,
// without a trailing slash) and a method. It returns false when the path
// is unknown, and a nil route with true when only the method is wrong.
func lookup(subpath, method string) (*route, bool) {
	candidates, ok := routes[subpath]
	if !ok {
		return nil, false
	}
	for i := range candidates {
		if candidates[i].method == method {
			return &candidates[i], true
		}
	}
	return nil, true
}

// ServeAPI serves a request for subpath, the part of the canonical path
// after Prefix, folded to lower case, cut at ';' per segment and without a
// trailing slash. The request hygiene of API.md section 2 (content type,
// CSRF, early data) is the caller's; ServeAPI reads and checks the body.
func (s *Server) ServeAPI(w http.ResponseWriter, r *http.Request, subpath string, c *Caller) {
	rt, known := lookup(subpath, r.Method)
	if !known {
		WriteError(w, NewError(http.StatusNotFound, CodeNotFound))
		return
	}
	if rt == nil {
		methods := make([]string, 0, 1)
		for _, candidate := range routes[subpath] {
			methods = append(methods, candidate.method)
		}
		w.Header().Set("Allow", strings.Join(methods, ", "))
		WriteError(w, NewError(http.StatusMethodNotAllowed, CodeMethodNotAllowed))
		return
	}
	if e := s.authorize(rt.auth, c); e != nil {
		WriteError(w, e)
		return
	}
	body, e := ReadBody(r)
	if e != nil {
		WriteError(w, e)
		return
	}
	if e := rt.handle(s, w, r, c, body); e != nil {
		if e.Status >= 500 {
			s.Logger.Error("2FA API request failed",
				zap.String("path", r.URL.Path), zap.String("user", c.UserID),
				zap.String("client_ip", c.ClientIP), zap.String("message", e.Message))
		}
		WriteError(w, e)
	}
}

// authorize checks what a route needs of the caller. Whether 2FA is on is
// checked again inside each handler's transaction for authSudoIfActive.
func (s *Server) authorize(level authLevel, c *Caller) *Error {
	if c.UserID == "" {
		if c.HasCredential {
			return NewError(http.StatusUnauthorized, CodeInvalidToken)
		}
		return NewError(http.StatusUnauthorized, CodeNoTokenProvided)
	}
	if level == authSudo && c.Sudo == nil {
		return NewError(http.StatusUnauthorized, CodeSudoTokenRequired)
	}
	return nil
}

// storeError maps a store failure to the API's error response.
func (s *Server) storeError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, store.ErrUnavailable) {
		s.Logger.Error("store unavailable", zap.Error(err))
		return NewError(http.StatusServiceUnavailable, CodeStoreUnavailable)
	}
	s.Logger.Error("store transaction failed", zap.Error(err))
	return NewError(http.StatusInternalServerError, CodeInternal)
}
