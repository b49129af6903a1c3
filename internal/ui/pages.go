// Package ui serves the built-in pages under ui_path: the challenge that
// the gate sends a browser to, the enrolment that "enforce required" sends
// a user without 2FA to, and a page to manage the methods. Forms post form
// bodies with a CSRF token and get a 303 or a page back, so everything
// works without JavaScript. A small script from ui_path adds copy buttons.
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

//go:embed assets/copy.js
var copyScript []byte

var templates = template.Must(template.ParseFS(templateFiles, "templates/*.html"))

// Page names under ui_path.
const (
	pageChallenge = "challenge"
	pageConfirm   = "confirm"
	pageEnroll    = "enroll"
	pageManage    = "manage"
)

// Pages serves the built-in pages. Its fields must be set before use.
type Pages struct {
	API  *api.Server
	Gate *gate.Gate
	// Path is the ui_path prefix in canonical form, e.g. /user/2fa/ui.
	Path string
	Keys *crypto.Keyring
	// AllowedOrigins are origins besides the site's own whose form posts
	// are accepted.
	AllowedOrigins []string
}

// ServeHTTP serves a request whose canonical path is under p.Path, as
// gate.MatchPrefix matches it.
func (p *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	page, ok := pageName(r.URL.Path, p.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch page {
	case "style.css":
		serveAsset(w, "text/css; charset=utf-8", styleSheet)
	case "copy.js":
		serveAsset(w, "text/javascript; charset=utf-8", copyScript)
	case "", pageChallenge:
		p.serveChallenge(w, r, false)
	case pageConfirm:
		p.serveChallenge(w, r, true)
	case pageEnroll:
		p.serveEnroll(w, r)
	case pageManage:
		p.serveManage(w, r)
	default:
		http.NotFound(w, r)
	}
}

// pageName returns the one segment of path after the segments of prefix,
// lower-cased, or "" for the prefix itself. Segments are compared as
// gate.MatchPrefix compares them: empty segments are skipped and each is
// cut at ';'. ok is false for a path that is not under prefix or that has
// more than one segment after it.
func pageName(path, prefix string) (page string, ok bool) {
	want := segmentNames(prefix)
	got := segmentNames(path)
	if len(got) < len(want) || len(got) > len(want)+1 {
		return "", false
	}
	for i := range want {
		if !strings.EqualFold(got[i], want[i]) {
			return "", false
		}
	}
	if len(got) == len(want) {
		return "", true
	}
	return strings.ToLower(got[len(want)]), true
}

// segmentNames splits a path into its segments, each cut at ';', without
// the empty ones.
func segmentNames(path string) []string {
	var names []string
	for _, segment := range strings.Split(path, "/") {
		name, _, _ := strings.Cut(segment, ";")
		if name != "" {
			names = append(names, name)
		}
	}
	return names
}

func serveAsset(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Write(body)
}

// contentSecurityPolicy lets the pages load nothing but their own style
// sheet and script, and data: images (the QR code). Forms may post only to
// the site itself, and no site may frame the pages.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// setSecurityHeaders keeps the pages out of frames, caches and referrers.
// Every page is no-store, since the enrolment and manage pages show QR
// codes and recovery codes.
func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// pageURL returns the path of a page with a next parameter.
func (p *Pages) pageURL(page, next string) string {
	return p.Path + "/" + page + "?next=" + urlQueryEscape(next)
}

// methodNotAllowed responds 405 to a method other than GET, HEAD and POST.
func methodNotAllowed(w http.ResponseWriter) {
	w.Header().Set("Allow", "GET, HEAD, POST")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}
