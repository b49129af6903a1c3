package gate

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
)

func wantResolveError(t *testing.T, f *gateFixture, r *http.Request, status int, message string) {
	t.Helper()
	res, e := f.gate.Resolve(r.Context(), r)
	if e == nil {
		t.Fatalf("Resolve = %+v, want %d %s", res.Caller, status, message)
	}
	if e.Status != status || e.Message != message {
		t.Errorf("Resolve error = %d %s, want %d %s", e.Status, e.Message, status, message)
	}
}

func TestResolveNoCredential(t *testing.T) {
	f := newGateFixture(t)
	res := f.resolve(request(http.MethodGet, "/", "theme=dark; twofactor=m1"))
	if res.Identity != nil || res.Caller.UserID != "" || res.Caller.HasCredential {
		t.Errorf("resolution = %+v, caller %+v, want no credential and no user", res, res.Caller)
	}
	if res.Caller.ClientIP != "127.0.0.1" || res.Caller.HTTPS {
		t.Errorf("ClientIP, HTTPS = %q, %v, want 127.0.0.1, false", res.Caller.ClientIP, res.Caller.HTTPS)
	}
	if f.source.calls != 0 {
		t.Errorf("identity source called %d times, want 0", f.source.calls)
	}
}

func TestResolveLoggedIn(t *testing.T) {
	f := newGateFixture(t)
	r := request(http.MethodGet, "/", "sid=sid-alice")
	r.TLS = &tls.ConnectionState{HandshakeComplete: true}
	res := f.resolve(r)
	c := res.Caller
	if c.UserID != "alice" || c.Email != "alice@example.com" || !c.HasCredential || !c.HTTPS {
		t.Errorf("caller = %+v, want alice with her email, a credential and HTTPS", c)
	}
	if res.Identity == nil || res.Identity.UserID != "alice" {
		t.Errorf("identity = %+v, want alice", res.Identity)
	}
	if res.Partial() || c.Sudo != nil {
		t.Errorf("partial %v, sudo %+v, want neither", res.Partial(), c.Sudo)
	}
}

func TestResolveRejectedCarrier(t *testing.T) {
	f := newGateFixture(t)
	res := f.resolve(request(http.MethodGet, "/", "sid=forged"))
	if res.Identity != nil || res.Caller.UserID != "" {
		t.Errorf("identity %+v, user %q, want none", res.Identity, res.Caller.UserID)
	}
	if !res.Caller.HasCredential {
		t.Error("HasCredential = false, want true: a carrier was presented")
	}
	if len(res.Rejected) != 1 || res.Rejected[0].Carrier != sidCookie {
		t.Errorf("rejected = %v, want the sid cookie", res.Rejected)
	}
}

func TestResolveAmbiguous(t *testing.T) {
	apiKey := identity.Carrier{Kind: identity.CarrierHeader, Name: "X-Api-Key"}
	tests := []struct {
		name   string
		cookie string
		header http.Header
	}{
		{"cookie twice", "sid=sid-alice; sid=sid-bob", nil},
		{"same cookie twice", "sid=sid-alice; sid=sid-alice", nil},
		{"two authorization headers", "", http.Header{"Authorization": {"Bearer a", "Bearer b"}}},
		{"carriers of two users", "sid=sid-alice", http.Header{"X-Api-Key": {"sid-bob"}}},
		{"two sudo headers", "", http.Header{SudoHeader: {"sudo_a", "sudo_a"}}},
		{"two sudo tokens", "", http.Header{"Authorization": {"Bearer sudo_a"}, SudoHeader: {"sudo_b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGateFixture(t)
			f.gate.Carriers = []identity.Carrier{sidCookie, apiKey}
			r := request(http.MethodGet, "/", tt.cookie)
			for name, values := range tt.header {
				r.Header[name] = values
			}
			wantResolveError(t, f, r, http.StatusBadRequest, api.CodeAmbiguousCredential)
		})
	}
}

func TestResolveSourceFailure(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("%w: introspection timed out", identity.ErrUnavailable),
		errors.New("some other failure"),
	} {
		f := newGateFixture(t)
		f.source.err = err
		wantResolveError(t, f, request(http.MethodGet, "/", "sid=sid-alice"), http.StatusBadGateway, api.CodeIdentityUnavailable)
		entries := f.logs.FilterMessage("identity source failed").All()
		if len(entries) != 1 || entries[0].Level != zapcore.ErrorLevel {
			t.Errorf("%v: %d error log lines for the failure, want 1", err, len(entries))
		}
	}
}

func TestResolveSourceSeesNoModuleParts(t *testing.T) {
	f := newGateFixture(t)
	r := request(http.MethodGet, "/", "sid=sid-alice; twofactor=m1; __Host-twofactor=m2; theme=dark")
	r.Header.Set(SudoHeader, "sudo_x")
	f.gate.Resolve(r.Context(), r)

	if f.source.calls != 1 {
		t.Fatalf("identity source called %d times, want 1", f.source.calls)
	}
	if got := f.source.header.Get("Cookie"); got != "sid=sid-alice; theme=dark" {
		t.Errorf("source saw Cookie %q, want the module cookies removed", got)
	}
	if got := f.source.header.Get(SudoHeader); got != "" {
		t.Errorf("source saw X-Sudo-Token %q, want it removed", got)
	}
	if got := r.Header.Get("Cookie"); got != "sid=sid-alice; twofactor=m1; __Host-twofactor=m2; theme=dark" {
		t.Errorf("Resolve changed the request's Cookie to %q", got)
	}
}

func TestResolveSourceSeesNoSudoAuthorization(t *testing.T) {
	f := newGateFixture(t)
	f.gate.Carriers = nil
	f.gate.AnyCredential = true
	sudo := f.mintSudo("alice", "", account.MethodTOTP)
	r := request(http.MethodGet, "/", "legacy=1")
	r.Header.Set("Authorization", "Bearer "+sudo)
	f.gate.Resolve(r.Context(), r)
	if got := f.source.header.Get("Authorization"); got != "" {
		t.Errorf("source saw Authorization %q, want the sudo token removed", got)
	}
}

func TestResolveAnyCredential(t *testing.T) {
	// With introspection any Cookie or Authorization is a credential,
	// except the module's own cookie and tokens.
	tests := []struct {
		name, cookie, authorization string
		want                        bool
	}{
		{"app cookie", "legacy=1", "", true},
		{"app authorization", "", "Bearer app-token", true},
		{"module cookie only", "twofactor=m1; __Host-twofactor=m2", "", false},
		{"partial token only", "", "Bearer partial_x", false},
		{"nothing", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGateFixture(t)
			f.gate.Carriers = nil
			f.gate.AnyCredential = true
			r := request(http.MethodGet, "/", tt.cookie)
			if tt.authorization != "" {
				r.Header.Set("Authorization", tt.authorization)
			}
			res := f.resolve(r)
			if res.Caller.HasCredential != tt.want {
				t.Errorf("HasCredential = %v, want %v", res.Caller.HasCredential, tt.want)
			}
			if called := f.source.calls > 0; called != tt.want {
				t.Errorf("identity source called = %v, want %v", called, tt.want)
			}
		})
	}
}

func TestResolvePlaceholderWithoutCarriers(t *testing.T) {
	f := newGateFixture(t)
	f.gate.Carriers = nil
	f.gate.ModuleCookieAlways = true
	f.gate.Source = identity.NewPlaceholder(func(r *http.Request) (string, string) {
		return r.Header.Get("X-Test-User"), ""
	})
	f.enable("alice")
	r := request(http.MethodGet, "/docs", "")
	r.Header.Set("X-Test-User", "alice")

	res := f.resolve(r)
	if res.Identity == nil || res.Caller.UserID != "alice" {
		t.Fatalf("identity %+v, user %q, want alice from the placeholder", res.Identity, res.Caller.UserID)
	}
	wantDecisionError(t, f.gate.Check(r, res), http.StatusUnauthorized, api.Code2FARequired)
}

func TestResolveSudoAlone(t *testing.T) {
	f := newGateFixture(t)
	sudo := f.mintSudo("alice", "session-key-a", account.MethodRecoveryCode)
	for _, header := range []string{"Authorization", SudoHeader} {
		r := request(http.MethodPost, "/user/2fa/totp/setup", "")
		value := sudo
		if header == "Authorization" {
			value = "Bearer " + sudo
		}
		r.Header.Set(header, value)

		res := f.resolve(r)
		c := res.Caller
		if c.UserID != "alice" || c.SessionKey != "session-key-a" || !c.HasCredential || c.Rekey != nil {
			t.Errorf("%s: caller = %+v, want alice on the token's session", header, c)
		}
		if c.Sudo == nil || c.Sudo.Method != account.MethodRecoveryCode {
			t.Errorf("%s: sudo = %+v, want the record minted by recoveryCode", header, c.Sudo)
		}
		if res.Identity != nil {
			t.Errorf("%s: identity = %+v, want none: a sudo token is no app credential", header, res.Identity)
		}
	}
}

func TestResolveSudoBesideItsSession(t *testing.T) {
	f := newGateFixture(t)
	cookie := "sid=sid-alice; twofactor=m1"
	key := f.resolve(request(http.MethodGet, "/", cookie)).Caller.SessionKey
	sudo := f.mintSudo("alice", key, account.MethodTOTP)

	for _, header := range [][2]string{{"Authorization", "Bearer " + sudo}, {SudoHeader, sudo}} {
		r := request(http.MethodPost, "/", cookie)
		r.Header.Set(header[0], header[1])
		c := f.resolve(r).Caller
		if c.Sudo == nil || c.UserID != "alice" || c.SessionKey != key {
			t.Errorf("%s: caller %+v, want alice's session with the sudo token", header[0], c)
		}
	}

	// The same token in both places is one token.
	r := request(http.MethodPost, "/", cookie)
	r.Header.Set("Authorization", "Bearer "+sudo)
	r.Header.Set(SudoHeader, sudo)
	if c := f.resolve(r).Caller; c.Sudo == nil {
		t.Error("the same sudo token in Authorization and X-Sudo-Token was not accepted")
	}
}

func TestResolveSudoInvalid(t *testing.T) {
	f := newGateFixture(t)
	aliceKey := f.resolve(request(http.MethodGet, "/", "sid=sid-alice; twofactor=m1")).Caller.SessionKey
	otherKey := f.resolve(request(http.MethodGet, "/", "sid=sid-alice-2; twofactor=m1")).Caller.SessionKey
	aliceSudo := f.mintSudo("alice", aliceKey, account.MethodTOTP)
	otherSudo := f.mintSudo("alice", otherKey, account.MethodTOTP)
	bobSudo := f.mintSudo("bob", "bob-key", account.MethodTOTP)

	tests := []struct {
		name, cookie, token string
	}{
		{"another user's", "sid=sid-alice; twofactor=m1", bobSudo},
		{"another session's", "sid=sid-alice; twofactor=m1", otherSudo},
		{"another module cookie", "sid=sid-alice; twofactor=m2", aliceSudo},
		{"no module cookie", "sid=sid-alice", aliceSudo},
		{"unknown", "sid=sid-alice; twofactor=m1", "sudo_unknown"},
		{"unknown alone", "", "sudo_unknown"},
		{"no prefix", "", "not-a-sudo-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(http.MethodPost, "/", tt.cookie)
			r.Header.Set(SudoHeader, tt.token)
			wantResolveError(t, f, r, http.StatusUnauthorized, api.CodeSudoTokenInvalid)
		})
	}
}

func TestResolveSudoExpiry(t *testing.T) {
	f := newGateFixture(t)
	sudo := f.mintSudo("alice", "key-a", account.MethodTOTP)
	r := request(http.MethodPost, "/", "")
	r.Header.Set(SudoHeader, sudo)

	f.clock.Advance(5*time.Minute - time.Second)
	if c := f.resolve(r).Caller; c.Sudo == nil {
		t.Fatal("sudo token rejected before its expiry")
	}
	f.clock.Advance(time.Second)
	wantResolveError(t, f, r, http.StatusUnauthorized, api.CodeSudoTokenInvalid)
}

func TestResolvePartialToken(t *testing.T) {
	f := newGateFixture(t)
	r := request(http.MethodPost, "/", "")
	r.Header.Set("Authorization", "Bearer partial_abc")
	if res := f.resolve(r); !res.Partial() {
		t.Error("Partial() = false for a bearer partial token")
	}
	if res := f.resolve(request(http.MethodPost, "/", "sid=sid-alice")); res.Partial() {
		t.Error("Partial() = true without a partial token")
	}
}
