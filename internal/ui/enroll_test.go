package ui

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

var (
	secretPattern   = regexp.MustCompile(`<code id="secret" class="secret">([A-Z2-7 ]+)</code>`)
	codeListPattern = regexp.MustCompile(`<li><code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code></li>`)
	downloadPattern = regexp.MustCompile(`<a class="button secondary" href="(data:[^"]+)" download="recovery-codes.txt">`)
)

// shownSecret returns the TOTP secret a setup page shows.
func shownSecret(t *testing.T, w *httptest.ResponseRecorder) []byte {
	t.Helper()
	m := secretPattern.FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("page (status %d) shows no secret:\n%s", w.Code, w.Body.String())
	}
	return decodeSecret(t, m[1])
}

// shownCodes returns the recovery codes a page shows.
func shownCodes(w *httptest.ResponseRecorder) []string {
	var codes []string
	for _, m := range codeListPattern.FindAllStringSubmatch(w.Body.String(), -1) {
		codes = append(codes, m[1])
	}
	return codes
}

// enrollEmail turns email OTP on for the client's user through the pages
// and returns the recovery codes the page showed.
func enrollEmail(t *testing.T, f *pagesFixture, c *client, address string) []string {
	t.Helper()
	c.get(uiPath + "/enroll?method=emailOtp")
	w := c.post(uiPath+"/enroll", url.Values{"step": {"email-setup"}, "email": {address}})
	if w.Code != http.StatusOK {
		t.Fatalf("email setup: status %d, want 200:\n%s", w.Code, w.Body.String())
	}
	_, code := f.mail.lastCode(t)
	w = c.post(uiPath+"/enroll", url.Values{"step": {"email-enable"}, "code": {code}})
	if w.Code != http.StatusOK {
		t.Fatalf("email enable: status %d, want 200:\n%s", w.Code, w.Body.String())
	}
	return shownCodes(w)
}

func TestEnrollChoose(t *testing.T) {
	tests := []struct {
		name   string
		mail   bool
		offers []string
		lacks  []string
	}{
		{"without mail", false, []string{`name="step" value="totp-setup"`}, []string{"method=emailOtp"}},
		{"with mail", true, []string{`name="step" value="totp-setup"`,
			`href="/user/2fa/ui/enroll?method=emailOtp&amp;next=%2fhome"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPagesFixture(t)
			if tt.mail {
				f.withMail()
			}
			w := f.serve(get(uiPath+"/enroll?next=%2Fhome", "sid=sid-bob"))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", w.Code)
			}
			wantText(t, w, english["enroll.intro"])
			for _, want := range tt.offers {
				if !strings.Contains(w.Body.String(), want) {
					t.Errorf("page lacks %q", want)
				}
			}
			for _, lack := range tt.lacks {
				if strings.Contains(w.Body.String(), lack) {
					t.Errorf("page has %q", lack)
				}
			}
		})
	}
}

func TestEnrollTOTPFlow(t *testing.T) {
	f := newPagesFixture(t)
	c := f.client("bob")
	c.get(uiPath + "/enroll?next=%2Fhome")

	// Setup shows the QR code and the secret, and a form for the first code.
	w := c.post(uiPath+"/enroll", url.Values{"step": {"totp-setup"}, "next": {"/home"}})
	if w.Code != http.StatusOK {
		t.Fatalf("setup: status %d, want 200:\n%s", w.Code, w.Body.String())
	}
	body := w.Body.String()
	for _, want := range []string{
		`<img class="qr" src="data:image/png;base64,`,
		`alt="QR code for your authenticator app"`,
		`<input type="hidden" name="step" value="totp-enable">`,
		`inputmode="numeric" autocomplete="one-time-code"`,
		`<button type="button" class="secondary" data-copy="secret"`,
		`<script src="/user/2fa/ui/copy.js"></script>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("setup page lacks %q", want)
		}
	}
	secret := shownSecret(t, w)
	if len(secret) != 20 {
		t.Errorf("secret has %d bytes, want 20", len(secret))
	}
	if u := f.user("bob"); u.PendingTOTP == nil || u.Enabled() {
		t.Errorf("after setup: %+v, want a pending secret and 2FA off", u)
	}

	// The same key comes back on a later visit, not a new one.
	again := c.get(uiPath + "/enroll?method=totp&next=%2Fhome")
	if string(shownSecret(t, again)) != string(secret) {
		t.Error("a later visit shows another secret than the pending one")
	}

	// Enable shows the recovery codes once and verifies the session.
	w = c.post(uiPath+"/enroll", url.Values{"step": {"totp-enable"}, "code": {totpCode(secret, f.clock.Now())},
		"next": {"/home"}})
	if w.Code != http.StatusOK {
		t.Fatalf("enable: status %d, want 200:\n%s", w.Code, w.Body.String())
	}
	codes := shownCodes(w)
	if len(codes) != 10 {
		t.Errorf("enable page shows %d recovery codes, want 10", len(codes))
	}
	wantText(t, w, english["enroll.done"])
	wantText(t, w, english["codes.intro"])
	if !strings.Contains(w.Body.String(), `<a class="button" href="/home">Continue</a>`) {
		t.Error("enable page lacks the link to next")
	}
	checkDownload(t, w, codes)
	if module := setCookie(w, "twofactor"); module == nil {
		t.Fatal("enable set no module cookie")
	}
	if !f.passes(c.cookieHeader()) {
		t.Error("the gate does not let bob through after enrolling")
	}

	// A shown recovery code works.
	if len(codes) > 0 {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if _, e := f.pages.API.AuthenticateRecoveryCode(r, f.callerOf(c.cookieHeader()), codes[0]); e != nil {
			t.Errorf("a recovery code from the page: %v", e)
		}
	}

	// A reload posts the enable form again, and the codes are not shown.
	w = c.post(uiPath+"/enroll", url.Values{"step": {"totp-enable"}, "code": {totpCode(secret, f.clock.Now())}})
	if w.Code != http.StatusOK || len(shownCodes(w)) != 0 {
		t.Errorf("reload: status %d with %d codes, want 200 without codes", w.Code, len(shownCodes(w)))
	}
	wantText(t, w, english["enroll.already"])
	w = c.get(uiPath + "/enroll")
	wantText(t, w, english["enroll.already"])
	if len(shownCodes(w)) != 0 || strings.Contains(w.Body.String(), "<form") {
		t.Error("enrol page after enrolling shows codes or a form")
	}
}

// checkDownload checks the page's download link: a data: URL of a text
// file with the codes.
func checkDownload(t *testing.T, w *httptest.ResponseRecorder, codes []string) {
	t.Helper()
	m := downloadPattern.FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("page has no download link:\n%s", w.Body.String())
	}
	raw, _ := strings.CutPrefix(strings.ReplaceAll(m[1], "&#43;", "+"), "data:text/plain;charset=utf-8,")
	text, err := url.PathUnescape(raw)
	if err != nil {
		t.Fatalf("download link %q does not decode: %v", m[1], err)
	}
	if !strings.HasPrefix(text, "Recovery codes for example.com\n") {
		t.Errorf("download file starts %q, want the header naming the site", text)
	}
	for _, code := range codes {
		if !strings.Contains(text, code+"\n") {
			t.Errorf("download file lacks %s:\n%s", code, text)
		}
	}
}

func TestEnrollWrongCode(t *testing.T) {
	f := newPagesFixture(t)
	c := f.client("bob")
	c.get(uiPath + "/enroll")
	secret := shownSecret(t, c.post(uiPath+"/enroll", url.Values{"step": {"totp-setup"}}))

	tests := []struct {
		code    string
		status  int
		message string
	}{
		{wrongCode(secret, f.clock.Now()), http.StatusUnauthorized, english[api.CodeTOTPInvalid]},
		{"12 45", http.StatusBadRequest, english["error.codeFormat"]},
	}
	for _, tt := range tests {
		w := c.post(uiPath+"/enroll", url.Values{"step": {"totp-enable"}, "code": {tt.code}})
		if w.Code != tt.status {
			t.Errorf("code %q: status %d, want %d", tt.code, w.Code, tt.status)
		}
		wantText(t, w, tt.message)
		if string(shownSecret(t, w)) != string(secret) {
			t.Errorf("code %q: the page shows another secret than the one scanned", tt.code)
		}
		if !strings.Contains(w.Body.String(), `autofocus aria-describedby="error" aria-invalid="true"`) {
			t.Errorf("code %q: the code field does not point at the error", tt.code)
		}
		if setCookie(w, "twofactor") != nil {
			t.Errorf("code %q: module cookie set", tt.code)
		}
	}
	if f.user("bob").Enabled() {
		t.Error("2FA on after wrong codes")
	}

	w := c.post(uiPath+"/enroll", url.Values{"step": {"totp-enable"}, "code": {totpCode(secret, f.clock.Now())}})
	if w.Code != http.StatusOK || len(shownCodes(w)) != 10 {
		t.Errorf("right code after wrong ones: status %d with %d codes, want 200 with 10", w.Code, len(shownCodes(w)))
	}
}

func TestEnrollIncompleteForm(t *testing.T) {
	f := newPagesFixture(t)
	c := f.client("bob")
	c.get(uiPath + "/enroll")
	for _, step := range []string{"", "delete"} {
		w := c.post(uiPath+"/enroll", url.Values{"step": {step}})
		if w.Code != http.StatusBadRequest {
			t.Errorf("step %q: status %d, want 400", step, w.Code)
		}
		wantText(t, w, english["error.incomplete"])
	}
}

func TestEnrollUnsafeNext(t *testing.T) {
	f := newPagesFixture(t)
	c := f.client("bob")
	w := c.get(uiPath + "/enroll?next=" + url.QueryEscape("//evil.example"))
	if got := hidden(t, w.Body.String(), "next"); got != "/" {
		t.Errorf("next = %q, want /", got)
	}
	w = c.post(uiPath+"/enroll", url.Values{"step": {"totp-setup"}, "next": {"/\\evil"}})
	if got := hidden(t, w.Body.String(), "next"); got != "/" {
		t.Errorf("next after a POST = %q, want /", got)
	}
}

func TestEnrollWhen2FAOnNeedsSudo(t *testing.T) {
	// Adding or replacing a method needs a sudo token, which the confirm
	// page puts in a cookie.
	f := newPagesFixture(t).withMail()
	f.enroll("alice")
	c := f.client("alice")

	wantText(t, c.get(uiPath+"/enroll"), english["enroll.already"])
	w := c.get(uiPath + "/enroll?method=emailOtp&next=%2Fuser%2F2fa%2Fui%2Fmanage")
	wantRedirect(t, w, uiPath+"/confirm?next="+url.QueryEscape(uiPath+"/enroll?method=emailOtp&next=%2Fuser%2F2fa%2Fui%2Fmanage"))

	c.get(uiPath + "/challenge") // a page with a form, for the CSRF token
	w = c.post(uiPath+"/enroll", url.Values{"step": {"totp-setup"}, "next": {uiPath + "/manage"}})
	wantRedirect(t, w, uiPath+"/confirm?next="+url.QueryEscape(uiPath+"/enroll?method=totp&next=%2Fuser%2F2fa%2Fui%2Fmanage"))
	if f.user("alice").PendingTOTP != nil {
		t.Error("a new secret is pending after a setup without sudo")
	}
}

func TestEnrollEmail(t *testing.T) {
	f := newPagesFixture(t).withMail()
	c := f.client("bob")
	w := c.get(uiPath + "/enroll?method=emailOtp&next=%2Fhome")
	body := w.Body.String()
	for _, want := range []string{
		`<label for="email">Email address</label>`,
		`type="email" autocomplete="email" value="bob@example.com"`,
		`<input type="hidden" name="step" value="email-setup">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("address form lacks %q:\n%s", want, body)
		}
	}

	w = c.post(uiPath+"/enroll", url.Values{"step": {"email-setup"}, "email": {"Bob <bob@example.com>"}})
	if w.Code != http.StatusBadRequest {
		t.Errorf("bad address: status %d, want 400", w.Code)
	}
	wantText(t, w, english["error.emailFormat"])
	if got := f.mail.codeMails(t); got != 0 {
		t.Errorf("a bad address got %d code mails", got)
	}

	w = c.post(uiPath+"/enroll", url.Values{"step": {"email-setup"}, "email": {" bob.2fa@example.com "},
		"next": {"/home"}})
	wantText(t, w, "We sent a code to bob.2fa@example.com. It is valid for 10 minutes.")
	to, code := f.mail.lastCode(t)
	if to != "bob.2fa@example.com" {
		t.Errorf("code mailed to %q, want bob.2fa@example.com", to)
	}

	// A later visit shows the field for the code sent, and "change" shows
	// the address form.
	wantText(t, c.get(uiPath+"/enroll?method=emailOtp"), "Enter the code we sent to bob.2fa@example.com.")
	if !strings.Contains(c.get(uiPath+"/enroll?method=emailOtp&change=1").Body.String(), `id="email"`) {
		t.Error("change=1 does not show the address form")
	}

	w = c.post(uiPath+"/enroll", url.Values{"step": {"email-enable"}, "code": {"000000"}, "next": {"/home"}})
	if w.Code != http.StatusUnauthorized {
		t.Errorf("wrong code: status %d, want 401", w.Code)
	}
	wantText(t, w, english[api.CodeOTPInvalidExpired])

	w = c.post(uiPath+"/enroll", url.Values{"step": {"email-enable"}, "code": {code}, "next": {"/home"}})
	if w.Code != http.StatusOK || len(shownCodes(w)) != 10 {
		t.Fatalf("enable: status %d with %d codes, want 200 with 10", w.Code, len(shownCodes(w)))
	}
	if u := f.user("bob"); u.EmailOTP == nil || u.EmailOTP.Email != "bob.2fa@example.com" {
		t.Errorf("email OTP = %+v, want bob.2fa@example.com active", u.EmailOTP)
	}
	if !f.passes(c.cookieHeader()) {
		t.Error("the gate does not let bob through after enrolling")
	}
}

func TestEnrollOverHTTPS(t *testing.T) {
	f := newPagesFixture(t)
	tlsState := &tls.ConnectionState{HandshakeComplete: true}

	r := get("https://example.com"+uiPath+"/enroll", "sid=sid-bob")
	r.TLS = tlsState
	w := f.serve(r)
	csrf := setCookie(w, "__Host-twofactor-csrf")
	if csrf == nil {
		t.Fatalf("no __Host-twofactor-csrf cookie over HTTPS, cookies %v", w.Result().Cookies())
	}
	if !csrf.Secure || csrf.Path != "/" {
		t.Errorf("CSRF cookie Secure %v, Path %q, want Secure and /", csrf.Secure, csrf.Path)
	}
	token := hidden(t, w.Body.String(), "csrf")
	cookie := "sid=sid-bob; __Host-twofactor-csrf=" + csrf.Value

	setupRequest := func(cookie string) *http.Request {
		r := post("https://example.com"+uiPath+"/enroll", cookie, url.Values{"csrf": {token}, "step": {"totp-setup"}})
		r.Header.Set("Origin", "https://example.com")
		r.TLS = tlsState
		return r
	}
	// A plain-named cookie, which a sibling site could plant over HTTP,
	// does not count over HTTPS.
	if w := f.serve(setupRequest("sid=sid-bob; twofactor-csrf=" + csrf.Value)); w.Code != http.StatusForbidden {
		t.Errorf("plain CSRF cookie over HTTPS: status %d, want 403", w.Code)
	}
	w = f.serve(setupRequest(cookie))
	secret := shownSecret(t, w)

	r = post("https://example.com"+uiPath+"/enroll", cookie,
		url.Values{"csrf": {token}, "step": {"totp-enable"}, "code": {totpCode(secret, f.clock.Now().Add(time.Second))}})
	r.Header.Set("Origin", "https://example.com")
	r.TLS = tlsState
	w = f.serve(r)
	module := setCookie(w, "__Host-twofactor")
	if module == nil || !module.Secure || module.Path != "/" {
		t.Errorf("module cookie over HTTPS = %+v, want __Host-twofactor, Secure, Path /", module)
	}
}
