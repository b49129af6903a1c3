package guard

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

func TestMatch(t *testing.T) {
	f := newFixture(t, append(defaultRoutes(), sessionRoutes()...)...)
	tests := []struct {
		method, path string
		want         Kind
	}{
		{"PUT", "/user/password/otp", ResetPassword},
		{"PUT", "/User/Password/OTP/", ResetPassword},
		{"PUT", "/user/password;x/otp;y", ResetPassword},
		{"GET", "/user/password/otp", ResetPassword},
		{"POST", "/V1/auth/forgot-password", ResetSend},
		{"POST", "/user/email", EmailChange},
		{"POST", "/user/email/initiate", EmailInitiate},
		{"POST", "/user/email/initiate/x", ""},
		{"POST", "/user/password", ""},
		{"POST", "/api/refresh", Refresh},
		{"GET", "/api/refresh", ""},
		{"POST", "/Logout/", Logout},
	}
	for _, tt := range tests {
		got := Kind("")
		if rt := f.guards.Match(httptest.NewRequest(tt.method, "/", nil), tt.path); rt != nil {
			got = rt.Kind
		}
		if got != tt.want {
			t.Errorf("Match(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
	var none *Guards
	if none.Match(httptest.NewRequest("GET", "/", nil), "/user/email") != nil {
		t.Error("nil Guards matched a route")
	}
}

func defaultRoutes() []*Route {
	var routes []*Route
	for _, kind := range Kinds {
		rt := Default(kind)
		routes = append(routes, &rt)
	}
	return routes
}

func TestUncheckedPage(t *testing.T) {
	f := newFixture(t)
	wantStatus(t, f.serve(request(http.MethodGet, "/user/password/otp?lang=en", "")), http.StatusOK)
	if n := len(f.app.got("/user/password/otp")); n != 1 {
		t.Errorf("app got %d page requests, want 1", n)
	}
	wantError(t, f.serve(request(http.MethodGet, "/user/password/otp?Email=a%40x", "")),
		http.StatusBadRequest, "email must be sent in the request body, not in the query string")
	// A GET with a body is checked like any other method.
	wantError(t, f.serve(request(http.MethodGet, "/user/password/reset/validate", `{"email":"a@x"}`)),
		http.StatusBadRequest, "code is required")
}

func TestEarlyData(t *testing.T) {
	f := newFixture(t)
	r := resetSend("alice@example.com", "192.0.2.1:1")
	r.TLS = &tls.ConnectionState{HandshakeComplete: false}
	wantError(t, f.serve(r), http.StatusTooEarly, api.CodeTooEarly)
	if n := len(f.app.got("/user/password/reset/send")); n != 0 {
		t.Errorf("app got %d early sends, want 0", n)
	}
}

func TestSudoNeverForwarded(t *testing.T) {
	f := newFixture(t)
	f.enroll("1", "alice@example.com")
	token := f.token("1", "alice@example.com", "a")
	sudo := f.verify("1", token)

	// A sudo token alone is no app credential: the app gets an anonymous
	// request.
	r := request(http.MethodPut, "/user/password/old-password", `{"oldPassword":"right"}`,
		"Authorization", "Bearer "+sudo)
	f.serve(r)
	r = oldPassword(token, sudo, "right")
	f.serve(r)
	for _, s := range f.app.got("/user/password/old-password") {
		for name, values := range s.header {
			for _, v := range values {
				if strings.Contains(v, sudo) {
					t.Errorf("app got the sudo token in %s", name)
				}
			}
		}
	}
}

func TestRuleMatch(t *testing.T) {
	response := func(status int, location, body string) *Response {
		h := http.Header{}
		if location != "" {
			h.Set("Location", location)
		}
		return &Response{Status: status, Header: h, Body: []byte(body)}
	}
	tests := []struct {
		name     string
		rule     Rule
		response *Response
		want     bool
	}{
		{"empty rule", Rule{}, response(200, "", ""), false},
		{"class", Rule{Status: []int{2}}, response(204, "", ""), true},
		{"class miss", Rule{Status: []int{2}}, response(302, "", ""), false},
		{"code", Rule{Status: []int{401, 403}}, response(403, "", ""), true},
		{"location", Rule{Location: regexp.MustCompile(`^/login`)}, response(302, "/login?done", ""), true},
		{"no location", Rule{Location: regexp.MustCompile(`.*`)}, response(200, "", ""), false},
		{"body", Rule{Body: regexp.MustCompile(`Invalid code`)}, response(200, "", "<p>Invalid code</p>"), true},
		{"all must hold", Rule{Status: []int{200}, Body: regexp.MustCompile(`ok`)}, response(200, "", "no"), false},
	}
	for _, tt := range tests {
		if got := tt.rule.Match(tt.response); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestWatcherPassesThrough(t *testing.T) {
	rec := httptest.NewRecorder()
	w := newWatcher(rec, true)
	w.Header().Set("Location", "/next")
	w.WriteHeader(http.StatusFound)
	big := strings.Repeat("x", maxResponseBody+10)
	w.Write([]byte(big))

	a := w.response()
	if a.Status != http.StatusFound || a.Header.Get("Location") != "/next" {
		t.Errorf("response %d %v, want 302 with Location /next", a.Status, a.Header)
	}
	if len(a.Body) != maxResponseBody {
		t.Errorf("kept %d bytes, want %d", len(a.Body), maxResponseBody)
	}
	if rec.Code != http.StatusFound || rec.Body.Len() != len(big) {
		t.Errorf("client got %d with %d bytes, want 302 with %d", rec.Code, rec.Body.Len(), len(big))
	}
}

func TestEmailIndex(t *testing.T) {
	f := newFixture(t)
	lookup := func(address string) string {
		t.Helper()
		var id string
		err := f.store.View(func(tx store.Tx) error {
			var err error
			id, err = account.UserByEmail(tx, address)
			return err
		})
		if err != nil {
			t.Fatalf("UserByEmail: %v", err)
		}
		return id
	}
	index := f.gate.Emails
	if err := index.Observe("1", " Alice@Example.com "); err != nil {
		t.Fatalf("Observe: %v", err)
	}
	if got := lookup("alice@example.com"); got != "1" {
		t.Errorf("alice@example.com names %q, want 1", got)
	}

	// A new address of the same user names the user too, and the old one
	// keeps naming the user: an identity cached before an email change may
	// report the old address after the new one, and dropping either would
	// let a reset of it skip the user's second factor.
	if err := index.Observe("1", "alice@new.example"); err != nil {
		t.Fatalf("Observe: %v", err)
	}
	if got := lookup("alice@example.com"); got != "1" {
		t.Errorf("the old address names %q after a new one, want 1", got)
	}
	if err := index.Observe("1", "alice@example.com"); err != nil {
		t.Fatalf("Observe: %v", err)
	}
	if got := lookup("alice@new.example"); got != "1" {
		t.Errorf("the new address names %q after a stale report of the old one, want 1", got)
	}

	// Email OTP addresses fill gaps only.
	err := f.store.Update(func(tx store.Tx) error {
		if err := account.IndexEmailIfAbsent(tx, "2", "alice@new.example"); err != nil {
			return err
		}
		return account.IndexEmailIfAbsent(tx, "2", "bob@otp.example")
	})
	if err != nil {
		t.Fatalf("IndexEmailIfAbsent: %v", err)
	}
	if got := lookup("alice@new.example"); got != "1" {
		t.Errorf("alice@new.example names %q, want 1", got)
	}
	if got := lookup("bob@otp.example"); got != "2" {
		t.Errorf("bob@otp.example names %q, want 2", got)
	}
	if got := lookup(strings.Repeat("a", 250) + "@example.com"); got != "" {
		t.Errorf("an overlong address names %q", got)
	}
}

// countingStore counts the write transactions of a real store.
type countingStore struct {
	store.Store
	updates int
}

func (c *countingStore) Update(fn func(store.Tx) error) error {
	c.updates++
	return c.Store.Update(fn)
}

func TestEmailIndexWritesOnce(t *testing.T) {
	f := newFixture(t)
	counting := &countingStore{Store: f.store}
	index := &account.EmailIndex{Store: counting}
	for range 5 {
		if err := index.Observe("1", "alice@example.com"); err != nil {
			t.Fatalf("Observe: %v", err)
		}
	}
	if counting.updates != 1 {
		t.Errorf("%d writes for one address, want 1", counting.updates)
	}
	// A restarted module reads the index once and writes nothing.
	restarted := &account.EmailIndex{Store: counting}
	if err := restarted.Observe("1", "ALICE@example.com"); err != nil {
		t.Fatalf("Observe: %v", err)
	}
	if counting.updates != 1 {
		t.Errorf("%d writes after a restart, want 1", counting.updates)
	}
}
