package ui

import (
	"net/http"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
)

// serveChallenge shows the code form and checks what it posts.
func (p *Pages) serveChallenge(w http.ResponseWriter, r *http.Request) {
	v := &view{Title: "Two-factor authentication"}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		v.Next = gate.SafeNext(r.URL.Query().Get("next"))
	case http.MethodPost:
		if e := p.checkPost(w, r); e != nil {
			v.Error = sentence(e)
			v.CSRF = p.csrfToken(w, r)
			p.render(w, e.Status, "challenge.html", v)
			return
		}
		v.Next = gate.SafeNext(r.PostForm.Get("next"))
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	v.CSRF = p.csrfToken(w, r)
	caller := p.resolve(w, r, v, "challenge.html")
	if caller == nil {
		return
	}
	user, e := p.API.User(caller)
	if e != nil {
		v.Error = sentence(e)
		p.render(w, e.Status, "challenge.html", v)
		return
	}
	v.Methods = user.ActiveMethods()
	if !user.Enabled() {
		http.Redirect(w, r, p.Path+"/enroll?next="+urlQueryEscape(v.Next), http.StatusSeeOther)
		return
	}
	if r.Method != http.MethodPost {
		v.Method = v.Methods[0]
		p.render(w, http.StatusOK, "challenge.html", v)
		return
	}

	v.Method = r.PostForm.Get("method")
	code := r.PostForm.Get("code")
	var verification *api.Verification
	switch v.Method {
	case account.MethodTOTP:
		if e = codeFormat(code); e == nil {
			verification, e = p.API.AuthenticateTOTP(caller, code)
		}
	case account.MethodRecoveryCode:
		verification, e = p.API.AuthenticateRecoveryCode(r, caller, code)
	default:
		e = api.BadRequest("choose a method")
	}
	if e != nil {
		v.Error = sentence(e)
		p.render(w, e.Status, "challenge.html", v)
		return
	}
	p.API.SetModuleCookie(w, caller, verification)
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
}
