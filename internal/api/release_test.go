package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// holdLogin stores a held login of userID, as the login hold does, and
// returns a caller that presents its partial token: its own session is
// the released token's, and the cookie's and the combined one come along.
func (f *fixture) holdLogin(userID, mac string) *Caller {
	f.t.Helper()
	record := &account.HeldLogin{UserID: userID, Sealed: []byte("sealed"),
		Expires: f.clock.Now().Add(5 * time.Minute)}
	err := f.server.Store.Update(func(tx store.Tx) error {
		return account.PutHeldLogin(tx, mac, record)
	})
	if err != nil {
		f.t.Fatalf("PutHeldLogin: %v", err)
	}
	c := caller(userID, "token-key-"+mac)
	c.PartialMAC = mac
	c.Release = &Release{
		SetCookies:   []string{"session=s1; Path=/; HttpOnly"},
		Location:     "/dashboard",
		AccessToken:  "access-1",
		RefreshToken: "refresh-1",
		Sessions: []ReleasedSession{
			{Rekey: func(moduleCookie string) string { return "cookie-key-" + moduleCookie }},
			{Key: "combined-key-" + mac},
		},
	}
	return c
}

// heldLogin reads the held login stored under mac, or nil.
func (f *fixture) heldLogin(mac string) *account.HeldLogin {
	f.t.Helper()
	var held *account.HeldLogin
	err := f.server.Store.View(func(tx store.Tx) error {
		var err error
		held, err = account.GetHeldLogin(tx, mac)
		return err
	})
	if err != nil {
		f.t.Fatalf("GetHeldLogin: %v", err)
	}
	return held
}

func TestReleaseAnswer(t *testing.T) {
	f := newFixture(t)
	_, codes := f.enroll(caller("alice", "key-a"))
	held := f.holdLogin("alice", "mac-1")

	w := f.do(http.MethodPost, "/recovery-code/authenticate", held, recoveryBody(codes[0]))
	var answer struct {
		AccessToken  *string `json:"accessToken"`
		RefreshToken *string `json:"refreshToken"`
		SudoToken    string  `json:"sudoToken"`
	}
	wantOK(t, w, &answer)
	if answer.AccessToken == nil || *answer.AccessToken != "access-1" ||
		answer.RefreshToken == nil || *answer.RefreshToken != "refresh-1" {
		t.Errorf("tokens = %v, %v, want access-1, refresh-1", answer.AccessToken, answer.RefreshToken)
	}
	if got := w.Header().Get("Location"); got != "/dashboard" {
		t.Errorf("Location = %q, want /dashboard", got)
	}
	setCookies := w.Header().Values("Set-Cookie")
	if !slices.Contains(setCookies, "session=s1; Path=/; HttpOnly") {
		t.Errorf("Set-Cookie = %q, want the app's session cookie as written", setCookies)
	}
	var moduleCookie string
	for _, c := range w.Result().Cookies() {
		if c.Name == ModuleCookieHTTP {
			moduleCookie = c.Value
		}
	}
	if moduleCookie == "" {
		t.Fatalf("Set-Cookie = %q, want a module cookie for the cookie session", setCookies)
	}

	for _, key := range []string{"token-key-mac-1", "cookie-key-" + moduleCookie, "combined-key-mac-1"} {
		if _, ok, _ := f.server.Sessions.Verified("alice", key); !ok {
			t.Errorf("session %s is not verified, want every session of the released credential", key)
		}
	}
	if record := f.sudoRecord(answer.SudoToken); record == nil || record.SessionKey != "token-key-mac-1" {
		t.Errorf("sudo record = %+v, want one bound to the caller's session", record)
	}
	if f.heldLogin("mac-1") != nil {
		t.Error("the held login is still stored after its release")
	}
}

func TestReleaseTOTPAnswer(t *testing.T) {
	f := newFixture(t)
	secret, _ := f.enroll(caller("alice", "key-a"))
	held := f.holdLogin("alice", "mac-1")
	f.clock.Advance(30 * time.Second)

	body := fmt.Sprintf(`{"totp":%q}`, totpCode(secret, f.clock.Now()))
	var answer map[string]any
	wantOK(t, f.do(http.MethodPost, "/totp/authenticate", held, body), &answer)
	if answer["accessToken"] != "access-1" || answer["refreshToken"] != "refresh-1" {
		t.Errorf("answer %v, want the released access-1 and refresh-1", answer)
	}
	if f.heldLogin("mac-1") != nil {
		t.Error("the held login is still stored after its release")
	}
}

func TestReleaseOnlyOnce(t *testing.T) {
	f := newFixture(t)
	secret, codes := f.enroll(caller("alice", "key-a"))
	held := f.holdLogin("alice", "mac-1")
	wantOK(t, f.do(http.MethodPost, "/recovery-code/authenticate", held, recoveryBody(codes[0])), nil)

	// A second release fails as a whole: the TOTP step it checked stays
	// unused, and the session it would verify stays unverified.
	f.clock.Advance(30 * time.Second)
	lastStep := f.user("alice").TOTP.LastStep
	again := *held
	again.SessionKey = "token-key-again"
	v, e := f.server.AuthenticateTOTP(&again, totpCode(secret, f.clock.Now()))
	if e == nil || e.Status != http.StatusUnauthorized || e.Message != CodeInvalidToken {
		t.Fatalf("second release = %+v, %v, want 401 %s", v, e, CodeInvalidToken)
	}
	if got := f.user("alice").TOTP.LastStep; got != lastStep {
		t.Errorf("TOTP last step = %d after the failed release, want %d", got, lastStep)
	}
	if _, ok, _ := f.server.Sessions.Verified("alice", "token-key-again"); ok {
		t.Error("the failed release verified its session")
	}
}

func TestReleaseRejected(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *fixture, c *Caller)
	}{
		{"expired", func(f *fixture, _ *Caller) { f.clock.Advance(5 * time.Minute) }},
		{"other user", func(_ *fixture, c *Caller) { c.UserID = "bob" }},
		{"revoked", func(f *fixture, c *Caller) {
			err := f.server.Sessions.UpdateUser("alice", func(tx store.Tx) error {
				return f.server.Sessions.RevokeUser(tx, "alice", "key-a")
			})
			if err != nil {
				t.Fatalf("RevokeUser: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			codes := map[string][]string{}
			_, codes["alice"] = f.enroll(caller("alice", "key-a"))
			_, codes["bob"] = f.enroll(caller("bob", "key-b"))
			held := f.holdLogin("alice", "mac-1")
			tt.change(f, held)
			w := f.do(http.MethodPost, "/recovery-code/authenticate", held, recoveryBody(codes[held.UserID][0]))
			wantError(t, w, http.StatusUnauthorized, CodeInvalidToken)
			if got := len(f.user(held.UserID).Recovery.MACs); got != 10 {
				t.Errorf("recovery codes left = %d, want 10: a rejected release spends none", got)
			}
		})
	}
}

// TestReleaseParallel sends 20 authenticates with one partial token at
// once, each with a valid recovery code of its own, so only the partial
// token's single use can stop all but one.
func TestReleaseParallel(t *testing.T) {
	const n = 20
	f := newFixture(t)
	f.enroll(caller("alice", "key-a"))
	codes := make([]string, n)
	err := f.server.Sessions.UpdateUser("alice", func(tx store.Tx) error {
		u, err := account.LoadUser(tx, "alice")
		if err != nil {
			return err
		}
		u.Recovery.MACs = nil
		for i := range codes {
			codes[i] = fmt.Sprintf("%016d", i)
			u.Recovery.MACs = append(u.Recovery.MACs, f.server.recoveryMAC("alice", codes[i]))
		}
		return account.SaveUser(tx, u)
	})
	if err != nil {
		t.Fatalf("storing %d recovery codes: %v", n, err)
	}
	held := f.holdLogin("alice", "mac-1")

	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := *held
			c.SessionKey = fmt.Sprintf("token-key-%d", i)
			statuses[i] = f.do(http.MethodPost, "/recovery-code/authenticate", &c, recoveryBody(codes[i])).Code
		}()
	}
	wg.Wait()

	ok, rejected := 0, 0
	for _, status := range statuses {
		switch status {
		case http.StatusOK:
			ok++
		case http.StatusUnauthorized:
			rejected++
		}
	}
	if ok != 1 || rejected != n-1 {
		t.Errorf("statuses %v: %d × 200 and %d × 401, want 1 and %d", statuses, ok, rejected, n-1)
	}
	if got := len(f.user("alice").Recovery.MACs); got != n-1 {
		t.Errorf("recovery codes left = %d, want %d: rejected releases spend none", got, n-1)
	}
}

func TestAcceptsPartial(t *testing.T) {
	for _, tt := range []struct {
		method, subpath string
		want            bool
	}{
		{http.MethodPost, "/totp/authenticate", true},
		{http.MethodPost, "/email-otp/challenge", true},
		{http.MethodPost, "/email-otp/authenticate", true},
		{http.MethodPost, "/recovery-code/authenticate", true},
		{http.MethodGet, "/totp/authenticate", false},
		{http.MethodPost, "/totp/enable", false},
		{http.MethodPost, "/totp/setup", false},
		{http.MethodGet, "", false},
		{http.MethodPost, "/recovery-code/reset", false},
	} {
		if got := AcceptsPartial(tt.method, tt.subpath); got != tt.want {
			t.Errorf("AcceptsPartial(%s, %q) = %v, want %v", tt.method, tt.subpath, got, tt.want)
		}
	}
}

func TestReleaseNotForOtherCallers(t *testing.T) {
	f := newFixture(t)
	_, codes := f.enroll(caller("alice", "key-a"))
	var answer map[string]any
	wantOK(t, f.do(http.MethodPost, "/recovery-code/authenticate", caller("alice", "key-b"),
		recoveryBody(codes[0])), &answer)
	if answer["accessToken"] != nil || answer["refreshToken"] != nil {
		t.Errorf("answer %v, want null app tokens without a partial token", answer)
	}
	if strings.Contains(fmt.Sprint(answer), "access-1") {
		t.Errorf("answer %v carries a held token", answer)
	}
}
