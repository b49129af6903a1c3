// Package ui serves the built-in pages under ui_path: the challenge a
// browser is sent to when the gate stops it, and TOTP enrolment. Forms post
// form bodies protected by a CSRF token and answer with 303, so they work
// without JavaScript.
package ui

import (
	"embed"
	"html/template"
	"net/http"
	"strings"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets/style.css
var styleSheet []byte

var templates = template.Must(template.ParseFS(templateFiles, "templates/*.html"))

// Pages serves the built-in pages. Its fields must be set before use.
type Pages struct {
	API  *api.Server
	Gate *gate.Gate
	// Path is the ui_path prefix, e.g. /user/2fa/ui.
	Path string
	Keys *crypto.Keyring
	// AllowedOrigins are origins besides the site's own whose form posts
	// are accepted.
	AllowedOrigins []string
}

// ServeHTTP serves a request whose canonical path is under p.Path.
func (p *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	page := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path[len(p.Path):], "/"), "/"))
	switch page {
	case "style.css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(styleSheet)
	case "", "challenge":
		p.serveChallenge(w, r)
	case "enroll":
		p.serveEnroll(w, r)
	default:
		http.NotFound(w, r)
	}
}

// setSecurityHeaders keeps the pages out of frames and caches, and lets
// them load nothing but their own style sheet and data: images (the QR code).
func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src data:; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// view is what every template receives.
type view struct {
	Title     string
	UIPath    string
	CSRF      string
	Next      string
	Error     string
	Message   string
	Methods   []string
	Method    string
	LoggedIn  bool
	QRCode    template.URL
	Secret    string
	Codes     []string
	Pending   bool
	Completed bool
}

func (p *Pages) render(w http.ResponseWriter, status int, name string, v *view) {
	v.UIPath = p.Path
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := templates.ExecuteTemplate(w, name, v); err != nil {
		p.API.Logger.Error("rendering page failed")
	}
}

// resolve returns the caller of a page request, or renders why there is none.
func (p *Pages) resolve(w http.ResponseWriter, r *http.Request, v *view, page string) *api.Caller {
	res, e := p.Gate.Resolve(r.Context(), r)
	if e != nil {
		v.Error = sentence(e)
		p.render(w, e.Status, page, v)
		return nil
	}
	if res.Caller.UserID == "" || res.Identity == nil {
		v.Error = "You are not logged in to the application. Log in first, then come back to this page."
		p.render(w, http.StatusUnauthorized, page, v)
		return nil
	}
	v.LoggedIn = true
	return res.Caller
}

// checkPost applies the form rules: early data refused, same origin, and
// a CSRF token that matches the CSRF cookie.
func (p *Pages) checkPost(w http.ResponseWriter, r *http.Request) *api.Error {
	if gate.IsEarlyData(r) {
		return api.NewError(http.StatusTooEarly, api.CodeTooEarly)
	}
	r.Body = http.MaxBytesReader(w, r.Body, api.MaxBodySize)
	if err := r.ParseForm(); err != nil {
		return api.BadRequest("the form could not be read")
	}
	origin := r.Header.Get("Origin")
	if origin != "" && !p.Gate.SameOrigin(r, p.AllowedOrigins) {
		return api.NewError(http.StatusForbidden, api.CodeCSRFRejected)
	}
	if origin == "" && r.Header.Get("Sec-Fetch-Site") != "" && r.Header.Get("Sec-Fetch-Site") != "same-origin" {
		return api.NewError(http.StatusForbidden, api.CodeCSRFRejected)
	}
	if !p.validCSRF(r, r.PostForm.Get("csrf")) {
		return api.NewError(http.StatusForbidden, api.CodeCSRFRejected)
	}
	return nil
}

// sentence turns an API error into a sentence for the page.
func sentence(e *api.Error) string {
	if e.Status == http.StatusBadRequest {
		return "The request was invalid: " + e.Message + "."
	}
	if text, ok := messages[e.Message]; ok {
		if e.Status == http.StatusTooManyRequests {
			return text + " " + waitSentence(e)
		}
		return text
	}
	return "Something went wrong (" + e.Message + "). Try again later."
}
