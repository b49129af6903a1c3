package gate

import (
	"net/http"
	"slices"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

func TestCheckNoCredential(t *testing.T) {
	f := newGateFixture(t)
	r := request(http.MethodGet, "/docs", "theme=dark")
	r.Header.Set("X-Other", "kept")

	wantPass(t, f.check(r))
	if f.source.calls != 0 {
		t.Errorf("identity source called %d times for a request without a credential", f.source.calls)
	}
	if got := r.Header.Get("Cookie"); got != "theme=dark" {
		t.Errorf("Cookie = %q, want theme=dark untouched", got)
	}
	if got := r.Header.Get("X-Other"); got != "kept" {
		t.Errorf("X-Other = %q, want it kept", got)
	}
}

func TestCheckNotLoggedIn(t *testing.T) {
	f := newGateFixture(t)
	r := request(http.MethodGet, "/docs", "sid=expired; theme=dark")
	wantPass(t, f.check(r))
	if got := r.Header.Get("Cookie"); got != "theme=dark" {
		t.Errorf("Cookie = %q, want the rejected carrier removed", got)
	}
}

func TestCheckUserWithoutMethod(t *testing.T) {
	f := newGateFixture(t)
	wantPass(t, f.check(request(http.MethodGet, "/docs", "sid=sid-bob")))

	f.gate.EnforceRequired = true
	d := f.check(request(http.MethodPost, "/docs", "sid=sid-bob"))
	wantDecisionError(t, d, http.StatusForbidden, api.CodeEnrollmentRequired)

	navigation := request(http.MethodGet, "/docs?a=1", "sid=sid-bob")
	navigation.Header.Set("Sec-Fetch-Mode", "navigate")
	d = f.check(navigation)
	if want := "/user/2fa/ui/enroll?next=%2Fdocs%3Fa%3D1"; d.Redirect != want || d.Error != nil {
		t.Errorf("navigation: redirect %q, error %v, want %q", d.Redirect, d.Error, want)
	}
}

func TestCheck2FARequired(t *testing.T) {
	f := newGateFixture(t)
	f.enable("alice")

	d := f.check(request(http.MethodGet, "/docs", "sid=sid-alice"))
	wantDecisionError(t, d, http.StatusUnauthorized, api.Code2FARequired)
	if d.Error != nil && !slices.Equal(d.Error.Methods, []string{"totp", "recoveryCode"}) {
		t.Errorf("methods = %v, want [totp recoveryCode]", d.Error.Methods)
	}
}

func TestCheckBrowserNavigation(t *testing.T) {
	tests := []struct {
		name, method, target string
		header               map[string]string
		redirect             string // empty: a 401
	}{
		{"navigate", http.MethodGet, "/docs/a?b=1&c=%20", map[string]string{"Sec-Fetch-Mode": "navigate"},
			"/user/2fa/ui/challenge?next=%2Fdocs%2Fa%3Fb%3D1%26c%3D%2520"},
		{"accept html", http.MethodGet, "/docs", map[string]string{"Accept": "text/html,*/*;q=0.8"},
			"/user/2fa/ui/challenge?next=%2Fdocs"},
		{"head", http.MethodHead, "/", map[string]string{"Accept": "text/html"},
			"/user/2fa/ui/challenge?next=%2F"},
		{"post form", http.MethodPost, "/docs", map[string]string{"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}, ""},
		{"api client", http.MethodGet, "/docs", map[string]string{"Accept": "*/*"}, ""},
		{"html refused", http.MethodGet, "/docs", map[string]string{"Accept": "text/html;q=0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGateFixture(t)
			f.enable("alice")
			r := request(tt.method, tt.target, "sid=sid-alice")
			for name, value := range tt.header {
				r.Header.Set(name, value)
			}
			d := f.check(r)
			if tt.redirect == "" {
				wantDecisionError(t, d, http.StatusUnauthorized, api.Code2FARequired)
				return
			}
			if d.Redirect != tt.redirect || d.Error != nil {
				t.Errorf("redirect %q, error %v, want %q", d.Redirect, d.Error, tt.redirect)
			}
		})
	}
}

func TestCheckRedirectNextFromRequestURI(t *testing.T) {
	// handle_path rewrites r.URL, so next comes from the original URI, and
	// an unsafe one becomes "/".
	tests := []struct{ requestURI, next string }{
		{"/app/docs?x=1", "%2Fapp%2Fdocs%3Fx%3D1"},
		{"//evil.example/x", "%2F"},
		{"/\\evil.example", "%2F"},
		{"http://evil.example/x", "%2F"},
	}
	for _, tt := range tests {
		f := newGateFixture(t)
		f.enable("alice")
		r := request(http.MethodGet, "/docs", "sid=sid-alice")
		r.RequestURI = tt.requestURI
		r.Header.Set("Sec-Fetch-Mode", "navigate")
		d := f.check(r)
		if want := "/user/2fa/ui/challenge?next=" + tt.next; d.Redirect != want {
			t.Errorf("RequestURI %q: redirect %q, want %q", tt.requestURI, d.Redirect, want)
		}
	}
}

func TestCheckReportMode(t *testing.T) {
	f := newGateFixture(t)
	f.gate.Report = true
	f.gate.EnforceRequired = true
	f.enable("alice")

	for _, tt := range []struct{ cookie, message string }{
		{"sid=sid-alice", api.Code2FARequired},
		{"sid=sid-bob", api.CodeEnrollmentRequired},
	} {
		r := request(http.MethodGet, "/docs", tt.cookie)
		r.Header.Set("Sec-Fetch-Mode", "navigate")
		wantPass(t, f.check(r))

		entries := f.logs.FilterMessage("report mode: request would be stopped").
			FilterField(zap.String("message", tt.message)).All()
		if len(entries) != 1 {
			t.Errorf("%s: %d report log lines with %s, want 1", tt.cookie, len(entries), tt.message)
			continue
		}
		if entries[0].Level != zapcore.WarnLevel {
			t.Errorf("report log level = %v, want warn", entries[0].Level)
		}
	}
}

func TestCheckVerifiedSession(t *testing.T) {
	f := newGateFixture(t)
	f.enable("alice")
	r := request(http.MethodGet, "/docs", "sid=sid-alice; twofactor=module-1")
	res := f.resolve(r)
	f.verify("alice", res.Caller.SessionKey, account.MethodRecoveryCode)

	d := f.gate.Check(r, res)
	if d.Error != nil || d.Redirect != "" {
		t.Fatalf("decision = %+v (error %v), want a pass", d, d.Error)
	}
	if d.UserID != "alice" || d.Method != account.MethodRecoveryCode {
		t.Errorf("UserID, Method = %q, %q, want alice, recoveryCode", d.UserID, d.Method)
	}
	if got := r.Header.Get("Cookie"); got != "sid=sid-alice" {
		t.Errorf("forwarded Cookie = %q, want the module cookie removed", got)
	}
}

func TestCheckSessionNeedsModuleCookie(t *testing.T) {
	// A cookie session is verified only with the module cookie it was
	// verified with, and only for the same app cookie.
	f := newGateFixture(t)
	f.enable("alice")
	res := f.resolve(request(http.MethodGet, "/", "sid=sid-alice; twofactor=module-1"))
	f.verify("alice", res.Caller.SessionKey, account.MethodTOTP)

	for _, cookie := range []string{
		"sid=sid-alice",
		"sid=sid-alice; twofactor=module-2",
		"sid=sid-alice; __Host-twofactor=module-1",
		"sid=sid-alice-2; twofactor=module-1",
	} {
		d := f.check(request(http.MethodGet, "/docs", cookie))
		if d.Error == nil || d.Error.Message != api.Code2FARequired {
			t.Errorf("%s: decision %+v, want 2FA_REQUIRED", cookie, d)
		}
	}
}

func TestCheckPartialToken(t *testing.T) {
	f := newGateFixture(t)
	r := request(http.MethodGet, "/docs", "")
	r.Header.Set("Authorization", "Bearer partial_abc")
	wantDecisionError(t, f.check(r), http.StatusUnauthorized, api.CodeInvalidToken)
	if got := r.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want the partial token removed", got)
	}
}

func TestCheckSudoTokenAlone(t *testing.T) {
	// A sudo token is no app credential: alone, the request goes on as
	// anonymous, and the token does not reach the app.
	f := newGateFixture(t)
	f.enable("alice")
	sudo := f.mintSudo("alice", "some-session", account.MethodTOTP)
	r := request(http.MethodGet, "/docs", "")
	r.Header.Set("Authorization", "Bearer "+sudo)

	wantPass(t, f.check(r))
	if got := r.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want the sudo token removed", got)
	}
}

func TestCheckStoreUnavailable(t *testing.T) {
	f := newGateFixture(t)
	r := request(http.MethodGet, "/docs", "sid=sid-alice; twofactor=module-1")
	res := f.resolve(r)
	f.db.Close()
	wantDecisionError(t, f.gate.Check(r, res), http.StatusServiceUnavailable, api.CodeStoreUnavailable)
}
