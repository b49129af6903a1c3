package main

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
)

// The alternate password reset flow, on with -alt-reset, is the same reset
// as the JSON routes, written as many older apps write it. Its HTML forms
// name the address "login", its code check responds to a wrong code with a
// 200 error page, and its reset redirects back to its form on a wrong code.
// The end-to-end tests configure the twofactor guards for it.

// altResetPages are the pages of the alternate flow. Tests look for the
// sentences in <p>.
var altResetPages = template.Must(template.New("alt").Parse(`
{{define "alt"}}<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Password reset - Legacy App</title></head>
<body><h1>Password reset</h1>
<p>{{.}}</p>
</body></html>
{{end}}
`))

// Sentences of the alternate flow's pages.
const (
	altSentMessage     = "If the address has an account, a code is on its way."
	altAcceptedMessage = "Code accepted."
	altInvalidMessage  = "Invalid code."
)

// altResetRoutes registers the alternate flow.
func (s *server) altResetRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /account/forgot", s.handleAltForgot)
	mux.HandleFunc("POST /account/reset/check", s.handleAltCheck)
	mux.HandleFunc("POST /account/reset", s.handleAltReset)
}

// handleAltForgot mails a reset code to the address in login, when it has
// an account, and responds with the same page either way.
func (s *server) handleAltForgot(w http.ResponseWriter, r *http.Request) {
	login := r.PostFormValue("login")
	if code, ok := s.state.storeResetCode(login); ok {
		if err := s.mailer.send(mailKindReset, normalizeEmail(login), code); err != nil {
			s.log.Error("mailing reset code failed", "error", err)
		}
	}
	s.renderAlt(w, altSentMessage)
}

// handleAltCheck responds 200 whether the code is right or wrong, and only
// the page tells them apart.
func (s *server) handleAltCheck(w http.ResponseWriter, r *http.Request) {
	if s.state.checkResetCode(r.PostFormValue("login"), r.PostFormValue("code")) {
		s.renderAlt(w, altAcceptedMessage)
		return
	}
	s.renderAlt(w, altInvalidMessage)
}

// handleAltReset sets the password and redirects to the login form, or
// redirects back to its own form with the reason in the query.
func (s *server) handleAltReset(w http.ResponseWriter, r *http.Request) {
	err := s.state.resetPassword(r.PostFormValue("login"), r.PostFormValue("code"),
		r.PostFormValue("password"))
	switch {
	case err == nil:
		http.Redirect(w, r, "/login?reset=done", http.StatusSeeOther)
	case errors.Is(err, errShortPassword):
		http.Redirect(w, r, "/account/reset?"+url.Values{"error": {"password"}}.Encode(), http.StatusFound)
	default:
		http.Redirect(w, r, "/account/reset?"+url.Values{"error": {"code"}}.Encode(), http.StatusFound)
	}
}

func (s *server) renderAlt(w http.ResponseWriter, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := altResetPages.ExecuteTemplate(w, "alt", message); err != nil {
		s.log.Error("rendering page failed", "page", "alt", "error", err)
	}
}
