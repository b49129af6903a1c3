package ui

import (
	"net/http"
	"slices"
	"strings"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/otp"
)

// Form actions of the challenge and confirm pages.
const (
	actionVerify = "verify"
	actionSend   = "send" // mail a challenge code
)

// serveChallenge serves the challenge page, or with confirm the confirm
// page. The challenge verifies the session and redirects to next. The
// confirm page obtains a fresh sudo token for the manage and enrolment
// pages, keeps it in the sudo cookie and redirects back to one of them.
func (p *Pages) serveChallenge(w http.ResponseWriter, r *http.Request, confirm bool) {
	const page = "challenge.html"
	v := p.newView(r, pageChallenge, "title.challenge")
	if confirm {
		v.Page, v.Title, v.Confirm = pageConfirm, "title.confirm", true
	}
	vis := p.start(w, r, v, page)
	if vis == nil {
		return
	}
	if confirm {
		v.Next = p.confirmNext(v.Next)
	}

	// Without an active method there is nothing to confirm with, and the
	// API needs no sudo token either.
	if !vis.user.Enabled() {
		target := v.Next
		if !confirm {
			target = p.pageURL(pageEnroll, v.Next)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	v.Methods = vis.user.ActiveMethods()
	if vis.user.EmailOTP != nil {
		v.Email = vis.user.EmailOTP.Email
	}
	if r.Method == http.MethodPost {
		p.postChallenge(w, r, v, vis)
		return
	}

	done := vis.caller.Sudo != nil
	if !confirm {
		verified, e := p.verified(vis)
		if e != nil {
			p.renderError(w, page, v, e)
			return
		}
		done = verified
	}
	if done {
		http.Redirect(w, r, v.Next, http.StatusSeeOther)
		return
	}
	v.Method = v.Methods[0]
	if method := r.URL.Query().Get("method"); slices.Contains(v.Methods, method) {
		v.Method = method
	}
	v.EmailTo, _ = p.API.EmailCodePending(vis.user, account.PurposeChallenge)
	p.render(w, http.StatusOK, page, v)
}

// postChallenge mails a challenge code or checks a code.
func (p *Pages) postChallenge(w http.ResponseWriter, r *http.Request, v *view, vis *visitor) {
	const page = "challenge.html"
	v.Method = r.PostForm.Get("method")
	if !slices.Contains(v.Methods, v.Method) {
		v.Method = v.Methods[0]
		p.renderError(w, page, v, formError("error.incomplete"))
		return
	}
	v.EmailTo, _ = p.API.EmailCodePending(vis.user, account.PurposeChallenge)

	if r.PostForm.Get("action") == actionSend && v.Method == account.MethodEmailOTP {
		if e := p.API.SendEmailCode(r, vis.caller, account.PurposeChallenge, ""); e != nil {
			p.renderError(w, page, v, e)
			return
		}
		v.EmailTo, v.EmailSent = v.Email, true
		v.Message = v.T("email.sent", v.Email)
		p.render(w, http.StatusOK, page, v)
		return
	}

	verification, e := p.authenticate(r, vis.caller, v.Method, r.PostForm.Get("code"))
	if e != nil {
		p.renderError(w, page, v, e)
		return
	}
	p.API.SetModuleCookie(w, vis.caller, verification)
	if verification.Release != nil {
		p.API.SetReleasedCookies(w, vis.caller, verification)
		gate.ClearPartialCookie(w, p.isHTTPS(r), p.Path)
	}
	if v.Confirm {
		p.keepSudo(w, r, verification)
	}
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
}

// authenticate checks a typed code of method. It checks the code's format
// first, so a typo costs no guess and gets a sentence about the field.
func (p *Pages) authenticate(r *http.Request, c *api.Caller, method, input string) (*api.Verification, *api.Error) {
	switch method {
	case account.MethodTOTP, account.MethodEmailOTP:
		code, ok := sixDigits(input)
		if !ok {
			return nil, formError("error.codeFormat")
		}
		if method == account.MethodTOTP {
			return p.API.AuthenticateTOTP(c, code)
		}
		return p.API.AuthenticateEmailOTP(c, code)
	case account.MethodRecoveryCode:
		if _, ok := otp.NormalizeRecoveryCode(input); !ok {
			return nil, formError("error.recoveryFormat")
		}
		return p.API.AuthenticateRecoveryCode(r, c, input)
	}
	return nil, formError("error.incomplete")
}

// sixDigits returns a typed code without the spaces and dashes people put
// in to read it ("123 456"), and whether six digits are left.
func sixDigits(input string) (string, bool) {
	code := strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(input))
	return code, otp.IsSixDigits(code)
}

// confirmNext keeps a confirm page's next only when it leads to a page
// under ui_path, because only those read the sudo cookie. Any other next
// becomes the manage page.
func (p *Pages) confirmNext(next string) string {
	path, _, _ := strings.Cut(next, "?")
	if !gate.MatchPrefix(path, p.Path) {
		return p.Path + "/" + pageManage
	}
	return next
}

// formError is a 400 whose message is a catalog key about a form field.
func formError(key string) *api.Error {
	return &api.Error{Status: http.StatusBadRequest, Message: key}
}
