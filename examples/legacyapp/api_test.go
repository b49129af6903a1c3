package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// accessClaimsOf verifies a token with the test secret and returns its
// claims.
func accessClaimsOf(t *testing.T, app *testApp, token string) *accessClaims {
	t.Helper()
	claims := &accessClaims{}
	_, err := jwt.ParseWithClaims(token, claims,
		func(*jwt.Token) (any, error) { return app.cfg.JWTSecret, nil },
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithTimeFunc(app.clock.Now),
	)
	if err != nil {
		t.Fatalf("verifying access token: %v", err)
	}
	return claims
}

func TestAPILoginTokens(t *testing.T) {
	app := newTestApp(t, nil)
	tokens, session := app.apiLogin("bob", "bob-password")

	want := profile{ID: 2, Username: "bob", Email: "bob@example.com", Name: "Bob"}
	if tokens.User != want {
		t.Errorf("user = %+v, want %+v", tokens.User, want)
	}
	if tokens.RefreshToken == "" {
		t.Error("refreshToken is empty")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie HttpOnly = %v, SameSite = %v; want true, Lax", session.HttpOnly, session.SameSite)
	}

	claims := accessClaimsOf(t, app, tokens.AccessToken)
	if claims.Subject != "2" {
		t.Errorf("sub = %q, want \"2\"", claims.Subject)
	}
	if claims.Email != "bob@example.com" {
		t.Errorf("email = %q, want bob@example.com", claims.Email)
	}
	if claims.SessionID == "" {
		t.Error("sid is empty")
	}
	if claims.ID == "" {
		t.Error("jti is empty")
	}
	if got := claims.IssuedAt.Time; !got.Equal(app.clock.Now()) {
		t.Errorf("iat = %v, want %v", got, app.clock.Now())
	}
	if got, want := claims.ExpiresAt.Time, app.clock.Now().Add(15*time.Minute); !got.Equal(want) {
		t.Errorf("exp = %v, want %v", got, want)
	}
}

func TestAPILoginFailure(t *testing.T) {
	tests := []struct {
		name   string
		body   any
		status int
		error  string
	}{
		{"wrong password", map[string]string{"username": "bob", "password": "alice-password"}, 401, "invalid credentials"},
		{"unknown user", map[string]string{"username": "mallory", "password": "x"}, 401, "invalid credentials"},
		{"username case", map[string]string{"username": "BOB", "password": "bob-password"}, 401, "invalid credentials"},
		{"malformed JSON", `{"username":`, 400, "invalid JSON body"},
		{"trailing data", `{"username":"bob","password":"bob-password"} x`, 400, "invalid JSON body"},
		{"too large", `{"username":"` + strings.Repeat("a", maxBodyBytes) + `"}`, 413, "request body too large"},
	}
	app := newTestApp(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := app.request("POST", "/api/login", tt.body, nil)
			if resp.Status != tt.status {
				t.Errorf("status = %d, want %d", resp.Status, tt.status)
			}
			var body map[string]string
			decodeJSON(t, resp.Body, &body)
			if body["error"] != tt.error {
				t.Errorf("error = %q, want %q", body["error"], tt.error)
			}
			if _, ok := resp.Cookie("session"); ok {
				t.Error("failed login set a session cookie")
			}
		})
	}
}

func TestMeCarriers(t *testing.T) {
	app := newTestApp(t, func(cfg *config) { cfg.CookieName = "PHPSESSID" })
	formSession, remember := app.formLogin("alice", "alice-password")
	tokens, apiSession := app.apiLogin("carol", "carol-password")
	if formSession.Name != "PHPSESSID" {
		t.Fatalf("session cookie name = %q, want PHPSESSID", formSession.Name)
	}

	tests := []struct {
		name    string
		cookies []*http.Cookie
		headers []string
		want    profile
	}{
		{"form session", []*http.Cookie{formSession}, nil,
			profile{ID: 1, Username: "alice", Email: "alice@example.com", Name: "Alice"}},
		{"remember-me", []*http.Cookie{remember}, nil,
			profile{ID: 1, Username: "alice", Email: "alice@example.com", Name: "Alice"}},
		{"API session", []*http.Cookie{apiSession}, nil,
			profile{ID: 3, Username: "carol", Email: "carol@example.com", Name: "Carol"}},
		{"bearer", nil, bearer(tokens.AccessToken),
			profile{ID: 3, Username: "carol", Email: "carol@example.com", Name: "Carol"}},
		{"lower-case scheme", nil, []string{"Authorization", "bearer " + tokens.AccessToken},
			profile{ID: 3, Username: "carol", Email: "carol@example.com", Name: "Carol"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := app.request("GET", "/api/me", nil, tt.cookies, tt.headers...)
			if resp.Status != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.Status)
			}
			var got profile
			decodeJSON(t, resp.Body, &got)
			if got != tt.want {
				t.Errorf("me = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMeAnonymous(t *testing.T) {
	wrongKey, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "1", "sid": "x", "exp": time.Date(2030, 1, 2, 4, 0, 0, 0, time.UTC).Unix(),
	}).SignedString([]byte("another-secret"))
	if err != nil {
		t.Fatalf("signing token: %v", err)
	}
	unsigned, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"sub": "1", "sid": "x", "exp": time.Date(2030, 1, 2, 4, 0, 0, 0, time.UTC).Unix(),
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatalf("signing token: %v", err)
	}

	visitors := []struct {
		name    string
		cookies []*http.Cookie
		headers []string
	}{
		{"no credential", nil, nil},
		{"unknown session", []*http.Cookie{{Name: "session", Value: "nope"}}, nil},
		{"unknown remember-me", []*http.Cookie{{Name: rememberCookieName, Value: "nope"}}, nil},
		{"garbage bearer", nil, bearer("not-a-jwt")},
		{"bearer wrong key", nil, bearer(wrongKey)},
		{"bearer alg none", nil, bearer(unsigned)},
		{"basic auth", nil, []string{"Authorization", "Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ="}},
	}
	modes := []struct {
		mode   string
		status int
		body   string
	}{
		{anonymousStatus401, http.StatusUnauthorized, `{"error":"not logged in"}`},
		{anonymousZeroID, http.StatusOK, `{"id":0}`},
		{anonymousStatus204, http.StatusNoContent, ""},
	}
	for _, m := range modes {
		app := newTestApp(t, func(cfg *config) { cfg.AnonymousMe = m.mode })
		for _, v := range visitors {
			t.Run(m.mode+"/"+v.name, func(t *testing.T) {
				resp := app.request("GET", "/api/me", nil, v.cookies, v.headers...)
				if resp.Status != m.status {
					t.Errorf("status = %d, want %d", resp.Status, m.status)
				}
				if got := strings.TrimSpace(resp.Body); got != m.body {
					t.Errorf("body = %q, want %q", got, m.body)
				}
			})
		}
	}
}

func TestBearerExpires(t *testing.T) {
	app := newTestApp(t, nil)
	tokens, _ := app.apiLogin("alice", "alice-password")

	app.clock.Advance(15*time.Minute - time.Second)
	if resp := app.request("GET", "/api/me", nil, nil, bearer(tokens.AccessToken)...); resp.Status != http.StatusOK {
		t.Errorf("before exp: status = %d, want 200", resp.Status)
	}
	app.clock.Advance(2 * time.Second)
	if resp := app.request("GET", "/api/me", nil, nil, bearer(tokens.AccessToken)...); resp.Status != http.StatusUnauthorized {
		t.Errorf("after exp: status = %d, want 401", resp.Status)
	}
}

func TestItems(t *testing.T) {
	app := newTestApp(t, nil)
	session, _ := app.formLogin("bob", "bob-password")

	resp := app.request("GET", "/api/items", nil, []*http.Cookie{session})
	if resp.Status != http.StatusOK {
		t.Fatalf("logged in: status = %d, want 200", resp.Status)
	}
	var items []item
	decodeJSON(t, resp.Body, &items)
	if len(items) == 0 {
		t.Fatal("logged in: no items")
	}
	if items[0].Owner != "bob" {
		t.Errorf("owner = %q, want bob", items[0].Owner)
	}

	resp = app.request("GET", "/api/items", nil, nil)
	if resp.Status != http.StatusUnauthorized {
		t.Errorf("anonymous: status = %d, want 401", resp.Status)
	}
	if !strings.Contains(resp.Body, `"error"`) {
		t.Errorf("anonymous: body = %q, want a JSON error", resp.Body)
	}
}

func TestRefreshRotation(t *testing.T) {
	app := newTestApp(t, nil)
	first, _ := app.apiLogin("alice", "alice-password")
	app.clock.Advance(10 * time.Minute)

	resp := app.request("POST", "/api/refresh", map[string]string{"refreshToken": first.RefreshToken}, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("refresh: status = %d, want 200; body %s", resp.Status, resp.Body)
	}
	var second tokenResponse
	decodeJSON(t, resp.Body, &second)

	if second.AccessToken == first.AccessToken {
		t.Error("refresh returned the same access token")
	}
	if second.RefreshToken == first.RefreshToken {
		t.Error("refresh returned the same refresh token")
	}
	oldClaims := accessClaimsOf(t, app, first.AccessToken)
	newClaims := accessClaimsOf(t, app, second.AccessToken)
	if newClaims.SessionID != oldClaims.SessionID {
		t.Errorf("sid = %q after refresh, want %q", newClaims.SessionID, oldClaims.SessionID)
	}
	if newClaims.ID == oldClaims.ID {
		t.Errorf("jti = %q after refresh, want a new one", newClaims.ID)
	}
	if newClaims.Subject != "1" {
		t.Errorf("sub = %q after refresh, want \"1\"", newClaims.Subject)
	}

	resp = app.request("POST", "/api/refresh", map[string]string{"refreshToken": first.RefreshToken}, nil)
	if resp.Status != http.StatusUnauthorized {
		t.Errorf("old refresh token: status = %d, want 401", resp.Status)
	}
	resp = app.request("POST", "/api/refresh", map[string]string{"refreshToken": second.RefreshToken}, nil)
	if resp.Status != http.StatusOK {
		t.Errorf("new refresh token: status = %d, want 200", resp.Status)
	}
}

func TestRefreshFailure(t *testing.T) {
	app := newTestApp(t, nil)
	tokens, _ := app.apiLogin("alice", "alice-password")

	tests := []struct {
		name   string
		body   any
		status int
	}{
		{"unknown token", map[string]string{"refreshToken": "nope"}, 401},
		{"empty token", map[string]string{"refreshToken": ""}, 401},
		{"access token", map[string]string{"refreshToken": tokens.AccessToken}, 401},
		{"malformed JSON", "{", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := app.request("POST", "/api/refresh", tt.body, nil)
			if resp.Status != tt.status {
				t.Errorf("status = %d, want %d", resp.Status, tt.status)
			}
		})
	}

	app.clock.Advance(refreshTokenTTL)
	resp := app.request("POST", "/api/refresh", map[string]string{"refreshToken": tokens.RefreshToken}, nil)
	if resp.Status != http.StatusUnauthorized {
		t.Errorf("expired token: status = %d, want 401", resp.Status)
	}
}

func TestLogoutForm(t *testing.T) {
	app := newTestApp(t, nil)
	session, remember := app.formLogin("alice", "alice-password")

	resp := app.request("POST", "/logout", nil, []*http.Cookie{session, remember})
	if resp.Status != http.StatusSeeOther {
		t.Errorf("status = %d, want 303", resp.Status)
	}
	if got := resp.Header.Get("Location"); got != "/" {
		t.Errorf("Location = %q, want /", got)
	}
	for _, name := range []string{"session", rememberCookieName} {
		c, ok := resp.Cookie(name)
		if !ok || c.MaxAge >= 0 {
			t.Errorf("cookie %s not deleted: %v", name, c)
		}
	}

	for _, c := range []*http.Cookie{session, remember} {
		resp := app.request("GET", "/api/me", nil, []*http.Cookie{c})
		if resp.Status != http.StatusUnauthorized {
			t.Errorf("%s after logout: status = %d, want 401", c.Name, resp.Status)
		}
	}
}

func TestLogoutJSON(t *testing.T) {
	app := newTestApp(t, nil)
	tokens, session := app.apiLogin("bob", "bob-password")

	resp := app.request("POST", "/logout", "{}", []*http.Cookie{session}, bearer(tokens.AccessToken)...)
	if resp.Status != http.StatusNoContent {
		t.Errorf("status = %d, want 204", resp.Status)
	}
	if resp := app.request("GET", "/api/me", nil, []*http.Cookie{session}); resp.Status != http.StatusUnauthorized {
		t.Errorf("session after logout: status = %d, want 401", resp.Status)
	}
	refresh := map[string]string{"refreshToken": tokens.RefreshToken}
	if resp := app.request("POST", "/api/refresh", refresh, nil); resp.Status != http.StatusUnauthorized {
		t.Errorf("refresh after logout: status = %d, want 401", resp.Status)
	}
}

func TestLogoutKeepsOtherSessions(t *testing.T) {
	app := newTestApp(t, nil)
	first, _ := app.formLogin("alice", "alice-password")
	second, _ := app.formLogin("alice", "alice-password")

	app.request("POST", "/logout", "{}", []*http.Cookie{first})
	if resp := app.request("GET", "/api/me", nil, []*http.Cookie{second}); resp.Status != http.StatusOK {
		t.Errorf("other session: status = %d, want 200", resp.Status)
	}
}

func TestRequestLog(t *testing.T) {
	app := newTestApp(t, nil)
	tokens, session := app.apiLogin("alice", "alice-password")
	app.request("GET", "/api/me?token=query-secret", nil, []*http.Cookie{session}, bearer(tokens.AccessToken)...)

	logs := app.logs.String()
	for _, want := range []string{
		"method=POST path=/api/login status=200",
		"method=GET path=/api/me status=200",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	for _, secret := range []string{"alice-password", tokens.AccessToken, tokens.RefreshToken, session.Value, "query-secret"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains a credential %q:\n%s", secret, logs)
		}
	}
}
