package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/testkit"
)

// secretCookie is the credential in introspection tests; no error may carry it.
const secretCookie = "sid=s3cr3t-session-value"

// appServer is a stand-in for the app's introspection endpoint on loopback.
type appServer struct {
	*httptest.Server
	calls atomic.Int64
}

func newAppServer(t *testing.T, handler http.HandlerFunc) *appServer {
	t.Helper()
	app := &appServer{}
	app.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app.calls.Add(1)
		handler(w, r)
	}))
	t.Cleanup(app.Close)
	return app
}

// respondJSON returns a handler that writes status and a JSON body.
func respondJSON(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

// fakeClock is the shared fake clock of the tests.
type fakeClock = testkit.Clock

func newIntrospect(t *testing.T, cfg IntrospectConfig) *Introspect {
	t.Helper()
	source, err := NewIntrospect(cfg)
	if err != nil {
		t.Fatalf("NewIntrospect: %v", err)
	}
	return source
}

func durationPtr(d time.Duration) *time.Duration { return &d }

// resolveCookie resolves a request carrying cookie.
func resolveCookie(source *Introspect, cookie string) (Result, error) {
	r := requestWith(http.Header{"Cookie": {cookie}})
	return source.Resolve(context.Background(), r, Credentials{Any: true})
}

func TestIntrospectAnswers(t *testing.T) {
	huge := `{"id": "u1", "pad": "` + strings.Repeat("x", MaxIntrospectBody) + `"}`
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		cfg       IntrospectConfig
		want      *Identity // nil: not logged in
		wantError bool
	}{
		{name: "string id", handler: respondJSON(200, `{"id": "u1", "email": "a@example.com"}`),
			want: &Identity{UserID: "u1", Email: "a@example.com"}},
		{name: "numeric id", handler: respondJSON(200, `{"id": 42}`), want: &Identity{UserID: "42"}},
		{name: "numeric id with exponent", handler: respondJSON(200, `{"id": 4.2e1}`),
			want: &Identity{UserID: "42"}},
		{name: "numeric id beyond float64", handler: respondJSON(200, `{"id": 12345678901234567891}`),
			want: &Identity{UserID: "12345678901234567891"}},
		{name: "nested fields", handler: respondJSON(200, `{"query": {"userinfo": {"id": 7, "mail": "m@example.com"}}}`),
			cfg:  IntrospectConfig{UserField: "query.userinfo.id", EmailField: "query.userinfo.mail"},
			want: &Identity{UserID: "7", Email: "m@example.com"}},
		{name: "email not a string", handler: respondJSON(200, `{"id": "u1", "email": 5}`),
			want: &Identity{UserID: "u1"}},
		{name: "201", handler: respondJSON(201, `{"id": "u1"}`), want: &Identity{UserID: "u1"}},
		{name: "401", handler: respondJSON(401, `{"error": "login"}`)},
		{name: "403", handler: respondJSON(403, ``)},
		{name: "anonymous id", handler: respondJSON(200, `{"id": 0}`), cfg: IntrospectConfig{AnonymousID: []string{"0"}}},
		{name: "anonymous id spelled 0.0", handler: respondJSON(200, `{"id": 0.0}`),
			cfg: IntrospectConfig{AnonymousID: []string{"0"}}},
		{name: "id 0 without anonymous id", handler: respondJSON(200, `{"id": 0}`), wantError: true},
		{name: "string id 0 without anonymous id", handler: respondJSON(200, `{"id": "0"}`), wantError: true},
		{name: "204", handler: respondJSON(204, ``), wantError: true},
		{name: "204 anonymous", handler: respondJSON(204, ``), cfg: IntrospectConfig{AnonymousStatus: []int{204}}},
		{name: "401 not anonymous", handler: respondJSON(401, ``),
			cfg: IntrospectConfig{AnonymousStatus: []int{204}}, wantError: true},
		{name: "missing id", handler: respondJSON(200, `{"email": "a@example.com"}`), wantError: true},
		{name: "null id", handler: respondJSON(200, `{"id": null}`), wantError: true},
		{name: "empty id", handler: respondJSON(200, `{"id": ""}`), wantError: true},
		{name: "bool id", handler: respondJSON(200, `{"id": true}`), wantError: true},
		{name: "fractional id", handler: respondJSON(200, `{"id": 1.5}`), wantError: true},
		{name: "array body", handler: respondJSON(200, `[{"id": 1}]`), wantError: true},
		{name: "not JSON", handler: respondJSON(200, `<html>login</html>`), wantError: true},
		{name: "two JSON values", handler: respondJSON(200, `{"id": 1} {"id": 2}`), wantError: true},
		{name: "empty body", handler: respondJSON(200, ``), wantError: true},
		{name: "body over 1 MiB", handler: respondJSON(200, huge), wantError: true},
		{name: "404", handler: respondJSON(404, `{"id": "u1"}`), wantError: true},
		{name: "500", handler: respondJSON(500, `{"id": "u1"}`), wantError: true},
		{name: "redirect", handler: redirectThenAnswer, wantError: true},
		{name: "redirect anonymous", handler: redirectThenAnswer,
			cfg: IntrospectConfig{AnonymousStatus: []int{302}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newAppServer(t, tt.handler)
			tt.cfg.URL = app.URL + "/me"
			result, err := resolveCookie(newIntrospect(t, tt.cfg), secretCookie)

			if gotError := err != nil; gotError != tt.wantError {
				t.Fatalf("Resolve error = %v, want error %v", err, tt.wantError)
			}
			if err != nil {
				checkUnavailable(t, err)
				return
			}
			if !reflect.DeepEqual(result.Identity, tt.want) {
				t.Errorf("Identity = %+v, want %+v", result.Identity, tt.want)
			}
			if len(result.Rejected) != 0 {
				t.Errorf("Rejected = %v, want none", result.Rejected)
			}
		})
	}
}

// redirectThenAnswer redirects /me to /me2, which returns a logged-in user,
// so a client that followed the redirect would pass the check.
func redirectThenAnswer(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/me" {
		http.Redirect(w, r, "/me2", http.StatusFound)
		return
	}
	respondJSON(200, `{"id": "u1"}`)(w, r)
}

func checkUnavailable(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("error = %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error = %q, want no credential in it", err)
	}
}

func TestIntrospectTimeout(t *testing.T) {
	app := newAppServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	source := newIntrospect(t, IntrospectConfig{URL: app.URL, Timeout: 50 * time.Millisecond})

	_, err := resolveCookie(source, secretCookie)
	if err == nil {
		t.Fatal("Resolve error = nil, want a timeout")
	}
	checkUnavailable(t, err)
}

func TestIntrospectConnectionRefused(t *testing.T) {
	app := newAppServer(t, respondJSON(200, `{"id": "u1"}`))
	source := newIntrospect(t, IntrospectConfig{URL: app.URL})
	app.Close()

	_, err := resolveCookie(source, secretCookie)
	if err == nil {
		t.Fatal("Resolve error = nil, want a connection error")
	}
	checkUnavailable(t, err)
}

func TestIntrospectSendsOnlyCredentials(t *testing.T) {
	var got *http.Request
	app := newAppServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		respondJSON(200, `{"id": "u1"}`)(w, r)
	})
	source := newIntrospect(t, IntrospectConfig{URL: app.URL + "/me?x=1"})

	r := requestWith(http.Header{
		"Cookie":          {"sid=a; theme=dark", "other=b"},
		"Authorization":   {"Basic dTpw"},
		"X-Forwarded-For": {"203.0.113.9"},
		"X-Sudo-Token":    {"sudo_abc"},
	})
	if _, err := source.Resolve(context.Background(), r, Credentials{Any: true}); err != nil {
		t.Fatalf("Resolve error = %v, want nil", err)
	}

	if got.Method != http.MethodGet || got.URL.RequestURI() != "/me?x=1" {
		t.Errorf("request = %s %s, want GET /me?x=1", got.Method, got.URL.RequestURI())
	}
	if want := []string{"sid=a; theme=dark", "other=b"}; !reflect.DeepEqual(got.Header["Cookie"], want) {
		t.Errorf("Cookie = %q, want %q", got.Header["Cookie"], want)
	}
	if want := []string{"Basic dTpw"}; !reflect.DeepEqual(got.Header["Authorization"], want) {
		t.Errorf("Authorization = %q, want %q", got.Header["Authorization"], want)
	}
	for _, name := range []string{"X-Forwarded-For", "X-Sudo-Token"} {
		if value := got.Header.Get(name); value != "" {
			t.Errorf("%s = %q, want not sent", name, value)
		}
	}
}

func TestIntrospectWithoutCredentials(t *testing.T) {
	app := newAppServer(t, respondJSON(200, `{"id": "u1"}`))
	source := newIntrospect(t, IntrospectConfig{URL: app.URL})
	tests := []struct {
		name   string
		header http.Header
	}{
		{"no headers", http.Header{"Accept": {"*/*"}}},
		{"sudo token only", http.Header{"Authorization": {"Bearer sudo_abc"}}},
		{"partial token only", http.Header{"Authorization": {"Bearer partial_abc"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			result, err := source.Resolve(context.Background(), requestWith(tt.header), Credentials{})
			if err != nil || result.Identity != nil {
				t.Errorf("Resolve = %+v, %v, want not logged in", result.Identity, err)
			}
		})
	}
	if calls := app.calls.Load(); calls != 0 {
		t.Errorf("calls = %d, want 0", calls)
	}
}

func TestIntrospectModuleTokenNotSent(t *testing.T) {
	var got http.Header
	app := newAppServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		respondJSON(200, `{"id": "u1"}`)(w, r)
	})
	source := newIntrospect(t, IntrospectConfig{URL: app.URL})

	r := requestWith(http.Header{"Cookie": {"sid=a"}, "Authorization": {"Bearer sudo_abc"}})
	if _, err := source.Resolve(context.Background(), r, Credentials{Any: true}); err != nil {
		t.Fatalf("Resolve error = %v, want nil", err)
	}
	if value := got.Get("Authorization"); value != "" {
		t.Errorf("Authorization = %q, want not sent", value)
	}
}

func TestNewIntrospectErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  IntrospectConfig
	}{
		{"no URL", IntrospectConfig{}},
		{"relative URL", IntrospectConfig{URL: "/me"}},
		{"other scheme", IntrospectConfig{URL: "ftp://127.0.0.1/me"}},
		{"invalid URL", IntrospectConfig{URL: "http://127.0.0.1:bad/"}},
		{"negative timeout", IntrospectConfig{URL: "http://127.0.0.1/", Timeout: -time.Second}},
		{"negative cache", IntrospectConfig{URL: "http://127.0.0.1/", Cache: durationPtr(-time.Second)}},
		{"negative entries", IntrospectConfig{URL: "http://127.0.0.1/", CacheEntries: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewIntrospect(tt.cfg); err == nil {
				t.Error("NewIntrospect error = nil, want an error")
			}
		})
	}
}
