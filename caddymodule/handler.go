package caddymodule

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/guard"
	"github.com/caddy-twofactor/caddy-twofactor/internal/metrics"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
	"github.com/caddy-twofactor/caddy-twofactor/internal/ui"
)

// Defaults of the handler's settings.
const (
	DefaultRealm       = "default"
	DefaultSessionTTL  = 12 * time.Hour
	DefaultSessionIdle = 30 * time.Minute
	DefaultSudoTTL     = 5 * time.Minute
	DefaultTOTPSkew    = 1
	DefaultUIPath      = "/user/2fa/ui"
	// maxTOTPSkew bounds totp_skew: each step widens the window a guessed
	// code can hit by 30 s either way.
	maxTOTPSkew = 5
)

// Handler puts two-factor authentication in front of an app. It serves the
// 2FA API under /user/2fa and the built-in pages under ui_path, and lets a
// logged-in request through only when its session passed a second factor.
type Handler struct {
	// DB is the path of the bbolt database file. Default: twofactor.db in
	// Caddy's data directory.
	DB string `json:"db,omitempty"`
	// Realm is the namespace of users in the database. Two handlers that
	// share a database must name different realms. Default: "default".
	Realm string `json:"realm,omitempty"`
	// SecretKey is the server secret, at least 32 bytes, usually a
	// placeholder such as {env.TWOFACTOR_SECRET} or {file./path}, replaced
	// when the config is provisioned. Default: a random key created once in
	// a 0600 file under secrets/ in Caddy's data directory.
	SecretKey string `json:"secret_key,omitempty"`
	// PreviousKeys are earlier secret keys, still accepted for data written
	// under them while a key rotation is under way.
	PreviousKeys []string `json:"previous_keys,omitempty"`
	// Credentials lists every carrier the app authenticates requests by.
	Credentials []CredentialConfig `json:"credentials,omitempty"`
	// PassHeaders are headers kept on the way to the app although the
	// module would otherwise remove them (an Authorization header that is
	// not a carrier).
	PassHeaders []string `json:"pass_headers,omitempty"`
	// Identity configures how the module learns the user of a request.
	Identity IdentityConfig `json:"identity"`
	// Enforce is "optional" (users without 2FA pass) or "required" (they
	// must enrol first). Default: "optional".
	Enforce string `json:"enforce,omitempty"`
	// Mode is "enforce" or "report" (log what the gate would stop, and let
	// it through). Default: "enforce".
	Mode string `json:"mode,omitempty"`
	// BypassPaths are path prefixes the gate lets through unchecked,
	// matched per segment, case-insensitively.
	BypassPaths []string `json:"bypass_paths,omitempty"`
	// BypassMatchers are matcher sets whose requests the gate lets through.
	BypassMatchersRaw caddyhttp.RawMatcherSets `json:"bypass_matchers,omitempty" caddy:"namespace=http.matchers"`
	// AllowedOrigins are origins, besides the site's own, whose
	// cookie-carrying requests may change state.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	// AllowEncodedSlash lets %2F through in paths. Default: false (400).
	AllowEncodedSlash bool `json:"allow_encoded_slash,omitempty"`
	// Issuer names the site in authenticator apps. Default: the request's host.
	Issuer string `json:"issuer,omitempty"`
	// SessionTTL is how long a session stays verified after its second
	// factor, in nanoseconds in JSON (a duration string in the Caddyfile).
	// Default: 12h.
	SessionTTL caddy.Duration `json:"session_ttl,omitempty"`
	// SessionIdle ends a verified session unused this long. Default: 30m.
	SessionIdle caddy.Duration `json:"session_idle,omitempty"`
	// SudoTTL is how long a sudo token is valid. Default: 5m.
	SudoTTL caddy.Duration `json:"sudo_ttl,omitempty"`
	// TOTPSkew is the number of 30 s time steps accepted either side of
	// now, from 0 to 5. Default: 1.
	TOTPSkew *int `json:"totp_skew,omitempty"`
	// UIPath is the path prefix of the built-in pages. Default: /user/2fa/ui.
	UIPath string `json:"ui_path,omitempty"`
	// SMTP configures mail delivery of email codes and notices. Without
	// it, email OTP is off and no notices are sent.
	SMTP *SMTPConfig `json:"smtp,omitempty"`
	// MailTemplates is a folder whose templates (<lang>/<kind>.tmpl)
	// replace the embedded ones. Default: none.
	MailTemplates string `json:"mail_templates,omitempty"`
	// Guards configures the guards of the app's password and account-email
	// routes. Default: every guard on with its default paths.
	Guards GuardsConfig `json:"guards,omitzero"`
	// RefreshRoutes are app routes that issue a new credential for a
	// login; a verified session's new credential stays verified.
	RefreshRoutes []RouteConfig `json:"refresh_routes,omitempty"`
	// LogoutRoutes are app routes that end a login; after the app's
	// success the session is no longer verified.
	LogoutRoutes []RouteConfig `json:"logout_routes,omitempty"`
	// LoginHolds are the app's login routes whose successful responses the
	// module holds back until the user passes the second factor. Default:
	// none. A login then reaches the client at once, and the gate stops its
	// requests until the second factor.
	LoginHolds []LoginHoldConfig `json:"login_holds,omitempty"`

	logger     *zap.Logger
	ctx        caddy.Context
	dbPath     string
	keys       *crypto.Keyring
	bypass     caddyhttp.MatcherSets
	gate       *gate.Gate
	api        *api.Server
	ui         *ui.Pages
	guards     *guard.Guards
	holds      []*loginHold
	sessions   *account.Sessions
	ready      chan struct{}
	readyOnce  sync.Once
	db         *store.Bolt
	storeOwner bool
	metrics    *metrics.Metrics
}

// CaddyModule returns the Caddy module information.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.twofactor",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision checks and prepares the configuration. It does not open the
// database: App.Start does, so `caddy validate` leaves the file alone.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.ctx = ctx
	h.logger = ctx.Logger()
	h.ready = make(chan struct{})
	h.applyDefaults()
	if err := h.checkSettings(); err != nil {
		return err
	}
	if err := h.loadKeys(); err != nil {
		return err
	}
	if h.BypassMatchersRaw != nil {
		mods, err := ctx.LoadModule(h, "BypassMatchersRaw")
		if err != nil {
			return fmt.Errorf("loading bypass matchers: %v", err)
		}
		if err := h.bypass.FromInterface(mods); err != nil {
			return fmt.Errorf("loading bypass matchers: %v", err)
		}
	}
	source, sourceInfo, err := h.Identity.build(h)
	if err != nil {
		return err
	}

	h.sessions = &account.Sessions{
		Policy: account.SessionPolicy{TTL: time.Duration(h.SessionTTL), Idle: time.Duration(h.SessionIdle)},
		Now:    time.Now,
	}
	h.gate = &gate.Gate{
		Keys:               h.keys,
		Sessions:           h.sessions,
		Source:             source,
		Logger:             h.logger,
		Now:                time.Now,
		Carriers:           h.carriers(),
		AnyCredential:      sourceInfo.anyCredential,
		ModuleCookieAlways: sourceInfo.moduleCookieAlways,
		PassHeaders:        h.PassHeaders,
		EnforceRequired:    h.Enforce == "required",
		Report:             h.Mode == "report",
		UIPath:             h.UIPath,
		IsHTTPS:            isHTTPS,
		Emails:             &account.EmailIndex{},
		ClientIP:           clientIP,
		OriginalURI:        originalURI,
	}
	skew := uint(*h.TOTPSkew)
	h.api = &api.Server{
		Keys:     h.keys,
		Sessions: h.sessions,
		Config: api.Config{
			Issuer:  h.Issuer,
			Skew:    skew,
			SudoTTL: time.Duration(h.SudoTTL),
		},
		Now:    time.Now,
		Random: rand.Reader,
		Logger: h.logger,
	}
	mailer, err := h.buildMailer()
	if err != nil {
		return err
	}
	if mailer != nil {
		h.api.Mailer = mailer
	}
	if registry := ctx.GetMetricsRegistry(); registry != nil {
		if h.metrics, err = metrics.Register(registry); err != nil {
			return err
		}
		h.api.Metrics = h.metrics
	}
	if h.guards, err = h.buildGuards(source, h.Identity.missingEmail()); err != nil {
		return err
	}
	if h.holds, err = h.buildLoginHolds(); err != nil {
		return err
	}
	h.ui = &ui.Pages{API: h.api, Gate: h.gate, Path: h.UIPath, Keys: h.keys, AllowedOrigins: h.AllowedOrigins}

	app, err := ctx.App("twofactor")
	if err != nil {
		return fmt.Errorf("loading the twofactor app: %v", err)
	}
	app.(*App).register(h)
	return nil
}

func (h *Handler) applyDefaults() {
	if h.Realm == "" {
		h.Realm = DefaultRealm
	}
	if h.SessionTTL == 0 {
		h.SessionTTL = caddy.Duration(DefaultSessionTTL)
	}
	if h.SessionIdle == 0 {
		h.SessionIdle = caddy.Duration(DefaultSessionIdle)
	}
	if h.SudoTTL == 0 {
		h.SudoTTL = caddy.Duration(DefaultSudoTTL)
	}
	if h.TOTPSkew == nil {
		skew := DefaultTOTPSkew
		h.TOTPSkew = &skew
	}
	if h.UIPath == "" {
		h.UIPath = DefaultUIPath
	}
	if h.Enforce == "" {
		h.Enforce = "optional"
	}
	if h.Mode == "" {
		h.Mode = "enforce"
	}
	h.dbPath = h.DB
	if h.dbPath == "" {
		h.dbPath = filepath.Join(caddy.AppDataDir(), "twofactor.db")
	}
	if abs, err := filepath.Abs(h.dbPath); err == nil {
		h.dbPath = abs
	}
}

// checkSettings validates the plain settings, naming the field and the fix.
func (h *Handler) checkSettings() error {
	if !store.ValidRealm(h.Realm) {
		return fmt.Errorf("realm %q is invalid: use 1 to 64 letters, digits, '.', '_' or '-', "+
			"not starting with '.', such as default or shop-eu", h.Realm)
	}
	if h.Enforce != "optional" && h.Enforce != "required" {
		return fmt.Errorf("enforce is %q, want optional or required", h.Enforce)
	}
	if h.Mode != "enforce" && h.Mode != "report" {
		return fmt.Errorf("mode is %q, want enforce or report", h.Mode)
	}
	if *h.TOTPSkew < 0 || *h.TOTPSkew > maxTOTPSkew {
		return fmt.Errorf("totp_skew is %d, want 0 to %d time steps", *h.TOTPSkew, maxTOTPSkew)
	}
	if h.SessionTTL < 0 || h.SessionIdle < 0 || h.SudoTTL < 0 {
		return fmt.Errorf("session_ttl, session_idle and sudo_ttl must be positive durations")
	}
	if canonical, err := gate.Canonicalize(h.UIPath, false); err != nil || canonical.Path != h.UIPath ||
		h.UIPath == "/" || strings.HasSuffix(h.UIPath, "/") || strings.Contains(h.UIPath, ";") {
		return fmt.Errorf("ui_path is %q, want a canonical absolute path without a trailing slash, "+
			"empty segments, dot segments or ';', such as %s", h.UIPath, DefaultUIPath)
	}
	for _, p := range h.BypassPaths {
		if len(p) == 0 || p[0] != '/' {
			return fmt.Errorf("bypass path %q must start with /", p)
		}
		if gate.MatchPrefix(api.Prefix, p) || gate.MatchPrefix(p, api.Prefix) {
			return fmt.Errorf("bypass path %q overlaps the module's own routes under %s", p, api.Prefix)
		}
	}
	if err := h.checkCredentials(); err != nil {
		return err
	}
	return nil
}

// start opens the store and checks the key; App.Start calls it.
func (h *Handler) start() error {
	shared, err := openStore(h.dbPath, h.logger)
	if err != nil {
		return err
	}
	db := shared.db
	h.db, h.storeOwner = db, true
	previous := make([][]byte, len(h.keys.Previous))
	for i, k := range h.keys.Previous {
		previous[i] = k.CheckValue()
	}
	if err := store.CheckMeta(db, h.Realm, h.keys.Current.CheckValue(), previous); err != nil {
		h.stop()
		return fmt.Errorf("database %s, realm %q: %w", h.dbPath, h.Realm, err)
	}
	realm := store.WithRealm(db, h.Realm)
	h.sessions.Store = realm
	h.sessions.Cache = shared.sessionCache(h.Realm)
	h.gate.Store = realm
	h.api.Store = realm
	h.gate.Emails.Store = realm
	if h.guards != nil {
		h.guards.Store = realm
	}
	running.add(h)
	h.readyOnce.Do(func() { close(h.ready) })
	h.logger.Info("twofactor handler started", zap.String("realm", h.Realm),
		zap.String("db", h.dbPath), zap.String("mode", h.Mode), zap.String("enforce", h.Enforce))
	return nil
}

// stop releases the store; App.Stop calls it.
func (h *Handler) stop() {
	running.remove(h)
	if h.storeOwner {
		h.storeOwner = false
		releaseStore(h.dbPath)
	}
}

// waitReady holds a request until App.Start opened the store: Caddy starts
// its apps in no fixed order, so the HTTP server may take a request a moment
// before this handler's store is ready.
func (h *Handler) waitReady(r *http.Request) bool {
	select {
	case <-h.ready:
		return true
	default:
	}
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case <-h.ready:
		return true
	case <-timer.C:
	case <-r.Context().Done():
	case <-h.ctx.Done():
	}
	return false
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
