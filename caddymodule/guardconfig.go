package caddymodule

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/guard"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
)

// GuardsConfig configures the guards of the app's password and account
// email routes. Every guard is on, with the defaults its doc states,
// unless it or all of them are turned off.
type GuardsConfig struct {
	// Off turns every guard off.
	Off bool `json:"off,omitempty"`
	// ResetSend guards the routes that mail a password reset code: one
	// mail per address per 60 s, and at most 10 forwarded sends an hour
	// per client IPv4 address or IPv6 /64, counted in memory per instance.
	// Default paths: /user/password/reset/send and
	// /v1/auth/forgot-password; field: email.
	ResetSend *GuardConfig `json:"reset_send,omitempty"`
	// ResetValidate guards the route that checks a reset code with a guess
	// throttle per address. Every response but the app's success counts as
	// a failed guess. Default path: /user/password/reset/validate; fields:
	// email, code.
	ResetValidate *GuardConfig `json:"reset_validate,omitempty"`
	// ResetPassword guards the route that sets a password with a reset
	// code: the same throttle, the code checked through the reset_validate
	// route first, and a second factor required of accounts with 2FA on.
	// Needs an identity source that gives the user's email, and the
	// reset_validate route. Default path: /user/password/otp; fields:
	// email, code, totp, recoveryCode.
	ResetPassword *GuardConfig `json:"reset_password,omitempty"`
	// OldPassword guards the password change with the old password: a sudo
	// token when 2FA is on, and a guess throttle per user. Default path:
	// /user/password/old-password.
	OldPassword *GuardConfig `json:"old_password,omitempty"`
	// EmailInitiate guards the start of an account-email change: a sudo
	// token when 2FA is on, and one call per user per 60 s. Default path:
	// /user/email/initiate.
	EmailInitiate *GuardConfig `json:"email_initiate,omitempty"`
	// EmailChange follows the completion of an account-email change, after
	// which the cached identity is dropped. Default path: /user/email.
	EmailChange *GuardConfig `json:"email_change,omitempty"`
}

// GuardConfig changes one guard's defaults. A field that the guard does
// not read is rejected.
type GuardConfig struct {
	// Off turns the guard off.
	Off bool `json:"off,omitempty"`
	// Paths replace the default paths. Each matches every method and every
	// spelling the gate folds: per segment cut at ";", case-insensitively,
	// trailing slash ignored.
	Paths []string `json:"paths,omitempty"`
	// EmailField names the body field of the address. Default: email.
	EmailField string `json:"email_field,omitempty"`
	// CodeField names the body field of the reset code. Default: code.
	CodeField string `json:"code_field,omitempty"`
	// TOTPField names the body field of a TOTP code. Default: totp.
	TOTPField string `json:"totp_field,omitempty"`
	// RecoveryCodeField names the body field of a recovery code.
	// Default: recoveryCode.
	RecoveryCodeField string `json:"recovery_code_field,omitempty"`
	// Success recognises the app's success response. Default: a 2xx status.
	Success *ResponseRuleConfig `json:"success,omitempty"`
	// Failure recognises the app's failure response. A response it matches
	// is never a success. Default: status 401.
	Failure *ResponseRuleConfig `json:"failure,omitempty"`
}

// ResponseRuleConfig recognises a response of the app. Every condition that
// is set must hold.
type ResponseRuleConfig struct {
	// Status lists statuses, such as "200", or classes, such as "2xx".
	Status []string `json:"status,omitempty"`
	// Location is a regular expression (RE2) the Location header must
	// match.
	Location string `json:"location,omitempty"`
	// Body is a regular expression (RE2) the first 64 KiB of the body must
	// match.
	Body string `json:"body,omitempty"`
}

// RouteConfig names a refresh or logout route of the app.
type RouteConfig struct {
	// Method is the route's HTTP method, such as POST.
	Method string `json:"method"`
	// Path is the route's path, matched as guard paths are.
	Path string `json:"path"`
	// TokenField is the dotted path of the new token in the JSON response of
	// a refresh route, sent later in the first header carrier. Default:
	// none; carrier cookies in Set-Cookie count always.
	TokenField string `json:"token_field,omitempty"`
	// Success recognises the app's success response. Default: a 2xx status,
	// and for a logout any status below 400.
	Success *ResponseRuleConfig `json:"success,omitempty"`
	// Failure recognises the app's failure response. Default: status 401,
	// and none for a logout.
	Failure *ResponseRuleConfig `json:"failure,omitempty"`
}

// guardOffHint names the subdirectives that turn the reset guards off.
const guardOffHint = "turn the guard off with `guard reset_password off` (or every guard with `guards off`)"

// buildGuards turns the guard config into routes, checked. It returns nil
// when no route is on.
func (h *Handler) buildGuards(source identity.Source, noEmail string) (*guard.Guards, error) {
	var routes []*guard.Route
	if !h.Guards.Off {
		for _, kind := range guard.Kinds {
			cfg := h.Guards.byKind(kind)
			if cfg != nil && cfg.Off {
				continue
			}
			rt, err := buildGuardRoute(kind, cfg)
			if err != nil {
				return nil, err
			}
			routes = append(routes, rt)
		}
	}
	for _, list := range []struct {
		kind  guard.Kind
		items []RouteConfig
	}{{guard.Refresh, h.RefreshRoutes}, {guard.Logout, h.LogoutRoutes}} {
		for _, cfg := range list.items {
			rt, err := buildMethodRoute(list.kind, cfg)
			if err != nil {
				return nil, err
			}
			routes = append(routes, rt)
		}
	}
	if err := h.checkGuardRoutes(routes, noEmail); err != nil {
		return nil, err
	}
	if len(routes) == 0 {
		return nil, nil
	}

	g := &guard.Guards{
		Routes:   routes,
		Sessions: h.sessions,
		API:      h.api,
		Resolver: h.gate,
		Carriers: h.carriers(),
		Logger:   h.logger,
		Now:      time.Now,
	}
	if f, ok := source.(interface{ Forget(*http.Request) }); ok {
		g.Forget = f.Forget
	}
	return g, nil
}

func (c *GuardsConfig) byKind(kind guard.Kind) *GuardConfig {
	switch kind {
	case guard.ResetSend:
		return c.ResetSend
	case guard.ResetValidate:
		return c.ResetValidate
	case guard.ResetPassword:
		return c.ResetPassword
	case guard.OldPassword:
		return c.OldPassword
	case guard.EmailInitiate:
		return c.EmailInitiate
	case guard.EmailChange:
		return c.EmailChange
	}
	return nil
}

// guardFields lists the body fields each guard reads.
var guardFields = map[guard.Kind][]string{
	guard.ResetSend:     {"email_field"},
	guard.ResetValidate: {"email_field", "code_field"},
	guard.ResetPassword: {"email_field", "code_field", "totp_field", "recovery_code_field"},
}

// judgedGuards are the guards that read the app's response.
var judgedGuards = map[guard.Kind]bool{
	guard.ResetValidate: true, guard.ResetPassword: true, guard.OldPassword: true,
	guard.EmailChange: true,
}

// buildGuardRoute applies cfg to the defaults of kind.
func buildGuardRoute(kind guard.Kind, cfg *GuardConfig) (*guard.Route, error) {
	rt := guard.Default(kind)
	if cfg == nil {
		return &rt, nil
	}
	fields := map[string]*string{
		"email_field": &rt.EmailField, "code_field": &rt.CodeField,
		"totp_field": &rt.TOTPField, "recovery_code_field": &rt.RecoveryCodeField,
	}
	values := map[string]string{
		"email_field": cfg.EmailField, "code_field": cfg.CodeField,
		"totp_field": cfg.TOTPField, "recovery_code_field": cfg.RecoveryCodeField,
	}
	for name, value := range values {
		if value == "" {
			continue
		}
		if !containsString(guardFields[kind], name) {
			return nil, fmt.Errorf("guard %s: it reads no %s", kind, name)
		}
		*fields[name] = value
	}
	if len(cfg.Paths) > 0 {
		rt.Paths = slices.Clone(cfg.Paths)
	}
	if (cfg.Success != nil || cfg.Failure != nil) && !judgedGuards[kind] {
		return nil, fmt.Errorf("guard %s: it does not judge the app's response, so success and "+
			"failure do not apply", kind)
	}
	if err := applyRules(&rt, string(kind), cfg.Success, cfg.Failure); err != nil {
		return nil, err
	}
	return &rt, nil
}

// buildMethodRoute builds a refresh or logout route.
func buildMethodRoute(kind guard.Kind, cfg RouteConfig) (*guard.Route, error) {
	rt := guard.Default(kind)
	name := fmt.Sprintf("%s %s %s", kind, cfg.Method, cfg.Path)
	if !validMethod(cfg.Method) {
		return nil, fmt.Errorf("%s: method %q must be an HTTP method in capitals, such as POST",
			name, cfg.Method)
	}
	if cfg.TokenField != "" && kind != guard.Refresh {
		return nil, fmt.Errorf("%s: token_field applies to refresh routes only", name)
	}
	rt.Method, rt.Paths, rt.TokenField = cfg.Method, []string{cfg.Path}, cfg.TokenField
	if err := applyRules(&rt, name, cfg.Success, cfg.Failure); err != nil {
		return nil, err
	}
	return &rt, nil
}

func applyRules(rt *guard.Route, name string, success, failure *ResponseRuleConfig) error {
	for _, r := range []struct {
		which  string
		cfg    *ResponseRuleConfig
		target *guard.Rule
	}{{"success", success, &rt.Success}, {"failure", failure, &rt.Failure}} {
		if r.cfg == nil {
			continue
		}
		rule, err := r.cfg.build()
		if err != nil {
			return fmt.Errorf("%s: %s: %v", name, r.which, err)
		}
		*r.target = rule
	}
	return nil
}

// build compiles the rule. A rule must set at least one condition.
func (c *ResponseRuleConfig) build() (guard.Rule, error) {
	var rule guard.Rule
	for _, s := range c.Status {
		code, ok := parseStatus(s)
		if !ok {
			return rule, fmt.Errorf("status %q: expected a status such as 200 or a class such as 2xx", s)
		}
		rule.Status = append(rule.Status, code)
	}
	var err error
	if c.Location != "" {
		if rule.Location, err = regexp.Compile(c.Location); err != nil {
			return rule, fmt.Errorf("location: %v", err)
		}
	}
	if c.Body != "" {
		if rule.Body, err = regexp.Compile(c.Body); err != nil {
			return rule, fmt.Errorf("body: %v", err)
		}
	}
	if len(rule.Status) == 0 && rule.Location == nil && rule.Body == nil {
		return rule, fmt.Errorf("set status, location or body")
	}
	return rule, nil
}

// parseStatus reads "200" as 200 and "2xx" as 2, guard.Rule's class.
func parseStatus(s string) (int, bool) {
	if len(s) == 3 && s[0] >= '1' && s[0] <= '5' && strings.EqualFold(s[1:], "xx") {
		return int(s[0] - '0'), true
	}
	code, err := strconv.Atoi(s)
	return code, err == nil && len(s) == 3 && code >= 100 && code <= 599
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func containsString(list []string, s string) bool {
	return slices.Contains(list, s)
}

// missingEmail returns why the identity source gives no email, or "" when
// it may give one. Introspect and jwt may, because whether the app's
// response or token contains the field is known only per request.
func (c *IdentityConfig) missingEmail() string {
	if c.Placeholder != nil && c.Placeholder.Email == "" {
		return "identity placeholder gives none: add an email placeholder, as in " +
			"`identity placeholder {http.auth.user.id} {http.auth.user.email}`"
	}
	return ""
}

// checkGuardRoutes checks the paths and fields of every route, that no two
// routes claim one path, that no bypass hides a route, and what the reset
// guard needs: the reset_validate route and the user's email.
func (h *Handler) checkGuardRoutes(routes []*guard.Route, noEmail string) error {
	type claim struct{ path, method, name string }
	var claims []claim
	kinds := map[guard.Kind]bool{}
	for _, rt := range routes {
		kinds[rt.Kind] = true
		name := string(rt.Kind)
		if len(rt.Paths) == 0 {
			return fmt.Errorf("guard %s: no path", name)
		}
		for i, p := range rt.Paths {
			canonical, err := gate.Canonicalize(p, false)
			if p == "" || p[0] != '/' || strings.ContainsAny(p, "?#") || err != nil {
				return fmt.Errorf("%s: path %q must be an absolute path such as /account/reset", name, p)
			}
			rt.Paths[i] = canonical.Path
			if gate.MatchPrefix(canonical.Path, api.Prefix) || gate.MatchPrefix(canonical.Path, h.UIPath) {
				return fmt.Errorf("%s: path %q is one of the module's own routes", name, p)
			}
			for _, prefix := range h.BypassPaths {
				if gate.MatchPrefix(canonical.Path, prefix) {
					return fmt.Errorf("%s: path %q is under bypass %s, so the guard would never run: "+
						"narrow the bypass or turn the guard off", name, p, prefix)
				}
			}
			for _, c := range claims {
				if gate.MatchExact(canonical.Path, c.path) && (c.method == "" || rt.Method == "" || c.method == rt.Method) {
					return fmt.Errorf("%s: path %q is already claimed by %s", name, p, c.name)
				}
			}
			claims = append(claims, claim{canonical.Path, rt.Method, name})
		}
		for _, f := range []string{rt.EmailField, rt.CodeField, rt.TOTPField, rt.RecoveryCodeField} {
			if strings.TrimSpace(f) != f {
				return fmt.Errorf("guard %s: field name %q has spaces around it", name, f)
			}
		}
	}
	if !kinds[guard.ResetPassword] {
		return nil
	}
	if !kinds[guard.ResetValidate] {
		return fmt.Errorf("guard reset_password checks the reset code through the app's validate "+
			"route, and guard reset_validate is off: configure it, or %s", guardOffHint)
	}
	if noEmail != "" {
		return fmt.Errorf("guard reset_password needs the user's email, and %s; or %s", noEmail, guardOffHint)
	}
	return nil
}
