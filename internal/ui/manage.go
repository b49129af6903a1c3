package ui

import (
	"net/http"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

// Form actions of the manage page.
const (
	actionRemoveTOTP  = "remove-totp"
	actionRemoveEmail = "remove-email"
	actionNewCodes    = "new-codes"
)

const managePage = "manage.html"

// removedMessages are the sentences a removal leads to, by the done
// parameter of the page it redirects to.
var removedMessages = map[string]string{
	account.MethodTOTP:     "manage.removed.totp",
	account.MethodEmailOTP: "manage.removed.emailOtp",
}

// serveManage serves the manage page: the active methods, the recovery
// codes left, and forms to remove a method or create new codes. A session
// must have passed a second factor to see it, and every change needs the
// sudo token of the confirm page.
func (p *Pages) serveManage(w http.ResponseWriter, r *http.Request) {
	v := p.newView(r, pageManage, "title.manage")
	vis := p.start(w, r, v, managePage)
	if vis == nil {
		return
	}
	manageURL := p.pageURL(pageManage, v.Next)
	if vis.user.Enabled() {
		verified, e := p.verified(vis)
		if e != nil {
			p.renderError(w, managePage, v, e)
			return
		}
		if !verified {
			http.Redirect(w, r, p.pageURL(pageChallenge, manageURL), http.StatusSeeOther)
			return
		}
	}
	v.User, v.Sudo, v.ManageURL = vis.user, vis.caller.Sudo != nil, manageURL
	if r.Method == http.MethodPost {
		p.postManage(w, r, v, vis, manageURL)
		return
	}

	if key, ok := removedMessages[r.URL.Query().Get("done")]; ok {
		v.Message = v.T(key)
	}
	p.render(w, http.StatusOK, managePage, v)
}

// postManage runs one change. Without a sudo token it sends the browser to
// the confirm page, which redirects back to manageURL.
func (p *Pages) postManage(w http.ResponseWriter, r *http.Request, v *view, vis *visitor, manageURL string) {
	if vis.caller.Sudo == nil {
		p.redirectToConfirm(w, r, manageURL)
		return
	}

	var e *api.Error
	var removed string
	switch r.PostForm.Get("action") {
	case actionRemoveTOTP:
		e, removed = p.API.DeactivateTOTP(r, vis.caller), account.MethodTOTP
	case actionRemoveEmail:
		e, removed = p.API.DeactivateEmailOTP(r, vis.caller), account.MethodEmailOTP
	case actionNewCodes:
		var codes []string
		if codes, e = p.API.ResetRecoveryCodes(r, vis.caller); e == nil {
			p.showNewCodes(w, r, v, vis, codes)
			return
		}
	default:
		e = formError("error.incomplete")
	}

	if e != nil {
		if e.Message == api.CodeSudoTokenRequired {
			p.redirectToConfirm(w, r, manageURL)
			return
		}
		p.renderError(w, managePage, v, e)
		return
	}
	http.Redirect(w, r, manageURL+"&done="+removed, http.StatusSeeOther)
}

// showNewCodes shows new recovery codes once, above the settings.
func (p *Pages) showNewCodes(w http.ResponseWriter, r *http.Request, v *view, vis *visitor, codes []string) {
	user, e := p.API.User(vis.caller)
	if e == nil {
		v.User = user
	}
	v.Codes = newRecoveryCodes(v.Lang, p.site(r), codes)
	v.Message = v.T("manage.codes.new")
	p.render(w, http.StatusOK, managePage, v)
}
