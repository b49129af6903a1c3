package ui

import (
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

// Steps of the enrolment page, posted in its forms' step field.
const (
	stepTOTPSetup   = "totp-setup"   // create a pending secret, show its QR code
	stepTOTPEnable  = "totp-enable"  // confirm the secret with a code
	stepEmailSetup  = "email-setup"  // mail a code to an address
	stepEmailEnable = "email-enable" // confirm the address with the code
)

const enrollPage = "enroll.html"

// serveEnroll serves the enrolment page. A user without 2FA picks a
// method, sets it up and is shown the recovery codes once. A user with 2FA
// comes from the manage page to add or replace a method, which needs a
// sudo token, so without one the page redirects to the confirm page.
func (p *Pages) serveEnroll(w http.ResponseWriter, r *http.Request) {
	v := p.newView(r, pageEnroll, "title.enroll")
	vis := p.start(w, r, v, enrollPage)
	if vis == nil {
		return
	}
	if r.Method == http.MethodPost {
		p.postEnroll(w, r, v, vis)
		return
	}

	query := r.URL.Query()
	method := query.Get("method")
	if vis.user.Enabled() && method == "" {
		v.Step = "done"
		v.Message = v.T("enroll.already")
		p.render(w, http.StatusOK, enrollPage, v)
		return
	}
	if vis.user.Enabled() && vis.caller.Sudo == nil {
		p.redirectToConfirm(w, r, r.URL.RequestURI())
		return
	}

	switch {
	case method == account.MethodEmailOTP && v.MailEnabled:
		v.Step = "email"
		v.Email = vis.caller.Email
		if query.Get("change") == "" {
			v.EmailTo, _ = p.API.EmailCodePending(vis.user, account.PurposeSetup)
		}
	case method == account.MethodTOTP && vis.user.PendingTOTP != nil:
		setup, e := p.API.PendingTOTP(vis.caller, r.Host)
		if e != nil {
			p.renderError(w, enrollPage, v, e)
			return
		}
		showTOTP(v, setup)
	case method == account.MethodTOTP:
		v.Step, v.Offer = "choose", []string{account.MethodTOTP}
	default:
		v.Step, v.Offer = "choose", p.offer(vis.user)
	}
	p.render(w, http.StatusOK, enrollPage, v)
}

// postEnroll runs one step of the enrolment.
func (p *Pages) postEnroll(w http.ResponseWriter, r *http.Request, v *view, vis *visitor) {
	switch r.PostForm.Get("step") {
	case stepTOTPSetup:
		setup, e := p.API.SetupTOTP(vis.caller, r.Host)
		if e != nil {
			p.enrollFailed(w, r, v, vis, e, account.MethodTOTP)
			return
		}
		showTOTP(v, setup)
		p.render(w, http.StatusOK, enrollPage, v)
	case stepTOTPEnable:
		p.enableTOTP(w, r, v, vis)
	case stepEmailSetup:
		p.sendSetupCode(w, r, v, vis)
	case stepEmailEnable:
		p.enableEmail(w, r, v, vis)
	default:
		v.Step, v.Offer = "choose", p.offer(vis.user)
		p.renderError(w, enrollPage, v, formError("error.incomplete"))
	}
}

func (p *Pages) enableTOTP(w http.ResponseWriter, r *http.Request, v *view, vis *visitor) {
	code, ok := sixDigits(r.PostForm.Get("code"))
	var codes []string
	var verification *api.Verification
	e := formError("error.codeFormat")
	if ok {
		codes, verification, e = p.API.EnableTOTP(r, vis.caller, code)
	}
	if e == nil {
		p.API.SetModuleCookie(w, vis.caller, verification)
		p.enrolled(w, r, v, account.MethodTOTP, codes)
		return
	}

	// A reload of the page with the recovery codes posts the enable form
	// again. The codes are shown once, so the reload gets "already on".
	if e.Message == api.CodeTOTPUninitialized && vis.user.TOTP != nil {
		v.Step = "done"
		v.Message = v.T("enroll.already")
		p.render(w, http.StatusOK, enrollPage, v)
		return
	}
	setup, pendingErr := p.API.PendingTOTP(vis.caller, r.Host)
	if pendingErr != nil {
		p.enrollFailed(w, r, v, vis, e, account.MethodTOTP)
		return
	}
	showTOTP(v, setup)
	p.renderError(w, enrollPage, v, e)
}

func (p *Pages) sendSetupCode(w http.ResponseWriter, r *http.Request, v *view, vis *visitor) {
	v.Step = "email"
	v.Email = strings.TrimSpace(r.PostForm.Get("email"))
	address, ok := api.ParseAddress(v.Email)
	if !ok {
		p.renderError(w, enrollPage, v, formError("error.emailFormat"))
		return
	}
	if e := p.API.SendEmailCode(r, vis.caller, account.PurposeSetup, address); e != nil {
		p.enrollFailed(w, r, v, vis, e, account.MethodEmailOTP)
		return
	}
	v.EmailTo, v.EmailSent = address, true
	v.Message = v.T("email.sent", address)
	p.render(w, http.StatusOK, enrollPage, v)
}

func (p *Pages) enableEmail(w http.ResponseWriter, r *http.Request, v *view, vis *visitor) {
	code, ok := sixDigits(r.PostForm.Get("code"))
	var codes []string
	var verification *api.Verification
	e := formError("error.codeFormat")
	if ok {
		codes, verification, e = p.API.EnableEmailOTP(r, vis.caller, code)
	}
	if e == nil {
		p.API.SetModuleCookie(w, vis.caller, verification)
		p.enrolled(w, r, v, account.MethodEmailOTP, codes)
		return
	}

	if e.Message == api.CodeEmailOTPUninitialized && vis.user.EmailOTP != nil {
		v.Step = "done"
		v.Message = v.T("enroll.already")
		p.render(w, http.StatusOK, enrollPage, v)
		return
	}
	v.Step = "email"
	v.Email = vis.caller.Email
	v.EmailTo, _ = p.API.EmailCodePending(vis.user, account.PurposeSetup)
	p.renderError(w, enrollPage, v, e)
}

// enrolled shows the end of an enrolment: the recovery codes when the
// method turned 2FA on, and the way on to next.
func (p *Pages) enrolled(w http.ResponseWriter, r *http.Request, v *view, method string, codes []string) {
	v.Step = "done"
	v.Message = v.T("enroll.added." + method)
	if len(codes) > 0 {
		v.Message = v.T("enroll.done")
		v.Codes = newRecoveryCodes(v.Lang, p.site(r), codes)
	}
	p.render(w, http.StatusOK, enrollPage, v)
}

// enrollFailed shows an API error on the page of method's setup, or sends
// the browser to the confirm page when the API needs a sudo token first.
func (p *Pages) enrollFailed(w http.ResponseWriter, r *http.Request, v *view, vis *visitor, e *api.Error,
	method string,
) {
	if e.Message == api.CodeSudoTokenRequired {
		back := p.Path + "/" + pageEnroll + "?method=" + method + "&next=" + url.QueryEscape(v.Next)
		p.redirectToConfirm(w, r, back)
		return
	}
	if method == account.MethodEmailOTP {
		v.Step = "email"
	} else {
		v.Step, v.Offer = "choose", []string{account.MethodTOTP}
	}
	p.renderError(w, enrollPage, v, e)
}

// offer lists the methods the enrolment page offers: those not active,
// and email OTP only when mail is configured.
func (p *Pages) offer(u *account.User) []string {
	var methods []string
	if u.TOTP == nil {
		methods = append(methods, account.MethodTOTP)
	}
	if u.EmailOTP == nil && p.API.Mailer != nil {
		methods = append(methods, account.MethodEmailOTP)
	}
	return methods
}

// showTOTP puts a pending TOTP key on the page.
func showTOTP(v *view, setup *api.TOTPSetup) {
	v.Step = "totp"
	// The QR code is a data:image/png URL the API built from its own
	// key URL, so it is safe to mark as trusted.
	v.QRCode = template.URL(setup.QRCode)
	v.Secret = groupSecret(setup.Secret)
}

// groupSecret writes a base32 secret in groups of four for typing by
// hand. Authenticator apps ignore the spaces.
func groupSecret(secret string) string {
	return strings.ReplaceAll(groupCode(secret), "-", " ")
}

// redirectToConfirm redirects to the confirm page, which redirects back to
// back, a path under ui_path, once it has a sudo token.
func (p *Pages) redirectToConfirm(w http.ResponseWriter, r *http.Request, back string) {
	http.Redirect(w, r, p.pageURL(pageConfirm, back), http.StatusSeeOther)
}

// site names the site in the recovery codes file, as mails name it: the
// configured issuer, else the request's host without its port.
func (p *Pages) site(r *http.Request) string {
	if p.API.Config.Issuer != "" {
		return p.API.Config.Issuer
	}
	if host, _, err := net.SplitHostPort(r.Host); err == nil {
		return host
	}
	return r.Host
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
