package gate

import (
	"crypto/rand"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/hold"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

var bearerCarrier = identity.Carrier{Kind: identity.CarrierHeader, Name: "Authorization", Scheme: "Bearer"}

// holdLogin holds a login response that set the cookie and, when token is
// set, gave that access token, as the login hold does. It returns the
// partial token.
func (f *gateFixture) holdLogin(userID, cookie, token string) string {
	f.t.Helper()
	a := &hold.Answer{Status: http.StatusSeeOther, Header: http.Header{}}
	a.Header.Add("Set-Cookie", cookie+"; Path=/; HttpOnly")
	a.Header.Set("Location", "/dashboard")
	if token != "" {
		a.Status, a.Body = http.StatusOK, []byte(`{"accessToken":"`+token+`","refreshToken":"r1"}`)
	}
	rule := hold.Rule{Carriers: f.gate.Carriers, RefreshField: "refreshToken"}
	if token != "" {
		rule.TokenField = "accessToken"
	}
	issued := rule.Credential(a)
	if issued == nil {
		f.t.Fatal("the answer issued no credential")
	}
	partial, err := hold.Keep(f.gate.Store, f.keys, rand.Reader, f.clock.Now(), userID,
		&hold.Login{Answer: a, Issued: issued})
	if err != nil {
		f.t.Fatalf("Keep: %v", err)
	}
	return partial
}

func (f *gateFixture) resolvePartial(r *http.Request) *Resolution {
	f.t.Helper()
	token, _ := f.gate.PartialToken(r)
	res, e := f.gate.ResolvePartial(r.Context(), r, token)
	if e != nil {
		f.t.Fatalf("ResolvePartial: %v", e)
	}
	return res
}

func TestResolvePartialOnlyIdentity(t *testing.T) {
	f := newGateFixture(t)
	token := f.holdLogin("alice", "sid=sid-alice", "")
	// The browser still has bob's login and a module cookie: neither counts.
	r := request(http.MethodPost, "/user/2fa/ui/challenge",
		"sid=sid-bob; twofactor=m1; "+PartialCookieHTTP+"="+token)
	if got, bearer := f.gate.PartialToken(r); got != token || bearer {
		t.Fatalf("PartialToken = %.12s…, %v, want the cookie's token", got, bearer)
	}
	res := f.resolvePartial(r)
	c := res.Caller
	if c.UserID != "alice" || res.Identity == nil || res.Identity.UserID != "alice" {
		t.Errorf("caller %q, identity %+v, want alice", c.UserID, res.Identity)
	}
	if got := f.source.header.Get("Cookie"); got != "sid=sid-alice" {
		t.Errorf("the identity source saw Cookie %q, want only the held credential", got)
	}
	if c.PartialMAC != hold.TokenMAC(f.keys, token) {
		t.Error("PartialMAC is not the store key of the token")
	}
	if c.SessionKey != "" || c.Rekey == nil {
		t.Errorf("session key %q, rekey %v, want a cookie session without a module cookie yet",
			c.SessionKey, c.Rekey != nil)
	}
	if c.Release == nil || c.Release.Location != "/dashboard" || len(c.Release.SetCookies) != 1 ||
		len(c.Release.Sessions) != 0 {
		t.Errorf("release %+v, want the held Location, one Set-Cookie and no further sessions", c.Release)
	}
	if res.Partial() {
		t.Error("Partial() = true, want false: the resolution is the held credential's")
	}

	// After the release the browser sends the released cookie with the new
	// module cookie: that is the session Rekey names.
	later := f.resolve(request(http.MethodGet, "/dashboard", "sid=sid-alice; twofactor=m2"))
	if later.Caller.SessionKey != c.Rekey("m2") {
		t.Error("the released cookie's later session is not the one the release verifies")
	}
}

func TestPartialTokenBearerWins(t *testing.T) {
	f := newGateFixture(t)
	r := request(http.MethodPost, "/user/2fa/totp/authenticate", PartialCookieHTTP+"=partial_cookie")
	r.Header.Set("Authorization", "Bearer partial_bearer")
	if got, bearer := f.gate.PartialToken(r); got != "partial_bearer" || !bearer {
		t.Errorf("PartialToken = %q, %v, want the bearer token", got, bearer)
	}
	// Over HTTPS only the __Secure- cookie counts.
	https := request(http.MethodPost, "/", PartialCookieHTTP+"=partial_http")
	https.TLS = &tls.ConnectionState{HandshakeComplete: true}
	if got, _ := f.gate.PartialToken(https); got != "" {
		t.Errorf("PartialToken over HTTPS = %q, want none from the plain cookie", got)
	}
	https.Header.Set("Cookie", PartialCookieHTTPS+"=partial_https")
	if got, _ := f.gate.PartialToken(https); got != "partial_https" {
		t.Errorf("PartialToken over HTTPS = %q, want partial_https", got)
	}
	if got, _ := f.gate.PartialToken(request(http.MethodPost, "/", "")); got != "" {
		t.Errorf("PartialToken without one = %q, want none", got)
	}
}

func TestResolvePartialRejected(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *gateFixture, token string) string
	}{
		{"unknown", func(*gateFixture, string) string { return "partial_unknown" }},
		{"not a partial token", func(*gateFixture, string) string { return "sudo_x" }},
		{"expired", func(f *gateFixture, token string) string {
			f.clock.Advance(hold.TTL)
			return token
		}},
		{"tampered", func(f *gateFixture, token string) string {
			mac := hold.TokenMAC(f.keys, token)
			err := f.gate.Store.Update(func(tx store.Tx) error {
				h, err := account.GetHeldLogin(tx, mac)
				if err != nil {
					return err
				}
				h.Sealed[len(h.Sealed)/2] ^= 0x40
				return account.PutHeldLogin(tx, mac, h)
			})
			if err != nil {
				t.Fatalf("tampering: %v", err)
			}
			return token
		}},
		{"credential now of another user", func(f *gateFixture, token string) string {
			f.source.users["sid-alice"] = identity.Identity{UserID: "bob"}
			return token
		}},
		{"credential logged out", func(f *gateFixture, token string) string {
			delete(f.source.users, "sid-alice")
			return token
		}},
		{"revoked", func(f *gateFixture, token string) string {
			err := f.gate.Sessions.UpdateUser("alice", func(tx store.Tx) error {
				return f.gate.Sessions.RevokeUser(tx, "alice", "")
			})
			if err != nil {
				t.Fatalf("RevokeUser: %v", err)
			}
			return token
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGateFixture(t)
			token := tt.change(f, f.holdLogin("alice", "sid=sid-alice", ""))
			r := request(http.MethodPost, "/user/2fa/totp/authenticate", "")
			res, e := f.gate.ResolvePartial(r.Context(), r, token)
			if e == nil || e.Status != http.StatusUnauthorized || e.Message != api.CodeInvalidToken {
				t.Errorf("ResolvePartial = %+v, %v, want 401 %s", res, e, api.CodeInvalidToken)
			}
		})
	}
}

// TestResolvePartialCookieAndToken holds a JSON login that set a cookie
// and gave a token. The client may use the token alone, the cookie alone
// or both later, so the release verifies all three sessions, and the
// caller's own is the token's.
func TestResolvePartialCookieAndToken(t *testing.T) {
	f := newGateFixture(t)
	f.gate.Carriers = []identity.Carrier{sidCookie, bearerCarrier}
	f.source.users["tok-alice"] = identity.Identity{UserID: "alice"}
	token := f.holdLogin("alice", "sid=sid-alice", "tok-alice")
	r := request(http.MethodPost, "/user/2fa/totp/authenticate", "")
	r.Header.Set("Authorization", "Bearer "+token)
	c := f.resolvePartial(r).Caller
	if c.Release.AccessToken != "tok-alice" || c.Release.RefreshToken != "r1" {
		t.Errorf("released tokens %q, %q, want tok-alice, r1", c.Release.AccessToken, c.Release.RefreshToken)
	}
	if len(c.Release.Sessions) != 2 {
		t.Fatalf("further sessions %d, want the cookie's and the combined one", len(c.Release.Sessions))
	}

	bearerOnly := request(http.MethodGet, "/api/me", "")
	bearerOnly.Header.Set("Authorization", "Bearer tok-alice")
	if got := f.resolve(bearerOnly).Caller.SessionKey; got == "" || got != c.SessionKey {
		t.Error("the token's later session is not the caller's")
	}
	cookieOnly := f.resolve(request(http.MethodGet, "/", "sid=sid-alice; twofactor=m1"))
	if rekey := c.Release.Sessions[0].Rekey; rekey == nil || cookieOnly.Caller.SessionKey != rekey("m1") {
		t.Error("the cookie's later session is not among the released ones")
	}
	both := request(http.MethodGet, "/", "sid=sid-alice; twofactor=m1")
	both.Header.Set("Authorization", "Bearer tok-alice")
	if rekey := c.Release.Sessions[1].Rekey; rekey == nil || f.resolve(both).Caller.SessionKey != rekey("m1") {
		t.Error("the combined later session is not among the released ones")
	}
}

func TestPartialCookie(t *testing.T) {
	tests := []struct {
		name   string
		https  bool
		uiPath string
		cookie string
		paths  []string
	}{
		{"default ui path", false, "/user/2fa/ui", PartialCookieHTTP, []string{"/user/2fa"}},
		{"https", true, "/user/2fa/ui", PartialCookieHTTPS, []string{"/user/2fa"}},
		{"ui path elsewhere", false, "/account/2fa", PartialCookieHTTP, []string{"/user/2fa", "/account/2fa"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			SetPartialCookie(w, "partial_x", tt.https, tt.uiPath)
			cookies := w.Result().Cookies()
			if len(cookies) != len(tt.paths) {
				t.Fatalf("%d cookies, want %d", len(cookies), len(tt.paths))
			}
			for i, c := range cookies {
				if c.Name != tt.cookie || c.Value != "partial_x" || c.Path != tt.paths[i] ||
					c.MaxAge != 300 || !c.HttpOnly || c.Secure != tt.https || c.SameSite != http.SameSiteLaxMode {
					t.Errorf("cookie %+v, want %s on %s, Max-Age 300, HttpOnly, Secure %v, SameSite Lax",
						c, tt.cookie, tt.paths[i], tt.https)
				}
			}
			w = httptest.NewRecorder()
			ClearPartialCookie(w, tt.https, tt.uiPath)
			for _, c := range w.Result().Cookies() {
				if c.Name != tt.cookie || c.MaxAge >= 0 {
					t.Errorf("clearing cookie %+v, want %s with a negative Max-Age", c, tt.cookie)
				}
			}
		})
	}
}
