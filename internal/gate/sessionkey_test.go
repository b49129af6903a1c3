package gate

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
)

func TestSessionKeyCookieCarrier(t *testing.T) {
	f := newGateFixture(t)
	bare := f.resolve(request(http.MethodGet, "/", "sid=sid-alice")).Caller
	if bare.SessionKey != "" {
		t.Errorf("key without the module cookie = %q, want none", bare.SessionKey)
	}
	if bare.Rekey == nil {
		t.Fatal("Rekey = nil for a cookie carrier, want the module cookie in the key")
	}

	key := func(cookie string) string { return f.resolve(request(http.MethodGet, "/", cookie)).Caller.SessionKey }
	k1 := key("sid=sid-alice; twofactor=m1")
	if k1 == "" || k1 != bare.Rekey("m1") {
		t.Errorf("key with module cookie m1 = %q, want Rekey(m1) = %q", k1, bare.Rekey("m1"))
	}
	if again := key("twofactor=m1; sid=sid-alice"); again != k1 {
		t.Errorf("same cookies in another order give key %q, want %q", again, k1)
	}
	for _, cookie := range []string{
		"sid=sid-alice; twofactor=m2",
		"sid=sid-alice-2; twofactor=m1",
		"sid=sid-bob; twofactor=m1",
	} {
		if got := key(cookie); got == k1 || got == "" {
			t.Errorf("%s: key %q, want a key other than that of sid-alice with m1", cookie, got)
		}
	}
}

func TestSessionKeyHTTPSCookieName(t *testing.T) {
	f := newGateFixture(t)
	key := func(cookie string) *api.Caller {
		r := request(http.MethodGet, "https://app.example/", cookie)
		r.TLS = &tls.ConnectionState{HandshakeComplete: true}
		return f.resolve(r).Caller
	}
	if c := key("sid=sid-alice; twofactor=m1"); c.SessionKey != "" || !c.HTTPS {
		t.Errorf("HTTPS with the plain cookie name: key %q, HTTPS %v, want no key over HTTPS", c.SessionKey, c.HTTPS)
	}
	if c := key("sid=sid-alice; __Host-twofactor=m1"); c.SessionKey == "" || c.SessionKey != c.Rekey("m1") {
		t.Errorf("HTTPS with __Host-twofactor: key %q, want Rekey(m1)", c.SessionKey)
	}
}

// signJWT returns an HS256 token with the given claims and an exp an hour
// after t0.
func signJWT(t *testing.T, secret []byte, claims jwt.MapClaims) string {
	t.Helper()
	claims["exp"] = t0.Add(time.Hour).Unix()
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return token
}

func TestSessionKeyBearerJWT(t *testing.T) {
	secret := []byte(strings.Repeat("j", 32))
	tests := []struct {
		name         string
		sessionClaim string
		sameSession  bool // whether two tokens with one sid share a key
	}{
		{"without session claim", "", false},
		{"with session claim", "sid", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGateFixture(t)
			source, err := identity.NewJWT(identity.JWTConfig{HMACSecret: secret, SessionClaim: tt.sessionClaim, Now: f.clock.Now})
			if err != nil {
				t.Fatalf("NewJWT: %v", err)
			}
			f.gate.Source = source
			f.gate.Carriers = []identity.Carrier{{Kind: identity.CarrierHeader, Name: "Authorization", Scheme: "Bearer"}}
			resolve := func(token, cookie string) *api.Caller {
				r := request(http.MethodGet, "/", cookie)
				r.Header.Set("Authorization", "Bearer "+token)
				return f.resolve(r).Caller
			}
			first := signJWT(t, secret, jwt.MapClaims{"sub": "alice", "sid": "s1", "iat": t0.Unix()})
			second := signJWT(t, secret, jwt.MapClaims{"sub": "alice", "sid": "s1", "iat": t0.Unix() + 60})
			other := signJWT(t, secret, jwt.MapClaims{"sub": "alice", "sid": "s2", "iat": t0.Unix()})

			c := resolve(first, "")
			if c.UserID != "alice" || c.SessionKey == "" {
				t.Fatalf("caller = %+v, want alice with a session key", c)
			}
			if c.Rekey != nil {
				t.Error("Rekey set for a bearer token, want the module cookie left out of the key")
			}
			if got := resolve(first, "twofactor=m1").SessionKey; got != c.SessionKey {
				t.Error("the module cookie changed a bearer session's key")
			}
			if got := resolve(second, "").SessionKey; (got == c.SessionKey) != tt.sameSession {
				t.Errorf("second token with the same sid: same key = %v, want %v", got == c.SessionKey, tt.sameSession)
			}
			if got := resolve(other, "").SessionKey; got == c.SessionKey {
				t.Error("tokens with different sids share a key")
			}
		})
	}
}

func TestSessionKeyBasicCarrier(t *testing.T) {
	tests := []struct {
		name      string
		carrier   identity.Carrier
		header    string
		value     string // the value the source sees
		wantRekey bool
	}{
		{"basic scheme", identity.Carrier{Kind: identity.CarrierHeader, Name: "Authorization", Scheme: "Basic"},
			"Basic YWxpY2U6cHc=", "YWxpY2U6cHc=", true},
		{"basic without scheme", identity.Carrier{Kind: identity.CarrierHeader, Name: "Authorization"},
			"basic YWxpY2U6cHc=", "basic YWxpY2U6cHc=", true},
		{"bearer without scheme", identity.Carrier{Kind: identity.CarrierHeader, Name: "Authorization"},
			"Bearer tok", "Bearer tok", false},
		{"api key header", identity.Carrier{Kind: identity.CarrierHeader, Name: "X-Api-Key"},
			"key-1", "key-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGateFixture(t)
			f.gate.Carriers = []identity.Carrier{tt.carrier}
			f.source.users[tt.value] = identity.Identity{UserID: "alice"}
			r := request(http.MethodGet, "/", "")
			r.Header.Set(tt.carrier.Name, tt.header)
			c := f.resolve(r).Caller
			if c.UserID != "alice" {
				t.Fatalf("caller = %+v, want alice", c)
			}
			if (c.Rekey != nil) != tt.wantRekey {
				t.Errorf("module cookie in the key = %v, want %v", c.Rekey != nil, tt.wantRekey)
			}
			if !tt.wantRekey && c.SessionKey == "" {
				t.Error("no session key for a carrier that needs no module cookie")
			}
		})
	}
}

func TestSessionKeyModuleCookieAlways(t *testing.T) {
	// The placeholder source: the module cookie is always in the key,
	// also with no carrier at all.
	f := newGateFixture(t)
	f.gate.ModuleCookieAlways = true
	caller := &api.Caller{UserID: "alice"}
	r := request(http.MethodGet, "/", "twofactor=m1")
	f.gate.sessionKeys(r, caller, &identity.Identity{UserID: "alice"}, nil)
	if caller.Rekey == nil || caller.SessionKey == "" || caller.SessionKey != caller.Rekey("m1") {
		t.Errorf("key %q, rekey set %v, want the key of module cookie m1", caller.SessionKey, caller.Rekey != nil)
	}
}

func TestSessionKeyWithoutCarrier(t *testing.T) {
	// Introspection let the request in by a cookie that is no configured
	// carrier: there is no session key, so the session is never verified.
	f := newGateFixture(t)
	f.gate.Carriers = nil
	f.gate.AnyCredential = true
	f.source.anyone = &identity.Identity{UserID: "alice"}
	f.enable("alice")

	r := request(http.MethodGet, "/docs", "legacy=1; twofactor=m1")
	res := f.resolve(r)
	if res.Caller.UserID != "alice" {
		t.Fatalf("caller = %+v, want alice", res.Caller)
	}
	if res.Caller.SessionKey != "" || res.Caller.Rekey != nil {
		t.Errorf("key %q, rekey set %v, want neither", res.Caller.SessionKey, res.Caller.Rekey != nil)
	}
	wantDecisionError(t, f.gate.Check(r, res), http.StatusUnauthorized, api.Code2FARequired)
}
