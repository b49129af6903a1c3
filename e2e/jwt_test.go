package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// jwtTwofactor identifies users by the app's HS256 access tokens, verified
// by the module, and keys sessions by the token's sid claim, which stays
// the same across refreshes.
const jwtTwofactor = `
db DB_PATH
secret_key {env.TWOFACTOR_SECRET}
credential header Authorization Bearer
identity jwt {
	hmac_secret {env.APP_JWT_SECRET}
	session_claim sid
}
`

func TestJWTSessionClaim(t *testing.T) {
	t.Parallel()
	jwtSecret := randomHex(t, 32)
	s := newStack(t, stackConfig{
		AppFlags:  []string{"-jwt-secret", jwtSecret},
		CaddyEnv:  []string{"APP_JWT_SECRET=" + jwtSecret},
		Twofactor: jwtTwofactor,
	})
	s.secrets.add("app JWT secret", jwtSecret)
	c := s.loginBearer(t, "alice")
	e := c.enrollTOTP()
	wantHeader(t, echoOf(t, c.get("/_echo")), "X-2FA-User", userIDs["alice"])

	t.Run("other login", func(t *testing.T) {
		other := s.loginBearer(t, "alice")
		wantError(t, other.get("/api/me"), http.StatusUnauthorized, "2FA_REQUIRED")
		other.authenticateTOTP(e)
		wantStatus(t, other.get("/api/me"), http.StatusOK)
	})
	t.Run("refreshed token", func(t *testing.T) {
		// The refresh request carries no access token, so it reaches the
		// app as an anonymous request.
		anon := s.newClient(t, "anonymous")
		r := anon.post("/api/refresh", `{"refreshToken":"`+c.refreshToken+`"}`)
		wantStatus(t, r, http.StatusOK)
		fresh, _ := r.object()["accessToken"].(string)
		if fresh == "" || fresh == c.bearer {
			t.Fatalf("%v: want a new access token", r)
		}
		c.bearer = fresh
		got := echoOf(t, c.get("/_echo"))
		wantHeader(t, got, "X-2FA-User", userIDs["alice"])
		wantHeader(t, got, "Authorization", "Bearer "+fresh)
	})
	t.Run("forged token", func(t *testing.T) {
		// A token that fails verification is removed, so the app receives
		// an anonymous request.
		forged := s.newClient(t, "forged")
		forged.bearer = forgeToken(c.bearer)
		got := echoOf(t, forged.get("/_echo"))
		wantAbsent(t, got, "Authorization", "X-2FA-User")
		r := forged.get("/api/me")
		wantStatus(t, r, http.StatusUnauthorized)
		if !strings.Contains(r.body, "not logged in") {
			t.Errorf("%v: want the app's own answer to an anonymous request", r)
		}
	})
}

// forgeToken changes the subject of a JWT to user 2 and keeps the old
// signature, which then no longer matches.
func forgeToken(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return token + "x"
	}
	claims, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return token + "x"
	}
	changed := strings.Replace(string(claims), `"sub":"1"`, `"sub":"2"`, 1)
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(changed))
	return strings.Join(parts, ".")
}
