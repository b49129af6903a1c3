package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-twofactor/caddy-twofactor/internal/guard"
)

func TestUnmarshalCaddyfileGuards(t *testing.T) {
	input := block(
		"guard reset_send /account/forgot {",
		"email_field login",
		"}",
		"guard reset_validate /account/reset/check {",
		"email_field login",
		`success body "Code accepted"`,
		"failure status 200",
		`failure body "Invalid code"`,
		"}",
		"guard reset_password /account/reset {",
		"email_field login",
		"totp_field otp",
		`success location ^/login`,
		"success status 302 303",
		"}",
		"guard old_password off",
		"guard email_initiate",
		"refresh_route POST /api/refresh {",
		"token_field data.accessToken",
		"}",
		"logout POST /logout",
		"logout GET /signout",
	)
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatalf("UnmarshalCaddyfile: %v", err)
	}
	want := Handler{
		Identity: placeholderIdentity,
		Guards: GuardsConfig{
			ResetSend: &GuardConfig{Paths: []string{"/account/forgot"}, EmailField: "login"},
			ResetValidate: &GuardConfig{Paths: []string{"/account/reset/check"}, EmailField: "login",
				Success: &ResponseRuleConfig{Body: "Code accepted"},
				Failure: &ResponseRuleConfig{Status: []string{"200"}, Body: "Invalid code"}},
			ResetPassword: &GuardConfig{Paths: []string{"/account/reset"}, EmailField: "login",
				TOTPField: "otp",
				Success:   &ResponseRuleConfig{Status: []string{"302", "303"}, Location: "^/login"}},
			OldPassword:   &GuardConfig{Off: true},
			EmailInitiate: &GuardConfig{},
		},
		RefreshRoutes: []RouteConfig{{Method: "POST", Path: "/api/refresh", TokenField: "data.accessToken"}},
		LogoutRoutes:  []RouteConfig{{Method: "POST", Path: "/logout"}, {Method: "GET", Path: "/signout"}},
	}
	gotJSON, _ := json.Marshal(&h)
	wantJSON, _ := json.Marshal(&want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("got  %s\nwant %s", gotJSON, wantJSON)
	}

	var off Handler
	if err := off.UnmarshalCaddyfile(caddyfile.NewTestDispenser(block("guards off"))); err != nil {
		t.Fatalf("UnmarshalCaddyfile: %v", err)
	}
	if !off.Guards.Off {
		t.Error("guards off did not turn the guards off")
	}
}

func TestUnmarshalCaddyfileGuardsBad(t *testing.T) {
	tests := []struct {
		name  string
		input string
		line  int
		want  string
	}{
		{"unknown guard", block("guard old-password"), 3, `unknown guard "old-password": did you mean "old_password"?`},
		{"guard twice", block("guard reset_send", "guard reset_send off"), 4,
			"guard reset_send is already configured at line 3"},
		{"off with block", block("guard reset_send off {", "}"), 3, "guard reset_send off takes no block"},
		{"relative path", block("guard reset_send account/forgot"), 3, `invalid guard reset_send path "account/forgot"`},
		{"field of another guard", block("guard old_password {", "email_field login", "}"), 4,
			`guard old_password: unknown subdirective "email_field"`},
		{"rule on an unjudged guard", block("guard reset_send {", "success status 200", "}"), 4,
			`guard reset_send: unknown subdirective "success"`},
		{"rule form", block("guard reset_validate {", "success code 200", "}"), 4,
			"invalid success form \"code\": expected `success status <code>..."},
		{"rule status", block("guard reset_validate {", "failure status 2x", "}"), 4,
			`invalid failure status "2x"`},
		{"rule regexp", block("guard reset_validate {", "failure body (", "}"), 4,
			"invalid failure body regular expression"},
		{"rule two regexps", block("guard reset_validate {", "failure body a b", "}"), 4,
			"failure body takes one regular expression"},
		{"rule set twice", block("guard reset_validate {", "success location a", "success location b", "}"), 5,
			"success location is already set"},
		{"rule missing value", block("guard reset_validate {", "success status", "}"), 4,
			"wrong argument count for success"},
		{"guards value", block("guards on"), 3, "invalid guards value \"on\": expected `guards off`"},
		{"refresh method", block("refresh_route post /api/refresh"), 3,
			`invalid refresh_route method "post": expected an HTTP method in capitals`},
		{"refresh path", block("refresh_route POST api/refresh"), 3, `invalid refresh_route path "api/refresh"`},
		{"logout token field", block("logout POST /logout {", "token_field t", "}"), 4,
			`logout POST /logout: unknown subdirective "token_field"`},
		{"field at top level", block("totp_field otp"), 3, "it belongs in the guard block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if err == nil {
				t.Fatalf("UnmarshalCaddyfile succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if at := fmt.Sprintf("at Testfile:%d", tt.line); !strings.HasSuffix(err.Error(), at) {
				t.Errorf("error %q does not end with %q", err, at)
			}
		})
	}
}

// guardHandler returns a handler with the settings buildGuards reads.
func guardHandler() *Handler {
	return &Handler{UIPath: DefaultUIPath, Identity: IdentityConfig{
		Introspect: &IntrospectConfig{URL: "http://127.0.0.1:9000/api/me"}}}
}

func TestBuildGuardsDefaults(t *testing.T) {
	h := guardHandler()
	g, err := h.buildGuards(nil, "")
	if err != nil {
		t.Fatalf("buildGuards: %v", err)
	}
	var kinds []string
	for _, rt := range g.Routes {
		kinds = append(kinds, string(rt.Kind))
	}
	if got := strings.Join(kinds, " "); got != "reset_send reset_validate reset_password old_password "+
		"email_initiate email_change" {
		t.Errorf("routes %s, want the six guards", got)
	}

	h.Guards.Off = true
	if g, err := h.buildGuards(nil, ""); err != nil || g != nil {
		t.Errorf("guards off: %v, %v, want no guards", g, err)
	}
}

func TestBuildGuardsRemapped(t *testing.T) {
	h := guardHandler()
	h.Guards.ResetValidate = &GuardConfig{Paths: []string{"/Account/Reset/Check/"}, EmailField: "login",
		Success: &ResponseRuleConfig{Status: []string{"2xx"}, Body: "accepted"}}
	h.LogoutRoutes = []RouteConfig{{Method: "POST", Path: "/logout"}}
	g, err := h.buildGuards(nil, "")
	if err != nil {
		t.Fatalf("buildGuards: %v", err)
	}
	rt := g.Match(httpRequest("PUT"), "/account/reset/check")
	if rt == nil || rt.Kind != guard.ResetValidate || rt.EmailField != "login" || rt.CodeField != "code" {
		t.Fatalf("route %+v, want reset_validate with email_field login and code_field code", rt)
	}
	if !rt.Success.Match(&guard.Response{Status: 201, Body: []byte("code accepted")}) {
		t.Error("the success rule does not match a 201 that says accepted")
	}
	if rt.Success.Match(&guard.Response{Status: 200, Body: []byte("invalid")}) {
		t.Error("the success rule matches a 200 that does not say accepted")
	}
	if h.Guards.ResetValidate.Paths[0] != "/Account/Reset/Check/" {
		t.Errorf("buildGuards changed the config's path to %q", h.Guards.ResetValidate.Paths[0])
	}
	if lo := g.Match(httpRequest("POST"), "/logout"); lo == nil || lo.Kind != guard.Logout {
		t.Errorf("POST /logout matched %+v, want the logout route", lo)
	}
}

func TestBuildGuardsBad(t *testing.T) {
	tests := []struct {
		name    string
		change  func(h *Handler)
		noEmail string
		want    string
	}{
		{"no email", nil, "identity placeholder gives none", "guard reset_password off"},
		{"validate off", func(h *Handler) { h.Guards.ResetValidate = &GuardConfig{Off: true} }, "",
			"guard reset_validate is off"},
		{"module path", func(h *Handler) { h.Guards.EmailChange = &GuardConfig{Paths: []string{"/user/2fa/x"}} },
			"", `path "/user/2fa/x" is one of the module's own routes`},
		{"same path", func(h *Handler) {
			h.Guards.EmailChange = &GuardConfig{Paths: []string{"/User/Password/OTP"}}
		}, "", `path "/User/Password/OTP" is already claimed by reset_password`},
		{"logout on a guard", func(h *Handler) {
			h.LogoutRoutes = []RouteConfig{{Method: "POST", Path: "/user/email"}}
		}, "", "already claimed by email_change"},
		{"bypassed", func(h *Handler) { h.BypassPaths = []string{"/user/password"} }, "",
			"is under bypass /user/password, so the guard would never run"},
		{"relative path", func(h *Handler) { h.Guards.EmailChange = &GuardConfig{Paths: []string{"user/email"}} },
			"", `path "user/email" must be an absolute path`},
		{"unread field", func(h *Handler) { h.Guards.OldPassword = &GuardConfig{EmailField: "e"} }, "",
			"guard old_password: it reads no email_field"},
		{"rule on send", func(h *Handler) {
			h.Guards.ResetSend = &GuardConfig{Success: &ResponseRuleConfig{Status: []string{"200"}}}
		}, "", "guard reset_send: it does not judge the app's response"},
		{"empty rule", func(h *Handler) { h.Guards.OldPassword = &GuardConfig{Failure: &ResponseRuleConfig{}} },
			"", "old_password: failure: set status, location or body"},
		{"bad status", func(h *Handler) {
			h.Guards.OldPassword = &GuardConfig{Failure: &ResponseRuleConfig{Status: []string{"600"}}}
		}, "", `status "600"`},
		{"bad method", func(h *Handler) { h.RefreshRoutes = []RouteConfig{{Method: "post", Path: "/r"}} }, "",
			`method "post" must be an HTTP method in capitals`},
		{"token field on logout", func(h *Handler) {
			h.LogoutRoutes = []RouteConfig{{Method: "POST", Path: "/l", TokenField: "t"}}
		}, "", "token_field applies to refresh routes only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := guardHandler()
			if tt.change != nil {
				tt.change(h)
			}
			_, err := h.buildGuards(nil, tt.noEmail)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("buildGuards: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestMissingEmail(t *testing.T) {
	withEmail := IdentityConfig{Placeholder: &PlaceholderConfig{User: "{a}", Email: "{b}"}}
	if got := withEmail.missingEmail(); got != "" {
		t.Errorf("placeholder with email: %q, want none", got)
	}
	if got := placeholderIdentity.missingEmail(); !strings.Contains(got, "identity placeholder gives none") {
		t.Errorf("placeholder without email: %q", got)
	}
	if got := guardHandler().Identity.missingEmail(); got != "" {
		t.Errorf("introspect: %q, want none", got)
	}
}

func TestAdaptGuards(t *testing.T) {
	out, err := adapt(t, `:8080 {
	twofactor {
		identity introspect http://127.0.0.1:9000/api/me
		guard reset_password /account/reset {
			email_field login
			success location ^/login
		}
		logout POST /logout
	}
	reverse_proxy 127.0.0.1:9000
}`)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	for _, want := range []string{
		`"guards":{"reset_password":{"email_field":"login","paths":["/account/reset"],"success":{"location":"^/login"}}}`,
		`"logout_routes":[{"method":"POST","path":"/logout"}]`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("adapted JSON %s lacks %s", out, want)
		}
	}
	_, err = adapt(t, ":8080 {\n\ttwofactor {\n\t\tidentity placeholder {http.auth.user.id}\n"+
		"\t\tguard reset_password {\n\t\t\tsuccess body (\n\t\t}\n\t}\n}\n")
	if err == nil || !strings.Contains(err.Error(), "Caddyfile:5") {
		t.Errorf("adapt error %v, want one at Caddyfile:5", err)
	}
}

// httpRequest returns a request with a method, for Match.
func httpRequest(method string) *http.Request {
	return httptest.NewRequest(method, "/", nil)
}

// FuzzUnmarshalCaddyfileGuards checks that no guard lines make the parser
// panic.
func FuzzUnmarshalCaddyfileGuards(f *testing.F) {
	f.Add(block("guard reset_password /a {", "success status 2xx", "failure body x", "}"))
	f.Add(block("guard reset_send off", "guards off"))
	f.Add(block("refresh_route POST /r {", "token_field a.b", "}", "logout GET /l"))
	f.Add(block("guard reset_validate {", "success location", "}"))
	f.Fuzz(func(t *testing.T, input string) {
		tokens, err := caddyfile.Tokenize([]byte(input), "Fuzzfile")
		if err != nil {
			return
		}
		var h Handler
		if h.UnmarshalCaddyfile(caddyfile.NewDispenser(tokens)) != nil {
			return
		}
		_, _ = h.buildGuards(nil, "")
	})
}
