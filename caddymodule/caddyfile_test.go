package caddymodule

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

const testSecret = "0123456789abcdef0123456789abcdef"

func intPtr(v int) *int { return &v }

var placeholderIdentity = IdentityConfig{
	Placeholder: &PlaceholderConfig{User: "{http.auth.user.id}"},
}

func TestUnmarshalCaddyfileGood(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  *Handler
	}{
		{"minimal", `twofactor {
			identity placeholder {http.auth.user.id}
		}`, &Handler{Identity: placeholderIdentity}},
		{"every top-level setting", `twofactor {
			db /var/lib/caddy/2fa.db
			realm shop
			secret_key {env.TWOFACTOR_SECRET}
			previous_keys {file./etc/old.key} ` + testSecret + `
			previous_keys {env.OLDER}
			credential cookie session remember_me
			credential header Authorization Bearer
			credential header X-Api-Key
			pass_header X-Debug
			pass_header X-Trace X-Span
			identity placeholder {http.auth.user.id} {http.auth.user.email}
			enforce required
			mode report
			bypass /health /static
			bypass /robots.txt
			allowed_origins https://app.example.com http://localhost:3000/
			allow_encoded_slash
			issuer "Example Shop"
			session_ttl 1d
			session_idle 45m
			sudo_ttl 90s
			totp_skew 2
			ui_path /account/2fa
		}`, &Handler{
			DB:           "/var/lib/caddy/2fa.db",
			Realm:        "shop",
			SecretKey:    "{env.TWOFACTOR_SECRET}",
			PreviousKeys: []string{"{file./etc/old.key}", testSecret, "{env.OLDER}"},
			Credentials: []CredentialConfig{
				{Kind: "cookie", Name: "session"},
				{Kind: "cookie", Name: "remember_me"},
				{Kind: "header", Name: "Authorization", Scheme: "Bearer"},
				{Kind: "header", Name: "X-Api-Key"},
			},
			PassHeaders: []string{"X-Debug", "X-Trace", "X-Span"},
			Identity: IdentityConfig{Placeholder: &PlaceholderConfig{
				User: "{http.auth.user.id}", Email: "{http.auth.user.email}"}},
			Enforce:           "required",
			Mode:              "report",
			BypassPaths:       []string{"/health", "/static", "/robots.txt"},
			AllowedOrigins:    []string{"https://app.example.com", "http://localhost:3000/"},
			AllowEncodedSlash: true,
			Issuer:            "Example Shop",
			SessionTTL:        caddy.Duration(24 * time.Hour),
			SessionIdle:       caddy.Duration(45 * time.Minute),
			SudoTTL:           caddy.Duration(90 * time.Second),
			TOTPSkew:          intPtr(2),
			UIPath:            "/account/2fa",
		}},
		{"introspect", `twofactor {
			credential cookie sid
			identity introspect http://127.0.0.1:9000/api/me {
				user_field data.user.id
				email_field data.user.mail
				anonymous_status 401 403
				anonymous_status 302
				anonymous_id 0 guest
				cache 45s
				timeout 2s
			}
			totp_skew 0
		}`, &Handler{
			Credentials: []CredentialConfig{{Kind: "cookie", Name: "sid"}},
			Identity: IdentityConfig{Introspect: &IntrospectConfig{
				URL:             "http://127.0.0.1:9000/api/me",
				UserField:       "data.user.id",
				EmailField:      "data.user.mail",
				AnonymousStatus: []int{401, 403, 302},
				AnonymousID:     []string{"0", "guest"},
				Cache:           caddy.Duration(45 * time.Second),
				Timeout:         caddy.Duration(2 * time.Second),
			}},
			TOTPSkew: intPtr(0),
		}},
		{"introspect cache 0 is -1", `twofactor {
			identity introspect https://app.example.com/me {
				cache 0
			}
		}`, &Handler{Identity: IdentityConfig{Introspect: &IntrospectConfig{
			URL: "https://app.example.com/me", Cache: -1}}}},
		{"introspect empty block", `twofactor {
			identity introspect https://app.example.com/me {
			}
		}`, &Handler{Identity: IdentityConfig{Introspect: &IntrospectConfig{
			URL: "https://app.example.com/me"}}}},
		{"jwt", `twofactor {
			credential header Authorization Bearer
			identity jwt {
				hmac_secret {env.JWT_SECRET}
				issuer https://auth.example.com
				audience shop
				user_claim uid
				email_claim mail
				session_claim sid
			}
			issuer Shop
		}`, &Handler{
			Credentials: []CredentialConfig{{Kind: "header", Name: "Authorization", Scheme: "Bearer"}},
			Identity: IdentityConfig{JWT: &JWTConfig{
				HMACSecret: "{env.JWT_SECRET}", Issuer: "https://auth.example.com",
				Audience: "shop", UserClaim: "uid", EmailClaim: "mail", SessionClaim: "sid",
			}},
			Issuer: "Shop",
		}},
		{"jwt public key", `twofactor {
			identity jwt {
				public_key_file /etc/caddy/jwt.pem
			}
		}`, &Handler{Identity: IdentityConfig{JWT: &JWTConfig{PublicKeyFile: "/etc/caddy/jwt.pem"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Handler
			if err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input)); err != nil {
				t.Fatalf("UnmarshalCaddyfile: %v", err)
			}
			gotJSON, _ := json.Marshal(&got)
			wantJSON, _ := json.Marshal(tt.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("got  %s\nwant %s", gotJSON, wantJSON)
			}
		})
	}
}

// block wraps lines in a twofactor block whose identity line is line 2, so
// the first of lines is line 3.
func block(lines ...string) string {
	return "twofactor {\n\tidentity placeholder {http.auth.user.id}\n\t" +
		strings.Join(lines, "\n\t") + "\n}"
}

// bare wraps lines in a twofactor block without an identity line, so the
// first of lines is line 2.
func bare(lines ...string) string {
	return "twofactor {\n\t" + strings.Join(lines, "\n\t") + "\n}"
}

// introspect wraps lines in an identity introspect block, so the first of
// lines is line 3.
func introspect(lines ...string) string {
	return bare("identity introspect http://127.0.0.1:9000/me {", strings.Join(lines, "\n\t"), "}")
}

func TestUnmarshalCaddyfileBad(t *testing.T) {
	tests := []struct {
		name  string
		input string
		line  int
		want  string
	}{
		{"misspelt", block("secret_keys {env.X}"), 3,
			`unknown subdirective "secret_keys": did you mean "secret_key"?`},
		{"JSON name", block("bypass_paths /x"), 3, `did you mean "bypass"?`},
		{"nested in wrong block", block("cache 5s"), 3,
			`it belongs in the identity introspect block`},
		{"unknown far from all", block("frobnicate"), 3,
			`expected one of allow_encoded_slash, allowed_origins`},
		{"nested misspelt", introspect("usr_field id"), 3,
			`identity introspect: unknown subdirective "usr_field": did you mean "user_field"?`},
		{"jwt unknown", bare("identity jwt {", "hmac_secret {env.S}", "claim x", "}"), 4,
			`identity jwt: unknown subdirective "claim"`},
		{"enforce value", block("enforce strict"), 3,
			`invalid enforce value "strict": expected optional or required`},
		{"mode value", block("mode audit"), 3,
			`invalid mode value "audit": expected enforce or report`},
		{"missing value", block("realm"), 3,
			"wrong argument count for realm: expected `realm <name>`"},
		{"extra value", block("db a b"), 3, "wrong argument count for db: expected `db <path>`"},
		{"flag with value", block("allow_encoded_slash true"), 3,
			"wrong argument count for allow_encoded_slash"},
		{"unexpected block", block("realm shop {", "x", "}"), 3, "realm takes no block"},
		{"set twice", block("realm a", "realm b"), 4, "realm is already set at line 3"},
		{"second identity", block("identity jwt {", "hmac_secret {env.S}", "}"), 3,
			"a second identity source is not allowed: identity is already set at line 2"},
		{"no identity", bare("realm shop"), 1, "twofactor: missing identity source"},
		{"no block", "twofactor", 1, "twofactor: missing identity source"},
		{"directive argument", "twofactor shop {\n}", 1,
			`twofactor takes no arguments besides a matcher`},
		{"identity kind", bare("identity jwks"), 2,
			`unknown identity source "jwks": did you mean "jwt"?`},
		{"identity missing kind", bare("identity"), 2, "wrong argument count for identity"},
		{"introspect no URL", bare("identity introspect"), 2, "identity introspect: missing URL"},
		{"introspect relative URL", bare("identity introspect /api/me"), 2,
			`invalid identity introspect URL "/api/me": expected an absolute http or https URL`},
		{"jwt no key", bare("identity jwt {", "issuer x", "}"), 2,
			"identity jwt: missing key: set hmac_secret or public_key_file"},
		{"jwt both keys", bare("identity jwt {", "hmac_secret {env.S}", "public_key_file /k.pem", "}"),
			2, "identity jwt: set hmac_secret or public_key_file, not both"},
		{"jwt argument", bare("identity jwt HS256 {", "}"), 2, "identity jwt takes no arguments"},
		{"placeholder literal", bare("identity placeholder alice"), 2,
			`invalid identity placeholder "alice": expected a placeholder`},
		{"placeholder block", bare("identity placeholder {a} {", "x", "}"), 2,
			"identity placeholder takes no block"},
		{"skew too big", block("totp_skew 6"), 3,
			`invalid totp_skew "6": expected an integer from 0 to 5`},
		{"skew negative", block("totp_skew -1"), 3, `expected an integer from 0 to 5`},
		{"skew not a number", block("totp_skew 1.5"), 3, `expected an integer from 0 to 5`},
		{"status two digits", introspect("anonymous_status 401 40"), 3,
			`invalid anonymous_status "40": expected 3-digit HTTP status codes`},
		{"status not HTTP", introspect("anonymous_status 999"), 3, `anonymous_status "999"`},
		{"status word", introspect("anonymous_status unauthorized"), 3,
			`anonymous_status "unauthorized"`},
		{"cache negative", introspect("cache -5s"), 3,
			`invalid cache "-5s": expected a positive duration`},
		{"timeout zero", introspect("timeout 0"), 3,
			`invalid timeout "0": expected a positive duration`},
		{"credential kind", block("credential session"), 3,
			"invalid credential kind \"session\": expected `credential cookie <name>...`"},
		{"credential alone", block("credential"), 3, "wrong argument count for credential"},
		{"cookie without name", block("credential cookie"), 3,
			"credential cookie: missing cookie name"},
		{"header without name", block("credential header"), 3,
			"credential header takes a header name and at most one scheme"},
		{"header two schemes", block("credential header Authorization Bearer Basic"), 3,
			"credential header takes a header name and at most one scheme"},
		{"duration word", block("session_ttl forever"), 3,
			`invalid session_ttl "forever": expected a duration such as`},
		{"duration zero", block("sudo_ttl 0s"), 3,
			`invalid sudo_ttl "0s": expected a positive duration`},
		{"duration negative", block("session_idle -1m"), 3,
			`invalid session_idle "-1m": expected a positive duration`},
		{"bypass relative", block("bypass health"), 3,
			`invalid bypass "health": expected a path prefix starting with /`},
		{"bypass mixed", block("bypass /a @b"), 3, "put @b on its own bypass line"},
		{"bypass two matchers", block("bypass @a @b"), 3, `bypass takes one named matcher per line`},
		{"bypass matcher outside site", block("bypass @health"), 3,
			"named matchers are available only to the twofactor directive in a Caddyfile site block"},
		{"origin without scheme", block("allowed_origins app.example.com"), 3,
			`invalid allowed_origins value "app.example.com": expected an origin`},
		{"origin with path", block("allowed_origins https://a.example/app"), 3,
			`invalid allowed_origins value "https://a.example/app"`},
		{"ui_path trailing slash", block("ui_path /2fa/"), 3,
			`invalid ui_path "/2fa/": expected an absolute path without a trailing slash`},
		{"ui_path relative", block("ui_path 2fa"), 3, `invalid ui_path "2fa"`},
		{"secret short", block("secret_key hunter2hunter2"), 3,
			"secret_key is too short: the key is 14 bytes, expected at least 32"},
		{"previous key short", block("previous_keys {env.A} tooshort"), 3,
			"previous_keys is too short: the key is 8 bytes"},
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

func TestUnmarshalCaddyfileHidesSecret(t *testing.T) {
	var h Handler
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(block("secret_key hunter2hunter2")))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v: want an error that does not repeat the secret", err)
	}
}

func TestClosestName(t *testing.T) {
	names := []string{"bypass", "db", "realm", "secret_key", "session_ttl"}
	tests := []struct {
		word, want string
		ok         bool
	}{
		{"secret_keys", "secret_key", true},
		{"sessionttl", "session_ttl", true},
		{"relam", "realm", true},
		{"bypass_matchers", "bypass", true},
		{"dbx", "db", true},
		{"zzzzzzzz", "", false},
	}
	for _, tt := range tests {
		got, ok := closestName(tt.word, names)
		if got != tt.want || ok != tt.ok {
			t.Errorf("closestName(%q) = %q, %v; want %q, %v", tt.word, got, ok, tt.want, tt.ok)
		}
	}
}

// adapt converts a whole Caddyfile to JSON through the http Caddyfile
// adapter, as `caddy adapt` does.
func adapt(t *testing.T, src string) ([]byte, error) {
	t.Helper()
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), nil)
	return out, err
}

// siteRoute is the part of an adapted route that the tests look at.
type siteRoute struct {
	Group  string `json:"group"`
	Handle []struct {
		Handler        string            `json:"handler"`
		Routes         []json.RawMessage `json:"routes"`
		BypassMatchers []json.RawMessage `json:"bypass_matchers"`
	} `json:"handle"`
}

// siteHandlers returns the handler names of the one site's routes in
// order, unwrapping the subroute that a site address with a host makes,
// and the twofactor handler's bypass matchers.
func siteHandlers(t *testing.T, out []byte) ([]string, []json.RawMessage) {
	t.Helper()
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []json.RawMessage `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("decoding adapted JSON: %v", err)
	}
	routes := cfg.Apps.HTTP.Servers["srv0"].Routes
	var names []string
	var bypass []json.RawMessage
	for len(routes) > 0 {
		var route siteRoute
		if err := json.Unmarshal(routes[0], &route); err != nil {
			t.Fatalf("decoding route: %v", err)
		}
		if len(routes) == 1 && len(route.Handle) == 1 && route.Handle[0].Handler == "subroute" &&
			route.Group == "" && names == nil {
			routes = route.Handle[0].Routes // the site block's host wrapper
			continue
		}
		for _, h := range route.Handle {
			names = append(names, h.Handler)
			if h.Handler == "twofactor" {
				bypass = h.BypassMatchers
			}
		}
		routes = routes[1:]
	}
	return names, bypass
}

func TestAdaptDirectiveOrder(t *testing.T) {
	// The twofactor directive comes last and there is no order line, so
	// only the registered directive order can put it in front.
	out, err := adapt(t, `example.com {
	reverse_proxy 127.0.0.1:9000
	handle_path /static/* {
		file_server
	}
	handle /api/* {
		reverse_proxy 127.0.0.1:9001
	}
	request_header -X-Debug
	basic_auth {
		alice $2a$14$Zkx19XLiW6VYouLHR5NmfOFU0z2GTNmpkT/5qqR7hx4IjWJPDhjvG
	}
	twofactor {
		identity placeholder {http.auth.user.id}
	}
}`)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	names, _ := siteHandlers(t, out)
	want := []string{"authentication", "headers", "twofactor", "subroute", "subroute", "reverse_proxy"}
	if !slices.Equal(names, want) {
		t.Errorf("site handlers %v, want %v", names, want)
	}
}

func TestAdaptBypassNamedMatcher(t *testing.T) {
	out, err := adapt(t, `:8080 {
	twofactor {
		identity placeholder {http.auth.user.id}
		bypass @probes
		bypass /public
	}
	@probes {
		path /health /ready
		method GET
	}
	reverse_proxy 127.0.0.1:9000
}`)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	_, bypass := siteHandlers(t, out)
	want := `{"method":["GET"],"path":["/health","/ready"]}`
	if len(bypass) != 1 || string(bypass[0]) != want {
		t.Errorf("bypass_matchers %s, want [%s]", bypass, want)
	}
	if !strings.Contains(string(out), `"bypass_paths":["/public"]`) {
		t.Errorf("adapted JSON %s lacks bypass_paths [/public]", out)
	}
}

func TestAdaptErrorLine(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"bad value", "\t\ttotp_skew 9", `invalid totp_skew "9"`},
		{"undefined matcher", "\t\tbypass @nope", "bypass @nope: unrecognized matcher name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := adapt(t, ":8080 {\n\ttwofactor {\n\t\tidentity placeholder {http.auth.user.id}\n"+
				tt.body+"\n\t}\n\treverse_proxy 127.0.0.1:9000\n}\n")
			if err == nil {
				t.Fatalf("adapt succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "Caddyfile:4") {
				t.Errorf("error %q: want %q at Caddyfile:4", err, tt.want)
			}
		})
	}
}

// FuzzUnmarshalCaddyfile checks that no input makes the parser panic, and
// that every accepted input names exactly one identity source.
func FuzzUnmarshalCaddyfile(f *testing.F) {
	f.Add(block("realm shop", "bypass /a /b", "totp_skew 3"))
	f.Add(introspect("cache 0", "anonymous_status 401"))
	f.Add(bare("identity jwt {", "hmac_secret {env.S}", "}", "credential header Authorization Bearer"))
	f.Add(block("credential header", "identity jwt {", "}"))
	f.Add(bare("identity placeholder {a} {", "}"))
	f.Add("twofactor")
	f.Add("")
	f.Fuzz(func(t *testing.T, input string) {
		tokens, err := caddyfile.Tokenize([]byte(input), "Fuzzfile")
		if err != nil {
			return
		}
		var h Handler
		if h.UnmarshalCaddyfile(caddyfile.NewDispenser(tokens)) != nil {
			return
		}
		sources := 0
		for _, set := range []bool{h.Identity.Introspect != nil, h.Identity.JWT != nil,
			h.Identity.Placeholder != nil} {
			if set {
				sources++
			}
		}
		if sources != 1 {
			t.Errorf("accepted %q with %d identity sources, want 1", input, sources)
		}
	})
}
