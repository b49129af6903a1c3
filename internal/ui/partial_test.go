package ui

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/hold"
)

// holdLogin holds a form login of user that set the sid cookie and
// redirected to /docs, as the login hold does, and returns the partial
// token.
func (f *pagesFixture) holdLogin(user string) string {
	f.t.Helper()
	a := &hold.Answer{Status: http.StatusSeeOther, Header: http.Header{}}
	a.Header.Add("Set-Cookie", "sid=sid-"+user+"; Path=/; HttpOnly")
	a.Header.Set("Location", "/docs")
	issued := (&hold.Rule{Carriers: f.pages.Gate.Carriers}).Credential(a)
	token, err := hold.Keep(f.pages.API.Store, f.keys, rand.Reader, f.clock.Now(), user,
		&hold.Login{Answer: a, Issued: issued})
	if err != nil {
		f.t.Fatalf("Keep: %v", err)
	}
	return token
}

// TestChallengeReleasesHeldLogin passes the challenge with the partial
// cookie of alice's held login, in a browser that is still logged in to
// the app as bob, who has no 2FA. The page is alice's, and bob's session
// stays unverified.
func TestChallengeReleasesHeldLogin(t *testing.T) {
	f := newPagesFixture(t)
	secret, _ := f.enroll("alice")
	c := f.client("bob")
	c.cookies[gate.PartialCookieHTTP] = f.holdLogin("alice")

	w := c.get(uiPath + "/challenge?next=" + url.QueryEscape("/docs"))
	if w.Code != http.StatusOK || hidden(t, w.Body.String(), "method") != "totp" {
		t.Fatalf("challenge page %d, want alice's TOTP form:\n%s", w.Code, w.Body.String())
	}

	f.clock.Advance(30 * time.Second)
	w = c.post(uiPath+"/challenge", url.Values{"next": {"/docs"}, "method": {"totp"},
		"action": {"verify"}, "code": {totpCode(secret, f.clock.Now())}})
	wantRedirect(t, w, "/docs")
	if !slices.Contains(w.Header().Values("Set-Cookie"), "sid=sid-alice; Path=/; HttpOnly") {
		t.Errorf("Set-Cookie %q, want the held login's cookie as the app wrote it",
			w.Header().Values("Set-Cookie"))
	}
	if cleared := setCookie(w, gate.PartialCookieHTTP); cleared == nil || cleared.MaxAge >= 0 {
		t.Errorf("partial cookie %+v, want it cleared", cleared)
	}
	module := c.cookies["twofactor"]
	if module == "" {
		t.Fatal("no module cookie set after the release")
	}
	if !f.passes("sid=sid-alice; twofactor=" + module) {
		t.Error("the released cookie with the new module cookie does not pass the gate")
	}
	bob := f.callerOf("sid=sid-bob; twofactor=" + module)
	if _, ok, _ := f.pages.API.Sessions.Verified("bob", bob.SessionKey); ok {
		t.Error("bob's session was verified by alice's second factor")
	}
}

// TestChallengeStalePartialCookie sends a partial cookie of a held login
// that is gone: the page clears it and serves the app's own login.
func TestChallengeStalePartialCookie(t *testing.T) {
	f := newPagesFixture(t)
	f.enroll("alice")
	c := f.client("alice")
	c.cookies[gate.PartialCookieHTTP] = "partial_gone"
	w := c.get(uiPath + "/challenge?next=%2Fdocs")
	if w.Code != http.StatusOK || hidden(t, w.Body.String(), "method") != "totp" {
		t.Fatalf("challenge page %d, want alice's TOTP form:\n%s", w.Code, w.Body.String())
	}
	if cleared := setCookie(w, gate.PartialCookieHTTP); cleared == nil || cleared.MaxAge >= 0 {
		t.Errorf("partial cookie %+v, want it cleared", cleared)
	}
}

// TestConfirmIgnoresPartialCookie checks that only the challenge page
// takes a partial token: the confirm page resolves the app's own login.
func TestConfirmIgnoresPartialCookie(t *testing.T) {
	f := newPagesFixture(t)
	f.enroll("alice")
	r := get(uiPath+"/confirm", gate.PartialCookieHTTP+"="+f.holdLogin("alice"))
	if w := f.serve(r); w.Code != http.StatusUnauthorized {
		t.Errorf("confirm page with only a partial cookie: %d, want 401 not logged in", w.Code)
	}
}
