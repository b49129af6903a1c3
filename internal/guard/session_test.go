package guard

import (
	"net/http"
	"testing"
	"time"
)

// sessionRoutes are a refresh route that reads the new token from the
// JSON response, and a logout route.
func sessionRoutes() []*Route {
	refresh := Default(Refresh)
	refresh.Method, refresh.Paths, refresh.TokenField = http.MethodPost, []string{"/api/refresh"}, "accessToken"
	logout := Default(Logout)
	logout.Method, logout.Paths = http.MethodPost, []string{"/logout"}
	return []*Route{&refresh, &logout}
}

func refresh(token, refreshToken string) *http.Request {
	return request(http.MethodPost, "/api/refresh", `{"refreshToken":"`+refreshToken+`"}`,
		"Authorization", "Bearer "+token)
}

func TestRefreshKeepsVerification(t *testing.T) {
	f := newFixture(t, sessionRoutes()...)
	// A long idle time leaves session_ttl as the only limit.
	f.sessions.Policy.Idle = 24 * time.Hour
	f.enroll("1", "alice@example.com")
	old := f.token("1", "alice@example.com", "a")
	f.verify("1", old)
	verifiedAt := f.clock.Now()

	fresh := f.token("1", "alice@example.com", "b")
	f.app.nextToken = fresh
	if f.verified("1", fresh) {
		t.Fatal("the new token is verified before the refresh")
	}
	wantStatus(t, f.serve(refresh(old, "good")), http.StatusOK)
	if !f.verified("1", fresh) {
		t.Fatal("the new token is not verified after the refresh")
	}
	if !f.verified("1", old) {
		t.Error("the old token lost its verification")
	}

	// The carried verification ends when the first one would have.
	f.clock.Advance(12*time.Hour - f.clock.Now().Sub(verifiedAt) - time.Minute)
	newer := f.token("1", "alice@example.com", "c")
	f.app.nextToken = newer
	wantStatus(t, f.serve(refresh(fresh, "good")), http.StatusOK)
	if !f.verified("1", newer) {
		t.Fatal("the token of the second refresh is not verified")
	}
	f.clock.Advance(2 * time.Minute)
	if f.verified("1", newer) {
		t.Error("a refresh extended the verification past session_ttl")
	}
}

func TestRefreshRefusals(t *testing.T) {
	tests := []struct {
		name         string
		user         string // whose token the app returns; "" for no valid token
		refreshToken string
	}{
		{"another user", "2", "good"},
		{"invalid token", "", "good"},
		{"app failure", "1", "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, sessionRoutes()...)
			f.enroll("1", "alice@example.com")
			old := f.token("1", "alice@example.com", "a")
			f.verify("1", old)
			next := "not-a-jwt"
			if tt.user != "" {
				next = f.token(tt.user, "x@example.com", "b")
			}
			f.app.nextToken = next
			f.serve(refresh(old, tt.refreshToken))
			if tt.user != "" && f.verified(tt.user, next) {
				t.Errorf("the new token of user %s is verified", tt.user)
			}
			if !f.verified("1", old) {
				t.Error("the old token lost its verification")
			}
		})
	}
}

func TestRefreshUnverifiedSession(t *testing.T) {
	f := newFixture(t, sessionRoutes()...)
	old := f.token("3", "carol@example.com", "a")
	fresh := f.token("3", "carol@example.com", "b")
	f.app.nextToken = fresh
	wantStatus(t, f.serve(refresh(old, "good")), http.StatusOK)
	if f.verified("3", fresh) {
		t.Error("a refresh verified a session that never passed a second factor")
	}
}

func TestLogoutRevokes(t *testing.T) {
	f := newFixture(t, sessionRoutes()...)
	f.enroll("1", "alice@example.com")
	token := f.token("1", "alice@example.com", "a")
	other := f.token("1", "alice@example.com", "b")
	f.verify("1", token)
	f.verify("1", other)

	r := request(http.MethodPost, "/logout", "", "Authorization", "Bearer "+token)
	wantStatus(t, f.serve(r), http.StatusNoContent)
	if f.verified("1", token) {
		t.Error("the session is still verified after the logout")
	}
	if !f.verified("1", other) {
		t.Error("the logout ended another session")
	}
	if len(f.forgot) != 1 || f.forgot[0] != "Bearer "+token {
		t.Errorf("Forget saw %v, want the caller's credential once", f.forgot)
	}

	// Only the configured method is followed.
	r = request(http.MethodGet, "/logout", "", "Authorization", "Bearer "+other)
	f.serve(r)
	if !f.verified("1", other) {
		t.Error("a GET on the logout path ended the session")
	}
}
