package gate_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
)

func TestSafeNext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/ok", "/ok"},
		{"/ok?x=1", "/ok?x=1"},
		{"/a/b?c=d&e=%20#frag", "/a/b?c=d&e=%20#frag"},
		{"/%41dmin", "/%41dmin"},
		{"//evil", "/"},
		{"//evil.example/x", "/"},
		{"/\\evil", "/"},
		{"/\\/evil", "/"},
		{"/%5cevil", "/"},
		{"/%5Cevil", "/"},
		{"/%2F/evil", "/"},
		{"/%2f%2fevil.example", "/"},
		{"/a\\b", "/"},
		{"/a%5cb", "/"},
		{"/\t/evil", "/"},
		{"/%09/evil", "/"},
		{"/a\nb", "/"},
		{"/a%0d%0aSet-Cookie:x", "/"},
		{"/a%00", "/"},
		{"/a%zz", "/"},
		{"https://evil", "/"},
		{"http:/evil", "/"},
		{"javascript:alert(1)", "/"},
		{"evil", "/"},
		{" /ok", "/"},
		{"\\\\evil", "/"},
	}
	for _, tt := range tests {
		if got := gate.SafeNext(tt.in); got != tt.want {
			t.Errorf("SafeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{
		"", "/", "/ok?x=1", "//evil", "/\\evil", "/%5cevil", "/%2F/evil", "https://evil",
		"javascript:", "/%2f%2fevil", "/\t/evil", "/%zz",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, next string) {
		got := gate.SafeNext(next)
		if got != "/" && got != next {
			t.Fatalf("SafeNext(%q) = %q, want %q or \"/\"", next, got, next)
		}
		if !strings.HasPrefix(got, "/") {
			t.Fatalf("SafeNext(%q) = %q, want a leading slash", next, got)
		}
		if len(got) > 1 && (got[1] == '/' || got[1] == '\\') {
			t.Fatalf("SafeNext(%q) = %q, which a browser reads as another host", next, got)
		}
		if strings.ContainsAny(got, "\\\t\r\n\x00") {
			t.Fatalf("SafeNext(%q) = %q, which contains a backslash or control byte", next, got)
		}
	})
}

func TestIsBrowserNavigation(t *testing.T) {
	tests := []struct {
		name, method string
		header       http.Header
		want         bool
	}{
		{"get navigate", "GET", http.Header{"Sec-Fetch-Mode": {"navigate"}}, true},
		{"head navigate", "HEAD", http.Header{"Sec-Fetch-Mode": {"navigate"}}, true},
		{"get html", "GET", http.Header{"Accept": {"text/html,application/xhtml+xml,*/*;q=0.8"}}, true},
		{"get html second", "GET", http.Header{"Accept": {"application/json, Text/HTML; q=0.5"}}, true},
		{"get html second header", "GET", http.Header{"Accept": {"application/json", "text/html"}}, true},
		{"post navigate", "POST", http.Header{"Sec-Fetch-Mode": {"navigate"}}, false},
		{"post html", "POST", http.Header{"Accept": {"text/html"}}, false},
		{"get cors", "GET", http.Header{"Sec-Fetch-Mode": {"cors"}}, false},
		{"get json", "GET", http.Header{"Accept": {"application/json"}}, false},
		{"get wildcard", "GET", http.Header{"Accept": {"*/*"}}, false},
		{"get text wildcard", "GET", http.Header{"Accept": {"text/*"}}, false},
		{"get html q zero", "GET", http.Header{"Accept": {"text/html;q=0, application/json"}}, false},
		{"get html q zero decimals", "GET", http.Header{"Accept": {"text/html; q=0.000"}}, false},
		{"get xhtml only", "GET", http.Header{"Accept": {"application/xhtml+xml"}}, false},
		{"get no headers", "GET", http.Header{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/app", nil)
			r.Header = tt.header
			if got := gate.IsBrowserNavigation(r); got != tt.want {
				t.Errorf("IsBrowserNavigation(%s %v) = %v, want %v", tt.method, tt.header, got, tt.want)
			}
		})
	}
}

func TestWantsHTMLPost(t *testing.T) {
	tests := []struct {
		header http.Header
		want   bool
	}{
		{http.Header{"Sec-Fetch-Mode": {"navigate"}}, true},
		{http.Header{"Accept": {"text/html"}}, true},
		{http.Header{"Accept": {"application/json"}}, false},
		{http.Header{"Sec-Fetch-Mode": {"same-origin"}}, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		r.Header = tt.header
		if got := gate.WantsHTML(r); got != tt.want {
			t.Errorf("WantsHTML(POST %v) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestChallengeRedirect(t *testing.T) {
	tests := []struct {
		name, requestURI, uiPath, want string
	}{
		{"path and query", "/app/page?x=1&y=2", "/user/2fa/ui",
			"/user/2fa/ui/challenge?next=" + url.QueryEscape("/app/page?x=1&y=2")},
		{"root", "/", "/user/2fa/ui", "/user/2fa/ui/challenge?next=%2F"},
		{"ui path trailing slash", "/a", "/user/2fa/ui/", "/user/2fa/ui/challenge?next=%2Fa"},
		{"asterisk", "*", "/user/2fa/ui", "/user/2fa/ui/challenge?next=%2F"},
		{"absolute form", "http://example.com/a", "/user/2fa/ui", "/user/2fa/ui/challenge?next=%2F"},
		{"double slash", "//evil.example/a", "/user/2fa/ui", "/user/2fa/ui/challenge?next=%2F"},
		{"empty", "", "/user/2fa/ui", "/user/2fa/ui/challenge?next=%2F"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RequestURI = tt.requestURI
			if got := gate.ChallengeRedirect(r, tt.uiPath); got != tt.want {
				t.Errorf("ChallengeRedirect(%q, %q) = %q, want %q", tt.requestURI, tt.uiPath, got, tt.want)
			}
		})
	}
}

// TestChallengeRedirectStrippedPrefix checks that a request whose r.URL was
// rewritten, as handle_path does, still redirects to its original URI.
func TestChallengeRedirectStrippedPrefix(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/legacy/page?id=7", nil)
	r.URL.Path = "/page"

	got := gate.ChallengeRedirect(r, "/user/2fa/ui")
	want := "/user/2fa/ui/challenge?next=" + url.QueryEscape("/legacy/page?id=7")
	if got != want {
		t.Errorf("ChallengeRedirect = %q, want %q", got, want)
	}
}

func TestPageRedirect(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/app", nil)
	got := gate.PageRedirect(r, "/user/2fa/ui", "enrol")
	if want := "/user/2fa/ui/enrol?next=%2Fapp"; got != want {
		t.Errorf("PageRedirect = %q, want %q", got, want)
	}
}
