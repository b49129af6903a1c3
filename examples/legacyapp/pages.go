package main

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// pageTemplates are the app's HTML pages. Tests look for the <h1> headings
// and the "Logged in as" lines.
var pageTemplates = template.Must(template.New("pages").Parse(`
{{define "header"}}<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}} - Legacy App</title></head>
<body>
<nav><a href="/">Home</a> | <a href="/dashboard">Dashboard</a> | <a href="/settings">Settings</a> | <a href="/reports/annual">Annual report</a> | <a href="/admin">Admin</a></nav>
{{end}}

{{define "logout"}}<form method="post" action="/logout"><button type="submit">Log out</button></form>{{end}}

{{define "home"}}{{template "header" .}}<h1>Legacy App</h1>
{{if .User}}<p>Logged in as {{.User.Username}}</p>
{{template "logout"}}{{else}}<p>Not logged in. <a href="/login">Log in</a></p>{{end}}
</body></html>
{{end}}

{{define "login"}}{{template "header" .}}<h1>Log in</h1>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="next" value="{{.Next}}">
<label>Username <input name="username" value="{{.Username}}" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Log in</button>
</form>
</body></html>
{{end}}

{{define "page"}}{{template "header" .}}<h1>{{.Title}}</h1>
<p>Logged in as {{.User.Username}}</p>
<p>{{.Text}}</p>
{{template "logout"}}
</body></html>
{{end}}

{{define "forbidden"}}{{template "header" .}}<h1>Forbidden</h1>
<p>Logged in as {{.User.Username}}, who may not see this page.</p>
</body></html>
{{end}}
`))

// pageData is the data of a page template.
type pageData struct {
	Title    string
	Text     string
	User     *profile
	Next     string
	Username string
	Error    string
}

// render executes a page template into a buffer first, so a template error
// becomes a clean 500 instead of half a page.
func (s *server) render(w http.ResponseWriter, status int, name string, data pageData) {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("rendering page failed", "page", name, "error", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (s *server) handleHome(w http.ResponseWriter, r *http.Request) {
	data := pageData{Title: "Home"}
	if p, ok := s.currentUser(r); ok {
		data.User = &p
	}
	s.render(w, http.StatusOK, "home", data)
}

func (s *server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", pageData{Title: "Log in", Next: r.URL.Query().Get("next")})
}

// handleLoginForm logs in from the form. A failure shows the form again with
// status 200, as legacy apps do.
func (s *server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid form body", http.StatusBadRequest)
		return
	}
	username := r.PostForm.Get("username")
	next := r.PostForm.Get("next")

	p, ok := s.state.login(username, r.PostForm.Get("password"))
	if !ok {
		s.render(w, http.StatusOK, "login", pageData{
			Title:    "Log in",
			Next:     next,
			Username: username,
			Error:    "Invalid username or password.",
		})
		return
	}

	session, remember := s.state.startSession(p.ID, true)
	setCredentialCookie(w, s.cfg.CookieName, session, 0)
	setCredentialCookie(w, rememberCookieName, remember, int(rememberTTL.Seconds()))
	if !isLocalPath(next) {
		next = "/dashboard"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// isLocalPath reports whether next is a path on this site: one "/" followed
// by neither "/" nor "\", and no control characters, which browsers strip
// and which could join "/" and "/" into "//".
func isLocalPath(next string) bool {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) {
		return false
	}
	for _, c := range []byte(next) {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// protectedPage returns the handler of a page behind login. Anonymous
// visitors get a 302 to the login form, as legacy apps do. An adminOnly page
// responds 403 to everyone but user 1.
func (s *server) protectedPage(title, text string, adminOnly bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.currentUser(r)
		if !ok {
			login := "/login?next=" + url.QueryEscape(r.URL.RequestURI())
			http.Redirect(w, r, login, http.StatusFound)
			return
		}
		if adminOnly && p.ID != adminUserID {
			s.render(w, http.StatusForbidden, "forbidden", pageData{Title: "Forbidden", User: &p})
			return
		}
		s.render(w, http.StatusOK, "page", pageData{Title: title, Text: text, User: &p})
	}
}
