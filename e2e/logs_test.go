package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	runEveryFlow(t, s)

	out := s.caddyOut.String()
	if !strings.Contains(out, `"level":"debug"`) || !strings.Contains(out, `"logger":"http.log.access`) {
		t.Fatalf("Caddy's output has no debug lines or no access log: the check would prove nothing")
	}
	secrets := s.secrets.snapshot()
	kinds := map[string]bool{}
	for _, kind := range secrets {
		kinds[kind] = true
	}
	for _, kind := range []string{"password", "TOTP code", "TOTP secret", "recovery code", "sudoToken",
		"accessToken", "refreshToken", "cookie session", "cookie remember", "cookie " + moduleCookie,
		"server secret key"} {
		if !kinds[kind] {
			t.Errorf("the run used no %s, so the check does not cover it", kind)
		}
	}
	for _, l := range findLeaks(out, secrets) {
		t.Errorf("Caddy's log holds a %s: %s", l.kind, l.line)
	}
	checkAccessLogUser(t, out)
}

// runEveryFlow logs in, enrols and passes the second factor in every way
// the module supports, so that each kind of secret crosses Caddy.
func runEveryFlow(t *testing.T, s *stack) {
	t.Helper()
	owner := s.loginForm(t, "alice")
	e := owner.enrollTOTP()
	wantPage(t, owner.navigate("/dashboard"), dashboardMarker)

	c := s.loginJSON(t, "alice")
	wantStatus(t, c.navigate("/settings"), http.StatusSeeOther)
	wrong := c.post("/user/2fa/totp/authenticate", `{"totp":"`+e.wrongCode(t)+`"}`)
	wantError(t, wrong, http.StatusUnauthorized, "TOTP_INVALID")
	sudo := c.authenticateTOTP(e)
	wantStatus(t, c.get("/api/items"), http.StatusOK)
	wantStatus(t, c.get("/_echo", "X-Sudo-Token", sudo), http.StatusOK)
	r := c.post("/user/2fa/recovery-code/reset", "{}", bearerHeader(sudo)...)
	wantStatus(t, r, http.StatusOK)
	codes, _ := r.object()["recoveryCodes"].([]any)
	if len(codes) == 0 {
		t.Fatalf("%v: no recovery codes", r)
	}

	b := s.loginBearer(t, "alice")
	b.authenticateRecovery(codes[0].(string))
	wantStatus(t, b.get("/api/me"), http.StatusOK)
	refresh := b.post("/api/refresh", `{"refreshToken":"`+b.refreshToken+`"}`)
	wantStatus(t, refresh, http.StatusOK)

	wantStatus(t, c.delete("/user/2fa/totp", bearerHeader(sudo)...), http.StatusOK)
	wantStatus(t, c.post("/logout", "", "Content-Type", ""), http.StatusSeeOther)
}

// checkAccessLogUser checks that the access log names the user of verified
// requests: the module sets http.auth.user.id, which Caddy logs as user_id.
func checkAccessLogUser(t *testing.T, out string) {
	t.Helper()
	var users []string
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, `"logger":"http.log.access`) {
			continue
		}
		var entry struct {
			UserID string `json:"user_id"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.UserID != "" {
			users = append(users, entry.UserID)
		}
	}
	if !slices.Contains(users, userIDs["alice"]) {
		t.Errorf("no access log line has user_id %q; user ids found: %q", userIDs["alice"], users)
	}
}
