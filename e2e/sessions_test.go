package e2e

import (
	"net/http"
	"testing"
	"time"
)

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	const idle, ttl = 2 * time.Second, 4 * time.Second
	s := newStack(t, stackConfig{Twofactor: demoTwofactor + "session_idle 2s\nsession_ttl 4s\n"})
	idler := s.loginJSON(t, "alice")
	e := idler.enrollTOTP()
	busy := s.loginJSON(t, "alice")
	busy.authenticateRecovery(e.recovery[0])
	verified := time.Now()

	// Use keeps a session verified past the idle time...
	for time.Since(verified) < ttl-500*time.Millisecond {
		wantStatus(t, busy.get("/api/me"), http.StatusOK)
		time.Sleep(idle / 5)
	}
	// ...while one left idle that long ends.
	wantError(t, idler.get("/api/me"), http.StatusUnauthorized, "2FA_REQUIRED")

	// No use keeps a session verified past session_ttl.
	time.Sleep(time.Until(verified.Add(ttl + 500*time.Millisecond)))
	wantError(t, busy.get("/api/me"), http.StatusUnauthorized, "2FA_REQUIRED")
}
