package ui

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

// managePath is the manage page with the default next, as the pages link
// to it.
var managePath = uiPath + "/manage?next=%2F"

// verifiedClient returns alice's browser after the challenge, and her
// TOTP secret and recovery codes.
func verifiedClient(t *testing.T, f *pagesFixture) (*client, []byte, []string) {
	t.Helper()
	secret, codes := f.enroll("alice")
	c := f.client("alice")
	c.get(uiPath + "/challenge")
	f.clock.Advance(30 * time.Second)
	w := c.post(uiPath+"/challenge", url.Values{"method": {"totp"}, "code": {totpCode(secret, f.clock.Now())}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("challenge: status %d, want 303", w.Code)
	}
	return c, secret, codes
}

// confirm passes the confirm page with a fresh TOTP code and returns the
// response, which sets the sudo cookie.
func confirm(t *testing.T, f *pagesFixture, c *client, secret []byte, next string) {
	t.Helper()
	c.get(uiPath + "/confirm?next=" + url.QueryEscape(next))
	f.clock.Advance(30 * time.Second)
	w := c.post(uiPath+"/confirm", url.Values{"method": {"totp"}, "code": {totpCode(secret, f.clock.Now())},
		"next": {next}})
	wantRedirect(t, w, next)
	sudo := setCookie(w, "twofactor-sudo")
	if sudo == nil {
		t.Fatal("the confirm page set no sudo cookie")
	}
	if !sudo.HttpOnly || sudo.SameSite != http.SameSiteStrictMode || sudo.Path != uiPath ||
		sudo.MaxAge != 300 || sudo.Secure {
		t.Errorf("sudo cookie = %+v, want HttpOnly, SameSite=Strict, Path %s, Max-Age 300, not Secure over HTTP",
			sudo, uiPath)
	}
	if !strings.HasPrefix(sudo.Value, api.SudoPrefix) {
		t.Errorf("sudo cookie value does not start with %s", api.SudoPrefix)
	}
	if strings.Contains(w.Header().Get("Location"), sudo.Value) {
		t.Error("the sudo token is in the redirect URL")
	}
}

func TestManageNeedsVerifiedSession(t *testing.T) {
	f := newPagesFixture(t)
	f.enroll("alice")
	w := f.serve(get(managePath, "sid=sid-alice"))
	wantRedirect(t, w, uiPath+"/challenge?next="+url.QueryEscape(managePath))
}

func TestManageWithout2FA(t *testing.T) {
	f := newPagesFixture(t)
	w := f.serve(get(managePath, "sid=sid-bob"))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", w.Code)
	}
	wantText(t, w, english["manage.off"])
	if !strings.Contains(w.Body.String(), `href="/user/2fa/ui/enroll?next=%2fuser%2f2fa%2fui%2fmanage%3fnext%3d%252F"`) {
		t.Errorf("page lacks the link to the enrolment:\n%s", w.Body.String())
	}
}

func TestManagePage(t *testing.T) {
	f := newPagesFixture(t).withMail()
	c, _, _ := verifiedClient(t, f)
	w := c.get(managePath)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200:\n%s", w.Code, w.Body.String())
	}
	wantText(t, w, english["manage.on"])
	wantText(t, w, "Set up on 2030-01-02")
	wantText(t, w, "Codes left: 10")
	wantText(t, w, english["manage.sudo.needed"])
	body := w.Body.String()
	for _, want := range []string{
		`<input type="hidden" name="action" value="remove-totp">`,
		`<input type="hidden" name="action" value="new-codes">`,
		`href="/user/2fa/ui/enroll?method=emailOtp&amp;next=%2fuser%2f2fa%2fui%2fmanage%3fnext%3d%252F"`,
		`href="/user/2fa/ui/confirm?next=%2fuser%2f2fa%2fui%2fmanage%3fnext%3d%252F"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
}

func TestManageChangeNeedsConfirm(t *testing.T) {
	f := newPagesFixture(t)
	c, _, _ := verifiedClient(t, f)
	c.get(managePath)
	w := c.post(uiPath+"/manage", url.Values{"action": {"remove-totp"}})
	wantRedirect(t, w, uiPath+"/confirm?next="+url.QueryEscape(managePath))
	if f.user("alice").TOTP == nil {
		t.Error("TOTP removed without a sudo token")
	}
}

func TestManageRemoveTOTP(t *testing.T) {
	f := newPagesFixture(t)
	c, secret, _ := verifiedClient(t, f)
	confirm(t, f, c, secret, managePath)
	w := c.get(managePath)
	wantText(t, w, english["manage.sudo.active"])

	w = c.post(uiPath+"/manage", url.Values{"action": {"remove-totp"}})
	wantRedirect(t, w, managePath+"&done=totp")
	if u := f.user("alice"); u.Enabled() || u.Recovery != nil {
		t.Errorf("after removing TOTP: %+v, want 2FA off and no recovery codes", u)
	}
	w = c.get(managePath + "&done=totp")
	wantText(t, w, english["manage.removed.totp"])
	wantText(t, w, english["manage.off"])
}

func TestManageNewCodes(t *testing.T) {
	f := newPagesFixture(t)
	c, secret, old := verifiedClient(t, f)
	confirm(t, f, c, secret, managePath)
	c.get(managePath)

	w := c.post(uiPath+"/manage", url.Values{"action": {"new-codes"}})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200:\n%s", w.Code, w.Body.String())
	}
	codes := shownCodes(w)
	if len(codes) != 10 {
		t.Fatalf("page shows %d codes, want 10", len(codes))
	}
	wantText(t, w, english["manage.codes.new"])
	checkDownload(t, w, codes)
	r := post("/", "", nil)
	if _, e := f.pages.API.AuthenticateRecoveryCode(r, f.callerOf(c.cookieHeader()), old[0]); e == nil {
		t.Error("an old recovery code still works after new codes")
	}
	if len(shownCodes(c.get(managePath))) != 0 {
		t.Error("the manage page shows the codes again")
	}
}

func TestManageStrongerFactor(t *testing.T) {
	// A sudo token minted by email OTP cannot remove TOTP.
	f := newPagesFixture(t).withMail()
	c, secret, _ := verifiedClient(t, f)
	confirm(t, f, c, secret, uiPath+"/enroll?method=emailOtp")
	enrollEmail(t, f, c, "alice.2fa@example.com")

	delete(c.cookies, "twofactor-sudo") // as when it expires
	f.clock.Advance(time.Minute)        // the wait between code mails
	c.get(uiPath + "/confirm?method=emailOtp")
	c.post(uiPath+"/confirm", url.Values{"method": {"emailOtp"}, "action": {"send"}})
	_, code := f.mail.lastCode(t)
	w := c.post(uiPath+"/confirm", url.Values{"method": {"emailOtp"}, "code": {code}, "next": {managePath}})
	wantRedirect(t, w, managePath)

	c.get(managePath)
	w = c.post(uiPath+"/manage", url.Values{"action": {"remove-totp"}})
	if w.Code != http.StatusForbidden {
		t.Errorf("status %d, want 403", w.Code)
	}
	wantText(t, w, english[api.CodeStrongerFactorRequired])

	w = c.post(uiPath+"/manage", url.Values{"action": {"remove-email"}})
	wantRedirect(t, w, managePath+"&done="+account.MethodEmailOTP)
	if u := f.user("alice"); u.EmailOTP != nil || u.TOTP == nil {
		t.Errorf("after removing email OTP: %+v, want TOTP alone", u)
	}
}

func TestConfirmNext(t *testing.T) {
	f := newPagesFixture(t)
	tests := []struct{ next, want string }{
		{uiPath + "/enroll?method=totp", uiPath + "/enroll?method=totp"},
		{"/User/2FA/ui/manage", "/User/2FA/ui/manage"},
		{"/", uiPath + "/manage"},
		{"/reports/annual", uiPath + "/manage"},
		{"/user/2fa/uix", uiPath + "/manage"},
	}
	for _, tt := range tests {
		if got := f.pages.confirmNext(tt.next); got != tt.want {
			t.Errorf("confirmNext(%q) = %q, want %q", tt.next, got, tt.want)
		}
	}
}

func TestConfirmWithSudoSkips(t *testing.T) {
	f := newPagesFixture(t)
	c, secret, _ := verifiedClient(t, f)
	confirm(t, f, c, secret, managePath)
	wantRedirect(t, c.get(uiPath+"/confirm?next="+url.QueryEscape(managePath)), managePath)
}

func TestConfirmBadSudoCookieCleared(t *testing.T) {
	f := newPagesFixture(t)
	c, _, _ := verifiedClient(t, f)
	c.cookies["twofactor-sudo"] = "sudo_forged"
	w := c.get(managePath)
	cleared := setCookie(w, "twofactor-sudo")
	if cleared == nil || cleared.MaxAge >= 0 {
		t.Errorf("sudo cookie answer = %+v, want it cleared", cleared)
	}
	wantText(t, w, english["manage.sudo.needed"])
}

func TestSudoCookieOverHTTPS(t *testing.T) {
	w := httptest.NewRecorder()
	setSudoCookie(w, uiPath, true, "sudo_x", 5*time.Minute)
	c := setCookie(w, "__Secure-twofactor-sudo")
	if c == nil || !c.Secure || !c.HttpOnly || c.Path != uiPath || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("sudo cookie over HTTPS = %+v, want __Secure-, Secure, HttpOnly, Strict, Path %s", c, uiPath)
	}

	// Over HTTPS only the __Secure- name counts.
	f := newPagesFixture(t)
	r := get("https://example.com/", "twofactor-sudo=sudo_plain; __Secure-twofactor-sudo=sudo_secure")
	r.TLS = &tls.ConnectionState{HandshakeComplete: true}
	if got := f.pages.sudoToken(r); got != "sudo_secure" {
		t.Errorf("sudoToken over HTTPS = %q, want sudo_secure", got)
	}
}

func TestEnrollReplaceTOTP(t *testing.T) {
	// "Set up again" on the manage page: a new secret replaces the old one
	// once enabled, and the recovery codes stay.
	f := newPagesFixture(t)
	c, oldSecret, codes := verifiedClient(t, f)
	back := uiPath + "/enroll?method=totp&next=" + url.QueryEscape(managePath)
	confirm(t, f, c, oldSecret, back)

	w := c.get(back)
	if !strings.Contains(w.Body.String(), `name="step" value="totp-setup"`) ||
		strings.Contains(w.Body.String(), "method=emailOtp") {
		t.Fatalf("the page does not offer TOTP alone:\n%s", w.Body.String())
	}
	secret := shownSecret(t, c.post(uiPath+"/enroll", url.Values{"step": {"totp-setup"}, "next": {managePath}}))
	w = c.post(uiPath+"/enroll", url.Values{"step": {"totp-enable"}, "code": {totpCode(secret, f.clock.Now())},
		"next": {managePath}})
	if w.Code != http.StatusOK {
		t.Fatalf("enable: status %d, want 200:\n%s", w.Code, w.Body.String())
	}
	wantText(t, w, english["enroll.added.totp"])
	if n := len(shownCodes(w)); n != 0 {
		t.Errorf("replacing TOTP shows %d recovery codes, want none: the set stays", n)
	}
	if !strings.Contains(w.Body.String(), `<a class="button" href="`+managePath+`">`) {
		t.Errorf("the page does not lead back to the manage page:\n%s", w.Body.String())
	}

	f.clock.Advance(30 * time.Second)
	caller := f.callerOf(c.cookieHeader())
	if _, e := f.pages.API.AuthenticateTOTP(caller, totpCode(oldSecret, f.clock.Now())); e == nil {
		t.Error("the old secret still works after the replacement")
	}
	if _, e := f.pages.API.AuthenticateTOTP(caller, totpCode(secret, f.clock.Now())); e != nil {
		t.Errorf("the new secret: %v", e)
	}
	if got := len(f.user("alice").Recovery.MACs); got != len(codes) {
		t.Errorf("recovery codes left = %d, want the %d of the set", got, len(codes))
	}
}
