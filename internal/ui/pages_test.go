package ui

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
)

func TestPagesSecurityHeaders(t *testing.T) {
	f := newPagesFixture(t)
	f.enroll("alice")
	requests := []*http.Request{
		get(uiPath+"/challenge", ""),
		get(uiPath+"/challenge", "sid=sid-alice"),
		get(uiPath+"/confirm", "sid=sid-alice"),
		get(uiPath+"/enroll", "sid=sid-bob"),
		get(uiPath+"/manage", "sid=sid-bob"),
		get(uiPath+"/style.css", ""),
		get(uiPath+"/copy.js", ""),
		get(uiPath+"/missing", ""),
		httptest.NewRequest(http.MethodPut, uiPath+"/challenge", nil),
		post(uiPath+"/challenge", "sid=sid-alice", url.Values{"code": {"123456"}}),
		post(uiPath+"/enroll", "sid=sid-bob", url.Values{"step": {"totp-setup"}}),
	}
	for _, r := range requests {
		f.serve(r) // serve checks the headers
	}
}

func TestPagesRouting(t *testing.T) {
	f := newPagesFixture(t)
	tests := []struct {
		path        string
		status      int
		contentType string
		contains    string
	}{
		{uiPath, http.StatusUnauthorized, "text/html; charset=utf-8", "<title>Two-factor authentication</title>"},
		{uiPath + "/", http.StatusUnauthorized, "text/html; charset=utf-8", "<title>Two-factor authentication</title>"},
		{uiPath + "/challenge/", http.StatusUnauthorized, "text/html; charset=utf-8", "<title>Two-factor authentication</title>"},
		{uiPath + "/Challenge", http.StatusUnauthorized, "text/html; charset=utf-8", "<title>Two-factor authentication</title>"},
		{"/User/2FA/ui/challenge", http.StatusUnauthorized, "text/html; charset=utf-8", "<title>Two-factor authentication</title>"},
		{"/user//2fa;x/ui/challenge;y", http.StatusUnauthorized, "text/html; charset=utf-8", "<title>Two-factor authentication</title>"},
		{uiPath + "/confirm", http.StatusUnauthorized, "text/html; charset=utf-8", "<title>Confirm it&#39;s you</title>"},
		{uiPath + "/enroll", http.StatusUnauthorized, "text/html; charset=utf-8", "<title>Set up two-factor authentication</title>"},
		{uiPath + "/manage", http.StatusUnauthorized, "text/html; charset=utf-8", "<title>Two-factor authentication settings</title>"},
		{uiPath + "/style.css", http.StatusOK, "text/css; charset=utf-8", ":focus-visible"},
		{uiPath + "/copy.js", http.StatusOK, "text/javascript; charset=utf-8", "data-copy"},
		{uiPath + "/missing", http.StatusNotFound, "", ""},
		{uiPath + "/challenge/extra", http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		w := f.serve(get(tt.path, ""))
		if w.Code != tt.status {
			t.Errorf("GET %s: status %d, want %d", tt.path, w.Code, tt.status)
		}
		if tt.contentType != "" && w.Header().Get("Content-Type") != tt.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tt.path, w.Header().Get("Content-Type"), tt.contentType)
		}
		if !strings.Contains(w.Body.String(), tt.contains) {
			t.Errorf("GET %s: body lacks %q", tt.path, tt.contains)
		}
	}
}

func TestPageName(t *testing.T) {
	tests := []struct {
		path, prefix, page string
		ok                 bool
	}{
		{"/user/2fa/ui", "/user/2fa/ui", "", true},
		{"/user/2fa/ui/", "/user/2fa/ui", "", true},
		{"/user/2fa/ui/Enroll", "/user/2fa/ui", "enroll", true},
		{"/USER/2fa/ui/manage/", "/user/2fa/ui", "manage", true},
		{"/user//2fa/ui/manage", "/user/2fa/ui", "manage", true},
		{"/user/2fa;v=1/ui/confirm;x", "/user/2fa/ui", "confirm", true},
		{"/2fa/challenge", "/2fa", "challenge", true},
		{"/user/2fa", "/user/2fa/ui", "", false},
		{"/user/2fa/uix/challenge", "/user/2fa/ui", "", false},
		{"/user/2fa/ui/a/b", "/user/2fa/ui", "", false},
	}
	for _, tt := range tests {
		page, ok := pageName(tt.path, tt.prefix)
		if page != tt.page || ok != tt.ok {
			t.Errorf("pageName(%q, %q) = %q, %v, want %q, %v", tt.path, tt.prefix, page, ok, tt.page, tt.ok)
		}
	}
}

func FuzzPageName(f *testing.F) {
	for _, seed := range []string{"/user/2fa/ui", "/user/2fa/ui/enroll", "//user/;/2fa/ui/x;y/", "/user/2fa", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		page, ok := pageName(path, uiPath)
		if ok && !gate.MatchPrefix(path, uiPath) {
			t.Errorf("pageName(%q) = %q, true, but the path does not match the prefix", path, page)
		}
		if strings.ContainsAny(page, "/;") {
			t.Errorf("pageName(%q) = %q, want one segment name", path, page)
		}
	})
}

func TestPagesMethodNotAllowed(t *testing.T) {
	f := newPagesFixture(t)
	for _, page := range []string{"/challenge", "/confirm", "/enroll", "/manage"} {
		w := f.serve(httptest.NewRequest(http.MethodDelete, uiPath+page, nil))
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("DELETE %s: status %d, want 405", page, w.Code)
		}
		if got := w.Header().Get("Allow"); got != "GET, HEAD, POST" {
			t.Errorf("DELETE %s: Allow %q, want GET, HEAD, POST", page, got)
		}
	}
}

func TestPagesNotLoggedIn(t *testing.T) {
	f := newPagesFixture(t)
	for _, page := range []string{"challenge", "confirm", "enroll", "manage"} {
		for _, cookie := range []string{"", "sid=forged"} {
			w := f.serve(get(uiPath+"/"+page+"?next=%2Fdocs", cookie))
			if w.Code != http.StatusUnauthorized {
				t.Errorf("%s %q: status %d, want 401", page, cookie, w.Code)
			}
			body := w.Body.String()
			if !strings.Contains(body, "You are not logged in.") {
				t.Errorf("%s %q: page lacks the not-logged-in message", page, cookie)
			}
			if strings.Contains(body, "<form") {
				t.Errorf("%s %q: page shows a form to a visitor who is not logged in", page, cookie)
			}
			if !strings.Contains(body, `<a href="/docs">Go to the application</a>`) {
				t.Errorf("%s %q: page lacks the link back to next", page, cookie)
			}
		}
	}
}

func TestPagesOwnCookiesNotForwarded(t *testing.T) {
	// An introspecting identity source forwards the request's cookies to
	// the app, which must never see the CSRF or the sudo cookie.
	f := newPagesFixture(t)
	f.serve(get(uiPath+"/manage", "sid=sid-bob; twofactor-csrf=c1; twofactor-sudo=sudo_x; "+
		"__Host-twofactor-csrf=c2; __Secure-twofactor-sudo=sudo_y"))
	seen := f.source.seen()
	if !strings.Contains(seen, "sid=sid-bob") {
		t.Fatalf("the identity source saw %q, want the app's cookie", seen)
	}
	for _, name := range []string{"twofactor-csrf", "twofactor-sudo", "sudo_x", "sudo_y"} {
		if strings.Contains(seen, name) {
			t.Errorf("the identity source saw %q, which holds %s", seen, name)
		}
	}
}

func TestPostRejected(t *testing.T) {
	// Every page checks a POST before anything else: early data, origin
	// and the CSRF token.
	pages := []struct{ page, user string }{
		{"challenge", "alice"}, {"confirm", "alice"}, {"enroll", "bob"}, {"manage", "bob"},
	}
	for _, pu := range pages {
		page, user := pu.page, pu.user
		t.Run(page, func(t *testing.T) {
			f := newPagesFixture(t)
			secret, _ := f.enroll("alice")
			c, other := f.client(user), f.client(user)
			c.get(uiPath + "/" + page)
			other.get(uiPath + "/" + page)
			if c.cookies["twofactor-csrf"] == "" || c.cookies["twofactor-csrf"] == other.cookies["twofactor-csrf"] {
				t.Fatal("two page loads without a CSRF cookie share a CSRF cookie")
			}
			// Some pages show bob no form, so the tokens come from the cookies.
			c.csrf = f.keys.Current.MAC("csrf", c.cookies["twofactor-csrf"])
			other.csrf = f.keys.Current.MAC("csrf", other.cookies["twofactor-csrf"])
			f.clock.Advance(30 * time.Second)
			code := totpCode(secret, f.clock.Now())
			cookie := c.cookieHeader()
			tests := []struct {
				name   string
				cookie string
				form   url.Values
				header map[string]string
				early  bool
				status int
			}{
				{"no token", cookie, url.Values{}, nil, false, http.StatusForbidden},
				{"empty token", cookie, url.Values{"csrf": {""}}, nil, false, http.StatusForbidden},
				{"wrong token", cookie, url.Values{"csrf": {flipFirst(c.csrf)}}, nil, false, http.StatusForbidden},
				{"token of another cookie", cookie, url.Values{"csrf": {other.csrf}}, nil, false, http.StatusForbidden},
				{"no CSRF cookie", "sid=sid-" + user, url.Values{"csrf": {c.csrf}}, nil, false, http.StatusForbidden},
				{"foreign origin", cookie, url.Values{"csrf": {c.csrf}},
					map[string]string{"Origin": "https://evil.example"}, false, http.StatusForbidden},
				{"cross-site fetch", cookie, url.Values{"csrf": {c.csrf}},
					map[string]string{"Origin": "", "Sec-Fetch-Site": "cross-site"}, false, http.StatusForbidden},
				{"null origin, cross-site", cookie, url.Values{"csrf": {c.csrf}},
					map[string]string{"Origin": "null", "Sec-Fetch-Site": "cross-site"}, false, http.StatusForbidden},
				{"same-site fetch", cookie, url.Values{"csrf": {c.csrf}},
					map[string]string{"Origin": "", "Sec-Fetch-Site": "same-site"}, false, http.StatusForbidden},
				{"early data", cookie, url.Values{"csrf": {c.csrf}}, nil, true, http.StatusTooEarly},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					form := tt.form
					form.Set("step", "totp-setup")
					form.Set("action", "remove-totp")
					form.Set("method", "totp")
					form.Set("code", code)
					r := post(uiPath+"/"+page, tt.cookie, form)
					for name, value := range tt.header {
						r.Header.Set(name, value)
					}
					if tt.early {
						r.TLS = &tls.ConnectionState{HandshakeComplete: false}
					}
					w := f.serve(r)
					if w.Code != tt.status {
						t.Errorf("status %d, want %d", w.Code, tt.status)
					}
					if tt.status == http.StatusForbidden {
						wantText(t, w, english[api.CodeCSRFRejected])
					}
				})
			}
			if u := f.user("bob"); u.PendingTOTP != nil {
				t.Error("a rejected POST set up a TOTP secret")
			}
			if f.passes(cookie) {
				t.Error("a rejected POST verified the session")
			}
			if page == "challenge" {
				// The code sent with the rejected posts was not consumed.
				w := c.post(uiPath+"/challenge", url.Values{"method": {"totp"}, "code": {code}})
				if w.Code != http.StatusSeeOther {
					t.Errorf("the code after rejected posts: status %d, want 303", w.Code)
				}
			}
		})
	}
}

func TestPostAccepted(t *testing.T) {
	// Same origin, shown by Origin or by Sec-Fetch-Site, passes the
	// checks, and so does a browser that sends neither. Under
	// Referrer-Policy no-referrer browsers send "Origin: null".
	tests := []struct {
		name   string
		header map[string]string
	}{
		{"same origin", map[string]string{"Origin": "http://example.com"}},
		{"same-origin fetch", map[string]string{"Origin": "", "Sec-Fetch-Site": "same-origin"}},
		{"null origin, same-origin fetch", map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}},
		{"no origin headers", map[string]string{"Origin": ""}},
		{"allowed origin", map[string]string{"Origin": "https://app.example", "Sec-Fetch-Site": "cross-site"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPagesFixture(t)
			f.pages.AllowedOrigins = []string{"https://app.example"}
			c := f.client("bob")
			c.get(uiPath + "/enroll")
			r := post(uiPath+"/enroll", c.cookieHeader(), url.Values{"csrf": {c.csrf}, "step": {"totp-setup"}})
			for name, value := range tt.header {
				if value == "" {
					r.Header.Del(name)
				} else {
					r.Header.Set(name, value)
				}
			}
			if w := f.serve(r); w.Code != http.StatusOK {
				t.Errorf("status %d, want 200:\n%s", w.Code, w.Body.String())
			}
		})
	}
}

// flipFirst returns s with its first character changed.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func TestPostTooLarge(t *testing.T) {
	f := newPagesFixture(t)
	c := f.client("alice")
	c.get(uiPath + "/challenge")
	form := url.Values{"csrf": {c.csrf}, "code": {strings.Repeat("1", api.MaxBodySize)}}
	w := f.serve(post(uiPath+"/challenge", c.cookieHeader(), form))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413 for a form over the body limit", w.Code)
	}
}
