package caddymodule

import (
	"fmt"
	"slices"
	"strings"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/hold"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
)

// DefaultRefreshField is the JSON field of the refresh token in a held
// login's response, when the login route names an access token field.
const DefaultRefreshField = "refreshToken"

// LoginHoldConfig names a login route of the app whose successful
// responses the module holds back until the user passes the second
// factor, so the app's credential reaches no client before that.
type LoginHoldConfig struct {
	// Method is the login route's HTTP method, such as POST.
	Method string `json:"method"`
	// Path is the login route's path, matched as guard paths are: per
	// segment cut at ";", case-insensitively, trailing slash ignored.
	Path string `json:"path"`
	// TokenField is the dotted path of the access token in the JSON
	// response, which clients send later in the first header carrier, and
	// which is released as accessToken. Default: none. The carrier cookies
	// that the response sets count always.
	TokenField string `json:"token_field,omitempty"`
	// RefreshField is the dotted path of the refresh token in the JSON
	// response, released as refreshToken. Read only with TokenField.
	// Default: refreshToken.
	RefreshField string `json:"refresh_field,omitempty"`
	// SuccessStatus lists the statuses of a successful login. Default: any
	// 2xx, and a 3xx that sets a carrier cookie.
	SuccessStatus []int `json:"success_status,omitempty"`
}

// loginHold is a checked login hold route.
type loginHold struct {
	method, path string
	rule         hold.Rule
}

// buildLoginHolds checks the login hold routes and turns them into rules.
// It needs the guards built, to refuse a path that a guard claims.
func (h *Handler) buildLoginHolds() ([]*loginHold, error) {
	if len(h.LoginHolds) > 0 && h.Identity.Placeholder != nil {
		return nil, fmt.Errorf("login_hold needs an identity source that can judge the credential " +
			"of a login answer (introspect or jwt); identity placeholder cannot")
	}
	carriers := h.carriers()
	var holds []*loginHold
	for _, cfg := range h.LoginHolds {
		name := fmt.Sprintf("login_hold %s %s", cfg.Method, cfg.Path)
		path, err := h.checkLoginHoldRoute(name, cfg)
		if err != nil {
			return nil, err
		}
		if err := checkLoginHoldFields(name, cfg, carriers); err != nil {
			return nil, err
		}
		for _, other := range holds {
			if other.method == cfg.Method && gate.MatchExact(path, other.path) {
				return nil, fmt.Errorf("%s: path %q is already held by login_hold %s %s",
					name, cfg.Path, other.method, other.path)
			}
		}
		refresh := cfg.RefreshField
		if refresh == "" {
			refresh = DefaultRefreshField
		}
		holds = append(holds, &loginHold{method: cfg.Method, path: path, rule: hold.Rule{
			Carriers:      carriers,
			TokenField:    cfg.TokenField,
			RefreshField:  refresh,
			SuccessStatus: slices.Clone(cfg.SuccessStatus),
		}})
	}
	return holds, nil
}

// checkLoginHoldRoute checks the method and path of a login hold and
// returns the canonical path.
func (h *Handler) checkLoginHoldRoute(name string, cfg LoginHoldConfig) (string, error) {
	if !validMethod(cfg.Method) {
		return "", fmt.Errorf("%s: method %q must be an HTTP method in capitals, such as POST",
			name, cfg.Method)
	}
	canonical, err := gate.Canonicalize(cfg.Path, false)
	if cfg.Path == "" || cfg.Path[0] != '/' || strings.ContainsAny(cfg.Path, "?#") || err != nil {
		return "", fmt.Errorf("%s: path %q must be an absolute path such as /login", name, cfg.Path)
	}
	path := canonical.Path
	if gate.MatchPrefix(path, api.Prefix) || gate.MatchPrefix(path, h.UIPath) {
		return "", fmt.Errorf("%s: path %q is one of the module's own routes", name, cfg.Path)
	}
	for _, prefix := range h.BypassPaths {
		if gate.MatchPrefix(path, prefix) {
			return "", fmt.Errorf("%s: path %q is under bypass %s, so the login would never be "+
				"held: narrow the bypass", name, cfg.Path, prefix)
		}
	}
	if h.guards != nil {
		for _, rt := range h.guards.Routes {
			for _, p := range rt.Paths {
				if gate.MatchExact(path, p) && (rt.Method == "" || rt.Method == cfg.Method) {
					return "", fmt.Errorf("%s: path %q is already claimed by %s", name, cfg.Path, rt.Kind)
				}
			}
		}
	}
	return path, nil
}

// checkLoginHoldFields checks that a login hold can find the credential a
// login issues, and its statuses.
func checkLoginHoldFields(name string, cfg LoginHoldConfig, carriers []identity.Carrier) error {
	var cookies, headers bool
	for _, c := range carriers {
		cookies = cookies || c.Kind == identity.CarrierCookie
		headers = headers || c.Kind == identity.CarrierHeader
	}
	switch {
	case cfg.TokenField != "" && !headers:
		return fmt.Errorf("%s: token_field needs a header credential to send the token in, "+
			"such as `credential header Authorization Bearer`", name)
	case cfg.TokenField == "" && !cookies:
		return fmt.Errorf("%s: with no cookie credential, set token_field to the access token "+
			"of the login answer", name)
	}
	for _, f := range []string{cfg.TokenField, cfg.RefreshField} {
		if strings.TrimSpace(f) != f {
			return fmt.Errorf("%s: field %q has spaces around it", name, f)
		}
	}
	for _, status := range cfg.SuccessStatus {
		if status < 100 || status > 599 {
			return fmt.Errorf("%s: success_status %d is no HTTP status", name, status)
		}
	}
	return nil
}
