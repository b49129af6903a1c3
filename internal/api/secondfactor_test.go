package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
)

// cookieCaller returns a caller whose session key includes the module
// cookie, as for a cookie carrier. Its key is the user id, "/cookie:" and
// the cookie's value.
func cookieCaller(userID, moduleCookie string, https bool) *Caller {
	rekey := func(value string) string { return userID + "/cookie:" + value }
	c := &Caller{UserID: userID, HasCredential: true, Rekey: rekey, HTTPS: https, ClientIP: "127.0.0.1"}
	if moduleCookie != "" {
		c.SessionKey = rekey(moduleCookie)
	}
	return c
}

// moduleCookie returns the module cookie a response sets, or nil.
func moduleCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	cookies := w.Result().Cookies()
	if len(cookies) > 1 {
		t.Fatalf("response sets %d cookies, want at most 1", len(cookies))
	}
	if len(cookies) == 0 {
		return nil
	}
	return cookies[0]
}

func TestModuleCookieAttributes(t *testing.T) {
	tests := []struct {
		https bool
		name  string
	}{
		{false, "twofactor"},
		{true, "__Host-twofactor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			alice := cookieCaller("alice", "", tt.https)
			secret := f.setup(alice)
			w := f.do(http.MethodPost, "/totp/enable", alice, totpBody(totpCode(secret, t0)))
			wantOK(t, w, nil)

			c := moduleCookie(t, w)
			if c == nil {
				t.Fatal("enable set no module cookie")
			}
			if c.Name != tt.name {
				t.Errorf("name = %q, want %q", c.Name, tt.name)
			}
			if len(c.Value) != 43 {
				t.Errorf("value has %d characters, want 43 (256 bits in base64url)", len(c.Value))
			}
			if c.Path != "/" || c.Domain != "" {
				t.Errorf("Path, Domain = %q, %q, want /, none", c.Path, c.Domain)
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tt.https {
				t.Errorf("HttpOnly %v, SameSite %v, Secure %v, want true, Lax, %v", c.HttpOnly, c.SameSite, c.Secure, tt.https)
			}
			if c.MaxAge != int((12 * time.Hour).Seconds()) {
				t.Errorf("Max-Age = %d, want the session TTL in seconds", c.MaxAge)
			}
			if _, ok, _ := f.server.Sessions.Verified("alice", alice.Rekey(c.Value)); !ok {
				t.Error("the session keyed by the new cookie is not verified")
			}
		})
	}
}

func TestModuleCookieNotSetForBearer(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret := f.setup(alice)
	w := f.do(http.MethodPost, "/totp/enable", alice, totpBody(totpCode(secret, t0)))
	wantOK(t, w, nil)
	if c := moduleCookie(t, w); c != nil {
		t.Errorf("enable for a bearer session set cookie %s", c.Name)
	}
	f.clock.Advance(30 * time.Second)
	w = f.do(http.MethodPost, "/totp/authenticate", alice, totpBody(totpCode(secret, f.clock.Now())))
	wantOK(t, w, nil)
	if c := moduleCookie(t, w); c != nil {
		t.Errorf("authenticate for a bearer session set cookie %s", c.Name)
	}
}

// authenticateWithCookie passes TOTP in the next time step and returns
// the module cookie and the sudo token of the response.
func (f *fixture) authenticateWithCookie(c *Caller, secret []byte) (*http.Cookie, string) {
	f.t.Helper()
	f.clock.Advance(30 * time.Second)
	w := f.do(http.MethodPost, "/totp/authenticate", c, totpBody(totpCode(secret, f.clock.Now())))
	var answer struct {
		SudoToken string `json:"sudoToken"`
	}
	wantOK(f.t, w, &answer)
	cookie := moduleCookie(f.t, w)
	if cookie == nil {
		f.t.Fatal("authenticate set no module cookie")
	}
	return cookie, answer.SudoToken
}

func TestModuleCookieRotation(t *testing.T) {
	f := newFixture(t)
	first := cookieCaller("alice", "", false)
	secret := f.setup(first)
	w := f.do(http.MethodPost, "/totp/enable", first, totpBody(totpCode(secret, t0)))
	cookie1 := moduleCookie(t, w)
	if cookie1 == nil {
		t.Fatal("enable set no module cookie")
	}

	second := cookieCaller("alice", cookie1.Value, false)
	cookie2, sudo1 := f.authenticateWithCookie(second, secret)
	if cookie2.Value == cookie1.Value {
		t.Fatal("authenticate kept the module cookie's value, want a new one")
	}
	third := cookieCaller("alice", cookie2.Value, false)
	if record := f.sudoRecord(sudo1); record == nil || record.SessionKey != third.SessionKey {
		t.Fatalf("sudo token = %+v, want it bound to the key of the cookie set with it", record)
	}

	// Each rotation moves the session and its sudo tokens to the new key.
	cookie3, sudo2 := f.authenticateWithCookie(third, secret)
	fourth := cookieCaller("alice", cookie3.Value, false)
	for _, old := range []*Caller{second, third} {
		if f.verified(old) {
			t.Errorf("session under an old cookie still verified")
		}
	}
	if !f.verified(fourth) {
		t.Error("session under the new cookie not verified")
	}
	for _, sudo := range []string{sudo1, sudo2} {
		if record := f.sudoRecord(sudo); record == nil || record.SessionKey != fourth.SessionKey {
			t.Errorf("sudo token after the rotation = %+v, want it bound to the new key", record)
		}
	}
}

func TestRequireSudo(t *testing.T) {
	totp := &account.TOTP{}
	email := &account.EmailOTP{Email: "a@example.com"}
	sudoBy := func(method string) *account.SudoToken { return &account.SudoToken{Method: method} }
	tests := []struct {
		name       string
		user       account.User
		sudo       *account.SudoToken
		guardsTOTP bool
		want       *Error // nil: allowed
	}{
		{"no sudo", account.User{TOTP: totp}, nil, true, NewError(401, CodeSudoTokenRequired)},
		{"totp sudo", account.User{TOTP: totp}, sudoBy(account.MethodTOTP), true, nil},
		{"recovery sudo", account.User{TOTP: totp}, sudoBy(account.MethodRecoveryCode), true, nil},
		{"email sudo, totp on", account.User{TOTP: totp, EmailOTP: email}, sudoBy(account.MethodEmailOTP), true,
			NewError(403, CodeStrongerFactorRequired)},
		{"email sudo, totp off", account.User{EmailOTP: email}, sudoBy(account.MethodEmailOTP), true, nil},
		{"email sudo, not guarding", account.User{TOTP: totp}, sudoBy(account.MethodEmailOTP), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := requireSudo(&tt.user, &Caller{UserID: "alice", Sudo: tt.sudo}, tt.guardsTOTP)
			switch {
			case tt.want == nil && got != nil:
				t.Errorf("requireSudo = %v, want allowed", got)
			case tt.want != nil && (got == nil || got.Status != tt.want.Status || got.Message != tt.want.Message):
				t.Errorf("requireSudo = %v, want %v", got, tt.want)
			}
		})
	}

	// With 2FA off a credential is enough.
	if got := requireSudoIfActive(&account.User{}, &Caller{UserID: "alice"}, true); got != nil {
		t.Errorf("requireSudoIfActive with 2FA off = %v, want allowed", got)
	}
}

func TestStrongerFactorRequired(t *testing.T) {
	routes := []struct{ method, subpath, body string }{
		{http.MethodPost, "/totp/setup", "{}"},
		{http.MethodDelete, "/totp", ""},
		{http.MethodPost, "/recovery-code/reset", "{}"},
	}
	for _, rt := range routes {
		t.Run(rt.method+rt.subpath, func(t *testing.T) {
			f := newFixture(t)
			alice := caller("alice", "key-a")
			secret, _ := f.enroll(alice)
			sudo := f.authenticate(alice, secret)
			f.forgeSudoMethod(sudo, account.MethodEmailOTP)
			before := f.user("alice")

			w := f.do(rt.method, rt.subpath, f.withSudo(alice, sudo), rt.body)
			wantError(t, w, http.StatusForbidden, CodeStrongerFactorRequired)

			after := f.user("alice")
			if after.TOTP == nil || after.PendingTOTP != nil || len(after.Recovery.MACs) != 10 {
				t.Errorf("user changed by a rejected request: %+v", after)
			}
			if after.Recovery.MACs[0] != before.Recovery.MACs[0] {
				t.Error("recovery codes replaced by a rejected reset")
			}
		})
	}
}

func TestSudoMAC(t *testing.T) {
	f := newFixture(t)
	a, b := SudoMAC(f.keys, "sudo_a"), SudoMAC(f.keys, "sudo_b")
	if a == b {
		t.Error("two tokens have the same MAC")
	}
	if a != SudoMAC(f.keys, "sudo_a") {
		t.Error("SudoMAC is not deterministic")
	}
	if a == "sudo_a" || len(a) != 43 {
		t.Errorf("SudoMAC = %q, want a 43-character HMAC", a)
	}
}

func TestModuleCookieName(t *testing.T) {
	if got := ModuleCookieName(true); got != "__Host-twofactor" {
		t.Errorf("ModuleCookieName(https) = %q, want __Host-twofactor", got)
	}
	if got := ModuleCookieName(false); got != "twofactor" {
		t.Errorf("ModuleCookieName(http) = %q, want twofactor", got)
	}
}
