package ui

import (
	"html/template"
	"net/http"
	"net/url"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/otp"
)

// serveEnroll sets up TOTP: a POST with step=setup shows the QR code and
// the secret, a POST with step=enable confirms a code and shows the
// recovery codes once.
func (p *Pages) serveEnroll(w http.ResponseWriter, r *http.Request) {
	v := &view{Title: "Set up two-factor authentication"}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		v.Next = gate.SafeNext(r.URL.Query().Get("next"))
	case http.MethodPost:
		if e := p.checkPost(w, r); e != nil {
			v.Error = sentence(e)
			v.CSRF = p.csrfToken(w, r)
			p.render(w, e.Status, "enroll.html", v)
			return
		}
		v.Next = gate.SafeNext(r.PostForm.Get("next"))
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	v.CSRF = p.csrfToken(w, r)
	caller := p.resolve(w, r, v, "enroll.html")
	if caller == nil {
		return
	}
	user, e := p.API.User(caller)
	if e != nil {
		v.Error = sentence(e)
		p.render(w, e.Status, "enroll.html", v)
		return
	}
	if user.Enabled() && r.Method != http.MethodPost {
		v.Completed = true
		v.Message = "Two-factor authentication is already on for your account."
		p.render(w, http.StatusOK, "enroll.html", v)
		return
	}
	if r.Method != http.MethodPost {
		p.render(w, http.StatusOK, "enroll.html", v)
		return
	}

	switch r.PostForm.Get("step") {
	case "setup":
		setup, e := p.API.SetupTOTP(caller, r.Host)
		if e != nil {
			v.Error = sentence(e)
			p.render(w, e.Status, "enroll.html", v)
			return
		}
		v.Pending = true
		v.QRCode = template.URL(setup.QRCode)
		v.Secret = setup.Secret
		p.render(w, http.StatusOK, "enroll.html", v)
	case "enable":
		code := r.PostForm.Get("code")
		e := codeFormat(code)
		var codes []string
		var verification *api.Verification
		if e == nil {
			codes, verification, e = p.API.EnableTOTP(r, caller, code)
		}
		if e != nil {
			v.Pending = true
			v.Error = sentence(e) + " Scan the code again if you set up a new one."
			p.render(w, e.Status, "enroll.html", v)
			return
		}
		p.API.SetModuleCookie(w, caller, verification)
		v.Completed = true
		v.Codes = codes
		v.Message = "Two-factor authentication is on."
		p.render(w, http.StatusOK, "enroll.html", v)
	default:
		v.Error = "The form is incomplete. Reload the page and try again."
		p.render(w, http.StatusBadRequest, "enroll.html", v)
	}
}

// codeFormat checks a typed TOTP code before it costs a guess.
func codeFormat(code string) *api.Error {
	if !otp.IsSixDigits(code) {
		return api.BadRequest("the code must be 6 digits")
	}
	return nil
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
