package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestFormLoginSetsCookies(t *testing.T) {
	app := newTestApp(t, nil)
	resp := app.request("POST", "/login", url.Values{"username": {"alice"}, "password": {"alice-password"}}, nil)

	if resp.Status != http.StatusSeeOther {
		t.Fatalf("status = %d, want 303", resp.Status)
	}
	if got := resp.Header.Get("Location"); got != "/dashboard" {
		t.Errorf("Location = %q, want /dashboard", got)
	}
	for _, name := range []string{"session", rememberCookieName} {
		c, ok := resp.Cookie(name)
		if !ok {
			t.Errorf("cookie %s not set", name)
			continue
		}
		if !c.HttpOnly {
			t.Errorf("cookie %s: HttpOnly = false, want true", name)
		}
		if c.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %s: SameSite = %v, want Lax", name, c.SameSite)
		}
		if c.Path != "/" {
			t.Errorf("cookie %s: Path = %q, want /", name, c.Path)
		}
		if len(c.Value) != 43 {
			t.Errorf("cookie %s: value length = %d, want 43 (32 bytes base64url)", name, len(c.Value))
		}
	}
	session, _ := resp.Cookie("session")
	remember, _ := resp.Cookie(rememberCookieName)
	if session.Value == remember.Value {
		t.Error("session and remember-me cookies have the same value")
	}
}

func TestFormLoginNext(t *testing.T) {
	tests := []struct {
		next string
		want string
	}{
		{"/settings", "/settings"},
		{"/reports/annual?year=2024", "/reports/annual?year=2024"},
		{"", "/dashboard"},
		{"//evil.example", "/dashboard"},
		{`/\evil.example`, "/dashboard"},
		{"https://evil.example/", "/dashboard"},
		{"/\t/evil.example", "/dashboard"},
		{"settings", "/dashboard"},
	}
	app := newTestApp(t, nil)
	for _, tt := range tests {
		t.Run(tt.next, func(t *testing.T) {
			form := url.Values{"username": {"bob"}, "password": {"bob-password"}, "next": {tt.next}}
			resp := app.request("POST", "/login", form, nil)
			if resp.Status != http.StatusSeeOther {
				t.Fatalf("status = %d, want 303", resp.Status)
			}
			if got := resp.Header.Get("Location"); got != tt.want {
				t.Errorf("Location = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFormLoginFailure(t *testing.T) {
	tests := []struct {
		name     string
		username string
		password string
	}{
		{"wrong password", "alice", "bob-password"},
		{"unknown user", "mallory", "alice-password"},
		{"username case", "Alice", "alice-password"},
		{"empty", "", ""},
	}
	app := newTestApp(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"username": {tt.username}, "password": {tt.password}, "next": {"/settings"}}
			resp := app.request("POST", "/login", form, nil)
			if resp.Status != http.StatusOK {
				t.Errorf("status = %d, want 200", resp.Status)
			}
			if !strings.Contains(resp.Body, "Invalid username or password.") {
				t.Errorf("body has no error message:\n%s", resp.Body)
			}
			if !strings.Contains(resp.Body, `name="next" value="/settings"`) {
				t.Errorf("body does not keep next:\n%s", resp.Body)
			}
			if _, ok := resp.Cookie("session"); ok {
				t.Error("failed login set a session cookie")
			}
		})
	}
}

func TestLoginPageKeepsNext(t *testing.T) {
	app := newTestApp(t, nil)
	resp := app.request("GET", "/login?next=%2Freports%2Fannual%3F%22x", nil, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.Status)
	}
	if !strings.Contains(resp.Body, `value="/reports/annual?&#34;x"`) {
		t.Errorf("form does not carry next, escaped:\n%s", resp.Body)
	}
}

func TestPagesAnonymousRedirect(t *testing.T) {
	tests := []struct {
		path string
		want string
	}{
		{"/dashboard", "/login?next=%2Fdashboard"},
		{"/settings", "/login?next=%2Fsettings"},
		{"/reports/annual", "/login?next=%2Freports%2Fannual"},
		{"/admin", "/login?next=%2Fadmin"},
		{"/reports/annual?year=2024", "/login?next=%2Freports%2Fannual%3Fyear%3D2024"},
	}
	app := newTestApp(t, nil)
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp := app.request("GET", tt.path, nil, nil)
			if resp.Status != http.StatusFound {
				t.Errorf("status = %d, want 302", resp.Status)
			}
			if got := resp.Header.Get("Location"); got != tt.want {
				t.Errorf("Location = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPagesCarriers(t *testing.T) {
	app := newTestApp(t, nil)
	session, remember := app.formLogin("alice", "alice-password")
	tokens, _ := app.apiLogin("alice", "alice-password")

	carriers := []struct {
		name    string
		cookies []*http.Cookie
		headers []string
	}{
		{"session cookie", []*http.Cookie{session}, nil},
		{"remember-me cookie", []*http.Cookie{remember}, nil},
		{"bearer token", nil, bearer(tokens.AccessToken)},
	}
	pages := []struct {
		path    string
		heading string
	}{
		{"/dashboard", "<h1>Dashboard</h1>"},
		{"/settings", "<h1>Settings</h1>"},
		{"/reports/annual", "<h1>Annual report</h1>"},
		{"/admin", "<h1>Admin</h1>"},
	}
	for _, c := range carriers {
		for _, p := range pages {
			t.Run(c.name+p.path, func(t *testing.T) {
				resp := app.request("GET", p.path, nil, c.cookies, c.headers...)
				if resp.Status != http.StatusOK {
					t.Fatalf("status = %d, want 200", resp.Status)
				}
				if !strings.Contains(resp.Body, p.heading) {
					t.Errorf("body lacks %s:\n%s", p.heading, resp.Body)
				}
				if !strings.Contains(resp.Body, "Logged in as alice") {
					t.Errorf("body lacks the user marker:\n%s", resp.Body)
				}
			})
		}
	}
}

func TestAdminForbiddenToOthers(t *testing.T) {
	app := newTestApp(t, nil)
	session, _ := app.formLogin("bob", "bob-password")
	resp := app.request("GET", "/admin", nil, []*http.Cookie{session})
	if resp.Status != http.StatusForbidden {
		t.Errorf("status = %d, want 403", resp.Status)
	}
	if strings.Contains(resp.Body, "<h1>Admin</h1>") {
		t.Errorf("body shows the admin page:\n%s", resp.Body)
	}
}

func TestHomePage(t *testing.T) {
	app := newTestApp(t, nil)
	resp := app.request("GET", "/", nil, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("anonymous: status = %d, want 200", resp.Status)
	}
	if !strings.Contains(resp.Body, "Not logged in") {
		t.Errorf("anonymous: body lacks Not logged in:\n%s", resp.Body)
	}

	session, _ := app.formLogin("carol", "carol-password")
	resp = app.request("GET", "/", nil, []*http.Cookie{session})
	if !strings.Contains(resp.Body, "Logged in as carol") {
		t.Errorf("logged in: body lacks Logged in as carol:\n%s", resp.Body)
	}
}

// TestServeMuxPaths pins the path handling that the proxy in front relies
// on: http.ServeMux's own cleaning, redirects and 404s.
func TestServeMuxPaths(t *testing.T) {
	tests := []struct {
		method   string
		path     string
		want     int
		location string
	}{
		{"GET", "/nope", http.StatusNotFound, ""},
		{"GET", "/dashboard/", http.StatusNotFound, ""},
		{"GET", "/reports", http.StatusNotFound, ""},
		{"GET", "/index.php", http.StatusNotFound, ""},
		{"GET", "/reports/../dashboard", http.StatusTemporaryRedirect, "/dashboard"},
		{"GET", "//dashboard", http.StatusTemporaryRedirect, "/dashboard"},
		{"GET", "/reports/./annual", http.StatusTemporaryRedirect, "/reports/annual"},
		{"GET", "/%64ashboard", http.StatusFound, "/login?next=%2F%2564ashboard"},
		{"DELETE", "/dashboard", http.StatusMethodNotAllowed, ""},
		{"GET", "/logout", http.StatusMethodNotAllowed, ""},
	}
	app := newTestApp(t, nil)
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp := app.request(tt.method, tt.path, nil, nil)
			if resp.Status != tt.want {
				t.Errorf("status = %d, want %d", resp.Status, tt.want)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
		})
	}
}

func TestIsLocalPath(t *testing.T) {
	tests := []struct {
		next string
		want bool
	}{
		{"/", true},
		{"/dashboard?x=1#top", true},
		{"", false},
		{"dashboard", false},
		{"//evil.example", false},
		{`/\evil.example`, false},
		{`/a\b`, false},
		{"/\r\n/evil.example", false},
		{"/a\x7f", false},
		{"http://evil.example", false},
	}
	for _, tt := range tests {
		if got := isLocalPath(tt.next); got != tt.want {
			t.Errorf("isLocalPath(%q) = %v, want %v", tt.next, got, tt.want)
		}
	}
}

func FuzzIsLocalPath(f *testing.F) {
	for _, seed := range []string{"/", "/dashboard?x=1", "//evil", `/\evil`, "/\t/evil", "http://evil", "/%2F/evil", "/.//evil"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, next string) {
		if !isLocalPath(next) {
			return
		}
		u, err := url.Parse(next)
		if err != nil {
			return
		}
		if u.Scheme != "" || u.Host != "" {
			t.Errorf("isLocalPath(%q) = true, but it parses with scheme %q and host %q", next, u.Scheme, u.Host)
		}
	})
}
