package gate_test

import (
	"errors"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
)

func TestCanonicalizeValid(t *testing.T) {
	tests := []struct {
		name, in      string
		path, rawPath string
	}{
		{"empty", "", "/", "/"},
		{"root", "/", "/", "/"},
		{"plain", "/a/b", "/a/b", "/a/b"},
		{"trailing slash", "/a/b/", "/a/b/", "/a/b/"},
		{"dotdot", "/a/b/../c", "/a/c", "/a/c"},
		{"dotdot at end", "/a/b/..", "/a/", "/a/"},
		{"dotdot above root", "/..", "/", "/"},
		{"dotdot chain above root", "/a/../../../b", "/b", "/b"},
		{"dot", "/a/./b", "/a/b", "/a/b"},
		{"dot at end", "/a/.", "/a/", "/a/"},
		{"encoded dotdot lower", "/a/%2e%2e/b", "/b", "/b"},
		{"encoded dotdot upper", "/a/%2E%2E/b", "/b", "/b"},
		{"encoded dot first", "/a/%2E./b", "/b", "/b"},
		{"encoded dot second", "/a/.%2e/b", "/b", "/b"},
		{"encoded dot", "/a/%2e/b", "/a/b", "/a/b"},
		{"encoded dotdot above root", "/%2e%2e/%2e%2e/etc", "/etc", "/etc"},
		{"double slash", "/a//b", "/a/b", "/a/b"},
		{"leading slashes", "///a", "/a", "/a"},
		{"only slashes", "//", "/", "/"},
		{"trailing double slash", "/a//", "/a/", "/a/"},
		{"slashes around dotdot", "/a//..//b", "/b", "/b"},
		{"unreserved upper", "/%41dmin", "/Admin", "/Admin"},
		{"unreserved lower hex", "/%61dmin", "/admin", "/admin"},
		{"unreserved marks", "/%2D%5F%7E%2e", "/-_~.", "/-_~."},
		{"digit", "/v%31", "/v1", "/v1"},
		{"space", "/a%20b", "/a b", "/a%20b"},
		{"escape uppercased", "/a%3bb", "/a;b", "/a%3Bb"},
		{"encoded percent", "/a%25b", "/a%b", "/a%25b"},
		{"percent sign alone", "/100%25/x", "/100%/x", "/100%25/x"},
		{"parameters on segment", "/a;b/c", "/a;b/c", "/a;b/c"},
		{"parameters then dotdot", "/a;b/../c", "/c", "/c"},
		{"empty name parameters", "/a/;jsessionid=1", "/a/;jsessionid=1", "/a/;jsessionid=1"},
		{"dots in name", "/a/...", "/a/...", "/a/..."},
		{"dot prefix", "/a/.b/..c", "/a/.b/..c", "/a/.b/..c"},
		{"sub-delims kept", "/a!$&'()*+,=:@", "/a!$&'()*+,=:@", "/a!$&'()*+,=:@"},
		{"raw byte escaped", "/a\"b", "/a\"b", "/a%22b"},
		{"raw utf-8 escaped", "/caf\xc3\xa9", "/caf\xc3\xa9", "/caf%C3%A9"},
		{"encoded utf-8", "/caf%c3%a9", "/caf\xc3\xa9", "/caf%C3%A9"},
		{"latin-1 byte", "/caf%E9", "/caf\xe9", "/caf%E9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gate.Canonicalize(tt.in, false)
			if err != nil {
				t.Fatalf("Canonicalize(%q) error: %v", tt.in, err)
			}
			if got.Path != tt.path {
				t.Errorf("Canonicalize(%q).Path = %q, want %q", tt.in, got.Path, tt.path)
			}
			if got.RawPath != tt.rawPath {
				t.Errorf("Canonicalize(%q).RawPath = %q, want %q", tt.in, got.RawPath, tt.rawPath)
			}
		})
	}
}

func TestCanonicalizeInvalid(t *testing.T) {
	tests := []struct{ name, in string }{
		{"no leading slash", "a/b"},
		{"asterisk", "*"},
		{"absolute URI", "http://example.com/"},
		{"encoded slash lower", "/a/%2f/b"},
		{"encoded slash upper", "/a%2Fb"},
		{"encoded backslash lower", "/a%5cb"},
		{"encoded backslash upper", "/a%5Cb"},
		{"backslash", "/a\\b"},
		{"backslash dotdot", "/a/..\\..\\b"},
		{"NUL", "/a\x00b"},
		{"encoded NUL", "/a%00b"},
		{"double-encoded dots", "/%252e%252e/x"},
		{"double-encoded slash", "/a%252fb"},
		{"tab", "/a\tb"},
		{"newline", "/a\nb"},
		{"encoded newline", "/a%0Ab"},
		{"encoded control", "/a%1fb"},
		{"DEL", "/a\x7fb"},
		{"encoded DEL", "/a%7Fb"},
		{"invalid hex", "/a%zz"},
		{"invalid second hex", "/a%2g"},
		{"short escape", "/a%2"},
		{"bare percent", "/a%"},
		{"percent at end of segment", "/a%/b"},
		{"dotdot parameters", "/a/..;x/b"},
		{"dot parameters", "/a/.;x/b"},
		{"dotdot empty parameters", "/a/..;"},
		{"encoded dotdot parameters", "/a/%2e%2e;x/b"},
		{"dotdot encoded semicolon", "/a/..%3Bx/b"},
		{"dotdot parameters at root", "/..;/admin"},
		{"raw question mark", "/a?b"},
		{"raw hash", "/a#b"},
		{"overlong dot", "/a/%c0%ae%c0%ae/b"},
		{"overlong slash", "/a%c0%afb"},
		{"overlong three byte", "/a%e0%80%aeb"},
		{"overlong four byte", "/a%f0%80%80%aeb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gate.Canonicalize(tt.in, false)
			if !errors.Is(err, gate.ErrInvalidPath) {
				t.Fatalf("Canonicalize(%q) = %+v, %v; want ErrInvalidPath", tt.in, got, err)
			}
			if got != (gate.CanonicalPath{}) {
				t.Errorf("Canonicalize(%q) returned %+v with its error, want zero value", tt.in, got)
			}
		})
	}
}

func TestCanonicalizeEncodedSlash(t *testing.T) {
	valid := []struct{ in, path, rawPath string }{
		{"/a%2fb", "/a/b", "/a%2Fb"},
		{"/pkg/%40scope%2Fname", "/pkg/@scope/name", "/pkg/%40scope%2Fname"},
		{"/a%2F", "/a/", "/a%2F"},
		{"/a%2Fb/../c", "/c", "/c"},
	}
	for _, tt := range valid {
		got, err := gate.Canonicalize(tt.in, true)
		if err != nil {
			t.Errorf("Canonicalize(%q, true) error: %v", tt.in, err)
			continue
		}
		if got.Path != tt.path {
			t.Errorf("Canonicalize(%q, true).Path = %q, want %q", tt.in, got.Path, tt.path)
		}
		if got.RawPath != tt.rawPath {
			t.Errorf("Canonicalize(%q, true).RawPath = %q, want %q", tt.in, got.RawPath, tt.rawPath)
		}
	}

	invalid := []string{
		"/a/%2f/b",
		"/%2Fevil",
		"/a%2F%2Fb",
		"/a%2F/b",
		"/a%2F..%2Fb",
		"/a%2F.",
		"/public%2F..%2Fadmin",
		"/a%2F..;x",
		"/a%5Cb",
	}
	for _, in := range invalid {
		if got, err := gate.Canonicalize(in, true); !errors.Is(err, gate.ErrInvalidPath) {
			t.Errorf("Canonicalize(%q, true) = %+v, %v; want ErrInvalidPath", in, got, err)
		}
	}
}

func TestCanonicalizeErrorMessage(t *testing.T) {
	_, err := gate.Canonicalize("/secret-token/%2f", false)
	if err == nil {
		t.Fatal("Canonicalize error = nil, want an error")
	}
	if !strings.HasPrefix(err.Error(), "invalid request path: ") {
		t.Errorf("error = %q, want prefix %q", err, "invalid request path: ")
	}
	if strings.Contains(err.Error(), "secret-token") {
		t.Errorf("error = %q, want no part of the path in it", err)
	}
}

func TestMatchPrefix(t *testing.T) {
	tests := []struct {
		path, prefix string
		want         bool
	}{
		{"/user/2fa", "/user/2fa", true},
		{"/User/2FA/", "/user/2fa", true},
		{"/user/2fa;x/totp", "/user/2fa", true},
		{"/user/2fa/totp", "/user/2fa", true},
		{"/user/2fa", "/user/2fa/", true},
		{"/user;jsessionid=1/2fa", "/user/2fa", true},
		{"/user/;x/2fa", "/user/2fa", true},
		{"/user/2faX", "/user/2fa", false},
		{"/user/2f", "/user/2fa", false},
		{"/user", "/user/2fa", false},
		{"/", "/user/2fa", false},
		{"/other/user/2fa", "/user/2fa", false},
		{"/anything", "/", true},
		{"/", "/", true},
		{"/static/app.css", "/static;v=1", true},
	}
	for _, tt := range tests {
		if got := gate.MatchPrefix(tt.path, tt.prefix); got != tt.want {
			t.Errorf("MatchPrefix(%q, %q) = %v, want %v", tt.path, tt.prefix, got, tt.want)
		}
	}
}

func TestMatchExact(t *testing.T) {
	tests := []struct {
		path, route string
		want        bool
	}{
		{"/user/password/otp", "/user/password/otp", true},
		{"/USER/Password/OTP/", "/user/password/otp", true},
		{"/user/password/otp;x", "/user/password/otp", true},
		{"/user;x/password/otp", "/user/password/otp", true},
		{"/user/password/otp/;jsessionid=1", "/user/password/otp", true},
		{"/user/password/otp", "/user/password/otp/", true},
		{"/user/password/otp/x", "/user/password/otp", false},
		{"/user/password", "/user/password/otp", false},
		{"/user/password/otpx", "/user/password/otp", false},
		{"/", "/", true},
		{"/a", "/", false},
		{"/", "/a", false},
	}
	for _, tt := range tests {
		if got := gate.MatchExact(tt.path, tt.route); got != tt.want {
			t.Errorf("MatchExact(%q, %q) = %v, want %v", tt.path, tt.route, got, tt.want)
		}
	}
}

// FuzzCanonicalize checks the invariants of a canonical path on every input
// that Canonicalize accepts.
func FuzzCanonicalize(f *testing.F) {
	seeds := []string{
		"", "/", "/a/b/", "/a/../../b", "/%2e%2e/x", "/%2E./x", "/.%2e/x", "//a",
		"///a", "/a/./b", "/a/b/..", "/a/%2f/b", "/a%2Fb", "/%5c", "/\\", "/%00",
		"/%zz", "/%", "/..;x", "/.;x", "/%2e%2e;x", "/a;b/c", "/%41dmin", "/a%20b",
		"/a%3bb", "/%252e", "/a/;x/../b", "/caf%c3%a9", "/%c0%ae", "/a\"<>",
	}
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
	}

	f.Fuzz(func(t *testing.T, in string, allowEncodedSlash bool) {
		got, err := gate.Canonicalize(in, allowEncodedSlash)
		if err != nil {
			if !errors.Is(err, gate.ErrInvalidPath) {
				t.Fatalf("Canonicalize(%q) error %v does not wrap ErrInvalidPath", in, err)
			}
			return
		}
		checkCanonical(t, in, got, allowEncodedSlash)

		again, err := gate.Canonicalize(got.RawPath, allowEncodedSlash)
		if err != nil {
			t.Fatalf("Canonicalize(%q) of its own RawPath error: %v", got.RawPath, err)
		}
		if again != got {
			t.Fatalf("Canonicalize(%q) = %+v, but again on RawPath = %+v", in, got, again)
		}
	})
}

// checkCanonical checks one accepted result against the invariants of
// CanonicalPath.
func checkCanonical(t *testing.T, in string, got gate.CanonicalPath, allowEncodedSlash bool) {
	t.Helper()
	for _, p := range []string{got.Path, got.RawPath} {
		if !strings.HasPrefix(p, "/") {
			t.Fatalf("Canonicalize(%q) gave %q, want a leading slash", in, p)
		}
		if strings.Contains(p, "//") {
			t.Fatalf("Canonicalize(%q) gave %q, which contains \"//\"", in, p)
		}
		for _, seg := range strings.Split(p, "/") {
			name, _, _ := strings.Cut(seg, ";")
			if name == "." || name == ".." {
				t.Fatalf("Canonicalize(%q) gave %q with dot segment %q", in, p, seg)
			}
		}
		if strings.ContainsAny(p, "\\\x00") {
			t.Fatalf("Canonicalize(%q) gave %q, which contains a backslash or NUL", in, p)
		}
	}

	decoded, err := url.PathUnescape(got.RawPath)
	if err != nil {
		t.Fatalf("RawPath %q does not decode: %v", got.RawPath, err)
	}
	if decoded != got.Path {
		t.Fatalf("RawPath %q decodes to %q, want Path %q", got.RawPath, decoded, got.Path)
	}

	if cleaned := path.Clean(got.Path); cleaned != strings.TrimSuffix(got.Path, "/") &&
		cleaned != got.Path {
		t.Fatalf("path.Clean(%q) = %q, want the same path", got.Path, cleaned)
	}
	if !allowEncodedSlash && strings.Contains(got.RawPath, "%2F") {
		t.Fatalf("RawPath %q contains %%2F without allowEncodedSlash", got.RawPath)
	}
}

func TestCanonicalizeShortFuzz(t *testing.T) {
	if testing.Short() {
		t.Skip("random inputs skipped in -short mode")
	}
	alphabet := []string{"/", ".", "%2e", "%2E", "%2f", "%", "a", "A", ";", "%3b", "\\", "%5c", "x"}
	state := uint64(1)
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		b.WriteString("/")
		for n := int(i%12) + 1; n > 0; n-- {
			state = state*6364136223846793005 + 1442695040888963407
			b.WriteString(alphabet[(state>>33)%uint64(len(alphabet))])
		}
		in := b.String()
		for _, allow := range []bool{false, true} {
			got, err := gate.Canonicalize(in, allow)
			if err != nil {
				continue
			}
			checkCanonical(t, in, got, allow)
		}
	}
}

func TestCanonicalizeDoubleEncodingSplit(t *testing.T) {
	for _, in := range []string{"/a%25%41%42", "/a%2541", "/%25%32%65"} {
		if _, err := gate.Canonicalize(in, false); err == nil {
			t.Errorf("Canonicalize(%q) accepted a path that decodes to an escape", in)
		}
	}
}

func TestMatchExactTurkishI(t *testing.T) {
	for _, path := range []string{"/user/password/reset/val\u0131date", "/user/password/reset/VAL\u0130DATE"} {
		if !gate.MatchExact(path, "/user/password/reset/validate") {
			t.Errorf("MatchExact(%q) = false, want true: apps may route it as validate", path)
		}
	}
}
