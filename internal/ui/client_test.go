package ui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
)

// client acts as a browser on the pages: it keeps the cookies the pages
// set and sends back the CSRF token of the last page that had a form.
type client struct {
	f       *pagesFixture
	cookies map[string]string
	csrf    string
	// header is added to every request, for example Accept-Language.
	header http.Header
}

// client returns a browser logged in to the app as user.
func (f *pagesFixture) client(user string) *client {
	return &client{f: f, cookies: map[string]string{"sid": "sid-" + user}, header: http.Header{}}
}

func (c *client) cookieHeader() string {
	var pairs []string
	for name, value := range c.cookies {
		pairs = append(pairs, name+"="+value)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "; ")
}

func (c *client) get(target string) *httptest.ResponseRecorder {
	c.f.t.Helper()
	return c.do(get(target, c.cookieHeader()))
}

// post submits a form of the last page, with its CSRF token unless the
// form sets csrf itself.
func (c *client) post(target string, form url.Values) *httptest.ResponseRecorder {
	c.f.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	return c.do(post(target, c.cookieHeader(), form))
}

func (c *client) do(r *http.Request) *httptest.ResponseRecorder {
	c.f.t.Helper()
	for name, values := range c.header {
		r.Header[name] = values
	}
	w := c.f.serve(r)
	for _, cookie := range w.Result().Cookies() {
		if cookie.MaxAge < 0 {
			delete(c.cookies, cookie.Name)
		} else {
			c.cookies[cookie.Name] = cookie.Value
		}
	}
	if token, ok := findHidden(w.Body.String(), "csrf"); ok {
		c.csrf = token
	}
	return w
}
