package caddymodule

import (
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
)

// CredentialConfig is one carrier of the app credential.
type CredentialConfig struct {
	// Kind is "cookie" or "header".
	Kind string `json:"kind"`
	// Name is the cookie name (exact) or header name.
	Name string `json:"name"`
	// Scheme is the header's authentication scheme, e.g. "Bearer"; empty
	// takes the whole header value.
	Scheme string `json:"scheme,omitempty"`
}

// IdentityConfig configures how the module learns the user of a request. Exactly
// one source is set.
type IdentityConfig struct {
	// Introspect requests from the app the user a credential belongs to.
	Introspect *IntrospectConfig `json:"introspect,omitempty"`
	// JWT verifies bearer tokens the app issued.
	JWT *JWTConfig `json:"jwt,omitempty"`
	// Placeholder reads what an earlier handler (basic_auth, forward_auth) set.
	Placeholder *PlaceholderConfig `json:"placeholder,omitempty"`
}

// IntrospectConfig configures the introspect identity source.
type IntrospectConfig struct {
	// URL is the app endpoint that returns the logged-in user as JSON.
	URL string `json:"url"`
	// UserField is the dotted JSON path of the user id. Default: "id".
	UserField string `json:"user_field,omitempty"`
	// EmailField is the dotted JSON path of the email. Default: "email".
	EmailField string `json:"email_field,omitempty"`
	// AnonymousStatus lists statuses that mean "not logged in".
	// Default: 401 and 403.
	AnonymousStatus []int `json:"anonymous_status,omitempty"`
	// AnonymousID lists user ids that mean "not logged in", e.g. "0".
	AnonymousID []string `json:"anonymous_id,omitempty"`
	// Cache is how long a logged-in response is reused for the same
	// credential. Default: 30s. Set "cache 0" (JSON: -1) to disable it.
	Cache caddy.Duration `json:"cache,omitempty"`
	// Timeout bounds one introspection request. Default: 5s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
}

// JWTConfig configures the jwt identity source.
type JWTConfig struct {
	// HMACSecret is the HS256/384/512 secret; a placeholder such as
	// {env.JWT_SECRET} is replaced at provision time.
	HMACSecret string `json:"hmac_secret,omitempty"`
	// PublicKeyFile is a PEM public key or certificate (RS, PS, ES or EdDSA).
	PublicKeyFile string `json:"public_key_file,omitempty"`
	// Issuer is the required iss claim, when set.
	Issuer string `json:"issuer,omitempty"`
	// Audience must be among the aud claim's values, when set.
	Audience string `json:"audience,omitempty"`
	// UserClaim holds the user id. Default: "sub".
	UserClaim string `json:"user_claim,omitempty"`
	// EmailClaim holds the email. Default: "email".
	EmailClaim string `json:"email_claim,omitempty"`
	// SessionClaim holds a session id that stays the same across token
	// refreshes, e.g. "sid"; sessions are then keyed by it.
	SessionClaim string `json:"session_claim,omitempty"`
}

// PlaceholderConfig configures the placeholder identity source.
type PlaceholderConfig struct {
	// User is the placeholder of the user id, e.g. "{http.auth.user.id}".
	User string `json:"user"`
	// Email is the placeholder of the email, optional.
	Email string `json:"email,omitempty"`
}

// sourceInfo describes to the gate how a source counts credentials.
type sourceInfo struct {
	anyCredential      bool
	moduleCookieAlways bool
}

// build creates the configured identity source.
func (c *IdentityConfig) build(h *Handler) (identity.Source, sourceInfo, error) {
	set := 0
	for _, configured := range []bool{c.Introspect != nil, c.JWT != nil, c.Placeholder != nil} {
		if configured {
			set++
		}
	}
	if set != 1 {
		return nil, sourceInfo{}, fmt.Errorf("identity: configure exactly one source " +
			"(introspect, jwt or placeholder)")
	}
	switch {
	case c.Introspect != nil:
		source, err := c.Introspect.build()
		return source, sourceInfo{anyCredential: true}, err
	case c.JWT != nil:
		if !hasHeaderCarrier(h.Credentials) && !hasCookieCarrier(h.Credentials) {
			return nil, sourceInfo{}, fmt.Errorf("identity jwt: no credential carrier is configured: " +
				"add `credential header Authorization Bearer` (or the cookie that holds the token)")
		}
		source, err := c.JWT.build()
		return source, sourceInfo{}, err
	default:
		source, err := c.Placeholder.build()
		return source, sourceInfo{moduleCookieAlways: true}, err
	}
}

func (c *IntrospectConfig) build() (identity.Source, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("identity introspect: URL %q must be an absolute http or https URL", c.URL)
	}
	for _, status := range c.AnonymousStatus {
		if status < 100 || status > 599 {
			return nil, fmt.Errorf("identity introspect: anonymous_status %d is not an HTTP status", status)
		}
	}
	cfg := identity.IntrospectConfig{
		URL:             c.URL,
		Timeout:         time.Duration(c.Timeout),
		UserField:       c.UserField,
		EmailField:      c.EmailField,
		AnonymousStatus: c.AnonymousStatus,
		AnonymousID:     c.AnonymousID,
	}
	if c.Cache != 0 {
		cache := max(time.Duration(c.Cache), 0)
		cfg.Cache = &cache
	}
	return identity.NewIntrospect(cfg)
}

func (c *JWTConfig) build() (identity.Source, error) {
	cfg := identity.JWTConfig{
		Issuer:       c.Issuer,
		Audience:     c.Audience,
		UserClaim:    c.UserClaim,
		EmailClaim:   c.EmailClaim,
		SessionClaim: c.SessionClaim,
	}
	switch {
	case c.HMACSecret != "" && c.PublicKeyFile != "":
		return nil, fmt.Errorf("identity jwt: set hmac_secret or public_key_file, not both")
	case c.HMACSecret != "":
		secret, err := replaceSecret(c.HMACSecret)
		if err != nil {
			return nil, fmt.Errorf("identity jwt: hmac_secret: %v", err)
		}
		cfg.HMACSecret = []byte(secret)
	case c.PublicKeyFile != "":
		pem, err := os.ReadFile(c.PublicKeyFile)
		if err != nil {
			return nil, fmt.Errorf("identity jwt: reading public_key_file: %v", err)
		}
		cfg.PublicKeyPEM = pem
	default:
		return nil, fmt.Errorf("identity jwt: set hmac_secret or public_key_file")
	}
	source, err := identity.NewJWT(cfg)
	if err != nil {
		return nil, fmt.Errorf("identity jwt: %v", err)
	}
	return source, nil
}

func (c *PlaceholderConfig) build() (identity.Source, error) {
	if !strings.HasPrefix(c.User, "{") || !strings.HasSuffix(c.User, "}") {
		return nil, fmt.Errorf("identity placeholder: %q is not a placeholder such as {http.auth.user.id}", c.User)
	}
	user, email := c.User, c.Email
	return identity.NewPlaceholder(func(r *http.Request) (string, string) {
		repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
		if !ok {
			return "", ""
		}
		var mail string
		if email != "" {
			mail = repl.ReplaceKnown(email, "")
		}
		return repl.ReplaceKnown(user, ""), mail
	}), nil
}

// carriers converts the credential config for the gate.
func (h *Handler) carriers() []identity.Carrier {
	out := make([]identity.Carrier, len(h.Credentials))
	for i, c := range h.Credentials {
		kind := identity.CarrierCookie
		name := c.Name
		if c.Kind == "header" {
			kind = identity.CarrierHeader
			name = textproto.CanonicalMIMEHeaderKey(name)
		}
		out[i] = identity.Carrier{Kind: kind, Name: name, Scheme: c.Scheme}
	}
	return out
}

func (h *Handler) checkCredentials() error {
	seen := map[string]bool{}
	for _, c := range h.Credentials {
		if c.Kind != "cookie" && c.Kind != "header" {
			return fmt.Errorf("credential kind %q: want cookie or header", c.Kind)
		}
		if c.Name == "" {
			return fmt.Errorf("credential %s: the name is missing", c.Kind)
		}
		if c.Kind == "cookie" && api.IsModuleCookie(c.Name) {
			return fmt.Errorf("credential cookie %q is one of the module's own cookies: name the app's cookie", c.Name)
		}
		key := c.Kind + " " + strings.ToLower(c.Name) + " " + strings.ToLower(c.Scheme)
		if c.Kind == "cookie" {
			key = c.Kind + " " + c.Name
		}
		if seen[key] {
			return fmt.Errorf("credential %s %s is listed twice", c.Kind, c.Name)
		}
		seen[key] = true
	}
	return nil
}

func hasHeaderCarrier(list []CredentialConfig) bool {
	for _, c := range list {
		if c.Kind == "header" {
			return true
		}
	}
	return false
}

func hasCookieCarrier(list []CredentialConfig) bool {
	for _, c := range list {
		if c.Kind == "cookie" {
			return true
		}
	}
	return false
}
