package e2e

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// browserTwofactor is the demo's handler setup with enrolment required,
// so the gate sends a user without 2FA to the enrolment page, and with
// mail to sink.
func browserTwofactor(sink *mailSink) string {
	return demoTwofactor + "enforce required\n" + sink.smtpBlock()
}

// uiPage is the path of a built-in page.
func uiPage(page string) string { return "/user/2fa/ui/" + page }

// recoveryCodeText matches a recovery code as the pages show it.
var recoveryCodeText = regexp.MustCompile(`^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$`)

// TestBrowserPages drives the built-in pages in headless Chromium, as two
// users of the example app would. Bob, in a Dutch browser, enrols email
// codes when the gate requires it and later passes the challenge with an
// emailed code. Alice enrols an authenticator app, is shown the recovery
// codes once, passes the challenge with a TOTP code and with a recovery
// code, and creates new codes on the manage page. Alice's flows run while
// Bob waits out the 60 s between two code mails to one user.
func TestBrowserPages(t *testing.T) {
	t.Parallel()
	sink := newMailSink(t)
	s := newStack(t, stackConfig{Twofactor: browserTwofactor(sink)})
	bob := newBrowser(t, s, "nl")
	alice := newBrowser(t, s, "en")

	setupSent := enrolEmail(t, s, bob, sink)
	enrolTOTP(t, s, alice)
	waitMailInterval(t, setupSent)
	challengeEmail(t, s, bob, sink)
	checkBrowserLogs(t, s)
}

// reportPath is the app page the users first ask for.
const reportPath = "/reports/annual"

// enrolEmail logs Bob in and enrols email codes in Dutch, and returns
// when the setup mail went out.
func enrolEmail(t *testing.T, s *stack, b *browser, sink *mailSink) time.Time {
	t.Helper()
	resp := b.loginForm(reportPath, "bob")
	b.wantPath(resp, uiPage("enroll")+"?next="+url.QueryEscape(reportPath))
	if lang := eval[string](b, "document.documentElement.lang"); lang != "nl" {
		t.Errorf("html lang = %q, want nl", lang)
	}
	b.wantText("Tweestapsverificatie instellen")
	b.wantText("Kies hoe je je codes wilt ontvangen.")

	resp = b.submit(`a[href*="method=emailOtp"]`)
	b.wantPath(resp, uiPage("enroll")+"?method=emailOtp&next="+url.QueryEscape(reportPath))
	if got := eval[string](b, `document.querySelector("#email").value`); got != "bob@example.com" {
		t.Errorf("the address field holds %q, want the app's address bob@example.com", got)
	}
	b.fill("#email", "bob.codes@example.com")
	resp = b.submit(`form input[value=email-setup] ~ button`)
	sent := time.Now()
	b.wantPath(resp, uiPage("enroll"))
	b.wantText("We hebben een code gestuurd naar bob.codes@example.com.")
	setup := sink.waitCodeMail(t, 0)
	if setup.to != "bob.codes@example.com" || !strings.HasPrefix(setup.subject, "Bevestig je e-mailadres") {
		t.Errorf("setup mail to %q with subject %q, want a Dutch mail to bob.codes@example.com",
			setup.to, setup.subject)
	}
	s.secrets.add("email code", setup.code)

	b.fill("#code", setup.code)
	resp = b.submit(`form input[value=email-enable] ~ button`)
	b.wantPath(resp, uiPage("enroll"))
	b.wantText("Tweestapsverificatie staat aan.")
	codes := b.texts("#codes code")
	if len(codes) != 10 {
		t.Errorf("the page shows %d recovery codes, want 10", len(codes))
	}
	for _, code := range codes {
		s.secrets.add("recovery code", code)
	}
	resp = b.submit(`a.button[href="` + reportPath + `"]`)
	b.wantPath(resp, reportPath)
	b.wantText(reportMarker)
	b.logout()
	return sent
}

// challengeEmail logs Bob in again and passes the challenge with a code
// from a mail.
func challengeEmail(t *testing.T, s *stack, b *browser, sink *mailSink) {
	t.Helper()
	resp := b.loginForm(reportPath, "bob")
	b.wantPath(resp, uiPage("challenge")+"?next="+url.QueryEscape(reportPath))
	b.wantText("We sturen een code naar bob.codes@example.com.")
	resp = b.submit(`form button[value=send]`)
	b.wantPath(resp, uiPage("challenge"))
	b.wantText("We hebben een code gestuurd naar bob.codes@example.com.")
	challenge := sink.waitCodeMail(t, 1)
	if !strings.HasPrefix(challenge.subject, "Je inlogcode voor") {
		t.Errorf("challenge mail subject %q, want the Dutch one", challenge.subject)
	}
	s.secrets.add("email code", challenge.code)

	b.fill("#code", challenge.code)
	resp = b.submit(`form button[value=verify]`)
	b.wantPath(resp, reportPath)
	b.wantText(reportMarker)
}

// waitMailInterval waits until a minute has passed since sent, the least
// time between two code mails to one user.
func waitMailInterval(t *testing.T, sent time.Time) {
	t.Helper()
	if wait := time.Until(sent.Add(61 * time.Second)); wait > 0 {
		t.Logf("waiting %v for the next code mail to be allowed", wait.Round(time.Second))
		time.Sleep(wait)
	}
}

// enrolTOTP logs Alice in and enrols an authenticator app, then runs the
// challenge and the manage page. It takes the screenshots of the README.
func enrolTOTP(t *testing.T, s *stack, b *browser) {
	t.Helper()
	resp := b.loginForm(reportPath, "alice")
	b.wantPath(resp, uiPage("enroll")+"?next="+url.QueryEscape(reportPath))
	b.wantText("Add a second step to your login")
	if lang := eval[string](b, "document.documentElement.lang"); lang != "en" {
		t.Errorf("html lang = %q, want en", lang)
	}

	resp = b.submit(`form input[value=totp-setup] ~ button`)
	b.wantPath(resp, uiPage("enroll"))
	b.wantText("Scan this QR code with your authenticator app.")
	if !eval[bool](b, `document.querySelector("img.qr").naturalWidth > 0`) {
		t.Error("the QR code image did not load under the page's Content-Security-Policy")
	}
	if eval[bool](b, `document.querySelector("button[data-copy=secret]").hidden`) {
		t.Error("the copy button is still hidden: copy.js did not run under the Content-Security-Policy")
	}
	b.screenshot("enroll")
	secret := strings.ReplaceAll(b.text("#secret"), " ", "")
	s.secrets.add("TOTP secret", secret)
	e := &enrolment{s: s, user: "alice", secret: secret}

	b.fill("#code", e.freshCode(t))
	resp = b.submit(`form input[value=totp-enable] ~ button`)
	b.wantPath(resp, uiPage("enroll"))
	b.wantText("Two-factor authentication is on.")
	codes := b.texts("#codes code")
	if len(codes) != 10 {
		t.Fatalf("the page shows %d recovery codes, want 10: %v", len(codes), codes)
	}
	for _, code := range codes {
		s.secrets.add("recovery code", code)
		if !recoveryCodeText.MatchString(code) {
			t.Errorf("recovery code %q is not four groups of four", code)
		}
	}
	checkCodesDownload(t, b, codes)
	b.screenshot("recovery-codes")

	// A reload sends the form again, and the codes are not shown again.
	b.reload()
	b.wantText("Two-factor authentication is already on for your account.")
	if n := len(b.texts("#codes code")); n != 0 {
		t.Errorf("the reload shows %d recovery codes, want none", n)
	}
	resp = b.open(reportPath)
	b.wantPath(resp, reportPath)
	b.wantText(reportMarker)

	challengeTOTP(t, b, e, codes)
	manageCodes(t, s, b, codes[1])
}

// challengeTOTP logs Alice in again and passes the challenge with a TOTP
// code, by keyboard, and then once more with a recovery code.
func challengeTOTP(t *testing.T, b *browser, e *enrolment, codes []string) {
	t.Helper()
	b.logout()
	resp := b.loginForm(reportPath, "alice")
	b.wantPath(resp, uiPage("challenge")+"?next="+url.QueryEscape(reportPath))
	b.wantText("Your account is protected by a second step.")
	b.screenshot("challenge")
	if focused := eval[string](b, "document.activeElement.id"); focused != "code" {
		t.Errorf("the focus is on %q, want the code field", focused)
	}
	resp = b.typeAndEnter("#code", e.freshCode(t))
	b.wantPath(resp, reportPath)
	b.wantText(reportMarker)

	// The same with a recovery code.
	b.logout()
	b.loginForm(reportPath, "alice")
	resp = b.submit(`nav.methods a[href*="method=recoveryCode"]`)
	b.wantPath(resp, uiPage("challenge")+"?method=recoveryCode&next="+url.QueryEscape(reportPath))
	b.fill("#code", strings.ToLower(codes[0]))
	resp = b.submit(`form button[value=verify]`)
	b.wantPath(resp, reportPath)
	b.wantText(reportMarker)
}

// checkCodesDownload checks that the download link contains the codes, so
// saving them needs no second request.
func checkCodesDownload(t *testing.T, b *browser, codes []string) {
	t.Helper()
	href := eval[string](b, `document.querySelector("a[download]").href`)
	raw, ok := strings.CutPrefix(href, "data:text/plain;charset=utf-8,")
	if !ok {
		t.Fatalf("the download link is %q, want a data: URL of text", href)
	}
	text, err := url.PathUnescape(raw)
	if err != nil {
		t.Fatalf("the download link does not decode: %v", err)
	}
	for _, code := range codes {
		if !strings.Contains(text, code) {
			t.Errorf("the download file lacks %s", code)
		}
	}
}

// manageCodes opens the manage page, confirms with a recovery code and
// creates new recovery codes, which the page shows once.
func manageCodes(t *testing.T, s *stack, b *browser, recoveryCode string) {
	t.Helper()
	resp := b.open(uiPage("manage"))
	b.wantPath(resp, uiPage("manage"))
	b.wantText("Two-factor authentication is on.")
	b.wantText("Codes left: 9")
	b.screenshot("manage")

	// A change requires a fresh second factor first.
	b.submit(`form input[value=new-codes] ~ button`)
	if got := b.path(); !strings.HasPrefix(got, uiPage("confirm")) {
		t.Fatalf("creating codes without confirming shows %s, want the confirm page", got)
	}
	b.submit(`nav.methods a[href*="method=recoveryCode"]`)
	b.fill("#code", recoveryCode)
	resp = b.submit(`form button[value=verify]`)
	b.wantPath(resp, uiPage("manage")+"?next=%2F")
	b.wantText("You confirmed it's you.")
	if eval[bool](b, `document.cookie.includes("sudo")`) {
		t.Error("a script can read the sudo cookie")
	}

	b.submit(`form input[value=new-codes] ~ button`)
	b.wantText("Here are your new recovery codes.")
	codes := b.texts("#codes code")
	if len(codes) != 10 {
		t.Errorf("the page shows %d new recovery codes, want 10", len(codes))
	}
	for _, code := range codes {
		s.secrets.add("recovery code", code)
	}
}

// checkBrowserLogs checks that Caddy's log contains none of the secrets
// the browser flows used or were shown.
func checkBrowserLogs(t *testing.T, s *stack) {
	t.Helper()
	time.Sleep(100 * time.Millisecond) // the access log line of the last request
	for _, l := range findLeaks(s.caddyOut.String(), s.secrets.snapshot()) {
		t.Errorf("Caddy's log holds a %s: %s", l.kind, l.line)
	}
}
