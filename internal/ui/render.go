package ui

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	mailer "github.com/caddy-twofactor/caddy-twofactor/internal/mail"
)

// view is the data of every template. Its text comes from T, in Lang.
type view struct {
	Lang   string
	Page   string // the page's name under UIPath, where its forms post
	Title  string // message key
	UIPath string
	CSRF   string
	Next   string
	// Error and Message are sentences shown above the page's form. Error
	// describes the form's fields (aria-describedby).
	Error    string
	Message  string
	LoggedIn bool

	// Challenge and confirm pages.
	Confirm   bool
	Methods   []string
	Method    string
	EmailTo   string // the address a code went to, when one awaits entry
	EmailSent bool

	// Enrolment: Step is "choose" (with the methods to Offer), "totp",
	// "email" or "done".
	Step        string
	Offer       []string
	QRCode      template.URL
	Secret      string
	Email       string
	MailEnabled bool
	Codes       *recoveryCodes

	// Manage page: ManageURL is its own URL with next, which the pages it
	// links to redirect back to.
	User      *account.User
	Sudo      bool
	ManageURL string
}

// T returns the sentence of key in the view's language, formatted with
// args like fmt.Sprintf.
func (v *view) T(key string, args ...any) string {
	return translate(v.Lang, key, args...)
}

// Date formats a time as the manage page shows it, the same in every
// language.
func (v *view) Date(t time.Time) string {
	return t.UTC().Format("2006-01-02")
}

// newView returns a view of page in the language the request prefers.
func (p *Pages) newView(r *http.Request, page, title string) *view {
	return &view{
		Lang:        mailer.Language("", r.Header.Get("Accept-Language")),
		Page:        page,
		Title:       title,
		UIPath:      p.Path,
		MailEnabled: p.API.Mailer != nil,
	}
}

// render writes a page. It renders into a buffer first, so a template
// error becomes a plain 500 rather than half a page.
func (p *Pages) render(w http.ResponseWriter, status int, name string, v *view) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, v); err != nil {
		p.API.Logger.Error("rendering page failed", zap.String("page", name), zap.Error(err))
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", v.Lang)
	w.WriteHeader(status)
	buf.WriteTo(w)
}

// renderError shows e as a sentence on page, with e's status.
func (p *Pages) renderError(w http.ResponseWriter, name string, v *view, e *api.Error) {
	v.Error = sentence(v.Lang, e)
	p.render(w, e.Status, name, v)
}

// recoveryCodes are recovery codes as a page shows them once.
type recoveryCodes struct {
	// Groups are the codes in groups of four characters, as typed.
	Groups []string
	// Download is a data: URL of a text file with the codes, so saving
	// them needs no second request.
	Download template.URL
}

// newRecoveryCodes prepares codes for a page. The file's header names site.
func newRecoveryCodes(lang, site string, codes []string) *recoveryCodes {
	rc := &recoveryCodes{}
	var file bytes.Buffer
	fmt.Fprintf(&file, "%s\n\n", translate(lang, "codes.file.header", site))
	for _, code := range codes {
		grouped := groupCode(code)
		rc.Groups = append(rc.Groups, grouped)
		fmt.Fprintf(&file, "%s\n", grouped)
	}
	fmt.Fprintf(&file, "\n%s\n", translate(lang, "codes.file.note"))
	// The URL contains only text this package wrote and percent-escaped.
	rc.Download = template.URL("data:text/plain;charset=utf-8," + url.PathEscape(file.String()))
	return rc
}

// groupCode writes a recovery code in groups of four joined by dashes,
// which the API ignores on input.
func groupCode(code string) string {
	var b bytes.Buffer
	for i := 0; i < len(code); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(code[i:min(i+4, len(code))])
	}
	return b.String()
}
