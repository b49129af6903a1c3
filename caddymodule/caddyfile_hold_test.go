package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
)

func TestUnmarshalCaddyfileLoginHold(t *testing.T) {
	input := block(
		"login_hold POST /login",
		"login_hold POST /api/login {",
		"token_field data.accessToken",
		"refresh_field data.refreshToken",
		"success_status 200 201",
		"}",
	)
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatalf("UnmarshalCaddyfile: %v", err)
	}
	want := []LoginHoldConfig{
		{Method: "POST", Path: "/login"},
		{Method: "POST", Path: "/api/login", TokenField: "data.accessToken",
			RefreshField: "data.refreshToken", SuccessStatus: []int{200, 201}},
	}
	got, _ := json.Marshal(h.LoginHolds)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Errorf("login holds %s, want %s", got, wantJSON)
	}
}

func TestUnmarshalCaddyfileLoginHoldBad(t *testing.T) {
	tests := []struct {
		name  string
		input string
		line  int
		want  string
	}{
		{"one argument", block("login_hold POST"), 3, "wrong argument count for login_hold"},
		{"three arguments", block("login_hold POST /login /x"), 3, "wrong argument count for login_hold"},
		{"method", block("login_hold post /login"), 3,
			`invalid login_hold method "post": expected an HTTP method in capitals`},
		{"path", block("login_hold POST login"), 3, `invalid login_hold path "login"`},
		{"twice", block("login_hold POST /login", "login_hold POST /Login"), 4,
			"login_hold POST /Login is already configured"},
		{"status", block("login_hold POST /login {", "success_status 2xx", "}"), 4,
			`invalid success_status "2xx"`},
		{"field twice", block("login_hold POST /login {", "token_field a", "token_field b", "}"), 5,
			"token_field is already set at line 4"},
		{"unknown line", block("login_hold POST /login {", "token_feld a", "}"), 4,
			`login_hold POST /login: unknown subdirective "token_feld": did you mean "token_field"?`},
		{"no field value", block("login_hold POST /login {", "refresh_field", "}"), 4,
			"wrong argument count for refresh_field"},
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

func TestAdaptLoginHold(t *testing.T) {
	out, err := adapt(t, `:8080 {
	twofactor {
		credential cookie session
		identity introspect http://127.0.0.1:9000/api/me
		login_hold POST /login {
			success_status 303
		}
	}
	reverse_proxy 127.0.0.1:9000
}`)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	want := `"login_holds":[{"method":"POST","path":"/login","success_status":[303]}]`
	if !strings.Contains(string(out), want) {
		t.Errorf("adapted JSON %s lacks %s", out, want)
	}
}

// holdHandler returns a handler with the settings buildLoginHolds reads:
// the demo's carriers and an introspect source.
func holdHandler() *Handler {
	h := guardHandler()
	h.Credentials = []CredentialConfig{
		{Kind: "cookie", Name: "session"},
		{Kind: "header", Name: "Authorization", Scheme: "Bearer"},
	}
	return h
}

func TestBuildLoginHolds(t *testing.T) {
	h := holdHandler()
	h.LoginHolds = []LoginHoldConfig{
		{Method: "POST", Path: "/Login/"},
		{Method: "POST", Path: "/api/login", TokenField: "accessToken"},
	}
	holds, err := h.buildLoginHolds()
	if err != nil {
		t.Fatalf("buildLoginHolds: %v", err)
	}
	h.holds = holds
	if lh := h.matchLoginHold(httpRequest("POST"), "/login"); lh == nil || lh.path != "/Login/" {
		t.Errorf("POST /login matched %+v, want the /Login/ hold", lh)
	}
	if lh := h.matchLoginHold(httpRequest("GET"), "/login"); lh != nil {
		t.Errorf("GET /login matched %+v, want none", lh)
	}
	lh := h.matchLoginHold(httpRequest("POST"), "/api/login")
	if lh == nil || lh.rule.TokenField != "accessToken" || lh.rule.RefreshField != DefaultRefreshField {
		t.Fatalf("POST /api/login matched %+v, want token_field accessToken and the default refresh field", lh)
	}
	if len(lh.rule.Carriers) != 2 {
		t.Errorf("rule carriers %v, want the two configured", lh.rule.Carriers)
	}
}

func TestBuildLoginHoldsBad(t *testing.T) {
	tests := []struct {
		name   string
		change func(h *Handler)
		want   string
	}{
		{"placeholder", func(h *Handler) {
			h.Identity = IdentityConfig{Placeholder: &PlaceholderConfig{User: "{a}"}}
		}, "identity placeholder cannot"},
		{"method", func(h *Handler) { h.LoginHolds[0].Method = "post" }, `method "post" must be`},
		{"relative path", func(h *Handler) { h.LoginHolds[0].Path = "login" }, "must be an absolute path"},
		{"query", func(h *Handler) { h.LoginHolds[0].Path = "/login?x" }, "must be an absolute path"},
		{"module route", func(h *Handler) { h.LoginHolds[0].Path = "/user/2fa/login" },
			"one of the module's own routes"},
		{"bypassed", func(h *Handler) { h.BypassPaths = []string{"/login"} }, "under bypass /login"},
		{"guarded", func(h *Handler) { h.LoginHolds[0].Path = "/user/password/otp" },
			"already claimed by reset_password"},
		{"twice", func(h *Handler) {
			h.LoginHolds = append(h.LoginHolds, LoginHoldConfig{Method: "POST", Path: "/LOGIN"})
		}, "already held by login_hold POST /login"},
		{"token without header carrier", func(h *Handler) {
			h.Credentials = h.Credentials[:1]
			h.LoginHolds[0].TokenField = "accessToken"
		}, "token_field needs a header credential"},
		{"no cookie carrier", func(h *Handler) { h.Credentials = h.Credentials[1:] },
			"with no cookie credential, set token_field"},
		{"spaced field", func(h *Handler) { h.LoginHolds[0].TokenField = " t" }, "has spaces around it"},
		{"status", func(h *Handler) { h.LoginHolds[0].SuccessStatus = []int{99} }, "success_status 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := holdHandler()
			h.LoginHolds = []LoginHoldConfig{{Method: "POST", Path: "/login"}}
			tt.change(h)
			guards, err := h.buildGuards(nil, "")
			if err != nil {
				t.Fatalf("buildGuards: %v", err)
			}
			h.guards = guards
			_, err = h.buildLoginHolds()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("buildLoginHolds: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestHeldNext(t *testing.T) {
	h := &Handler{gate: &gate.Gate{}}
	tests := []struct {
		location, want string
	}{
		{"", "/"},
		{"/dashboard", "/dashboard"},
		{"/reports/annual?year=2029", "/reports/annual?year=2029"},
		{"http://example.com/dashboard?a=1", "/dashboard?a=1"},
		{"HTTP://EXAMPLE.COM/x", "/x"},
		{"https://example.com/dashboard", "/"},
		{"http://evil.example/dashboard", "/"},
		{"//evil.example/dashboard", "/"},
		{"/\\evil.example", "/"},
		{"dashboard", "/"},
		{"javascript:alert(1)", "/"},
		{"%zz", "/"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "http://example.com/login", nil)
		if got := h.heldNext(r, tt.location); got != tt.want {
			t.Errorf("heldNext(%q) = %q, want %q", tt.location, got, tt.want)
		}
	}
}

// FuzzUnmarshalCaddyfileLoginHold checks that no login_hold lines make the
// parser or the config check panic.
func FuzzUnmarshalCaddyfileLoginHold(f *testing.F) {
	f.Add(block("login_hold POST /login"))
	f.Add(block("login_hold POST /api/login {", "token_field a.b", "success_status 200", "}"))
	f.Add(block("login_hold POST /x {", "refresh_field", "}"))
	f.Fuzz(func(t *testing.T, input string) {
		tokens, err := caddyfile.Tokenize([]byte(input), "Fuzzfile")
		if err != nil {
			return
		}
		h := holdHandler()
		if h.UnmarshalCaddyfile(caddyfile.NewDispenser(tokens)) != nil {
			return
		}
		h.Identity = holdHandler().Identity
		_, _ = h.buildLoginHolds()
	})
}
