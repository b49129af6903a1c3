package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestRecoveryCodeParallelUse(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	owner := s.loginJSON(t, "alice")
	e := owner.enrollTOTP()
	c := s.loginJSON(t, "alice")
	body := fmt.Sprintf(`{"recoveryCode":%q}`, e.recovery[0])

	const parallel = 20
	clients := make([]*client, parallel)
	for i := range clients {
		clients[i] = c.clone()
	}
	answers := inParallel(parallel, func(i int) *response {
		return clients[i].post("/user/2fa/recovery-code/authenticate", body)
	})

	winner := -1
	for i, r := range answers {
		switch r.status {
		case http.StatusOK:
			if winner >= 0 {
				t.Errorf("%v: a second success with one recovery code", r)
			}
			winner = i
		case http.StatusUnauthorized:
			wantError(t, r, http.StatusUnauthorized, "RECOVERY_CODE_INVALID")
		case http.StatusTooManyRequests:
			wantError(t, r, http.StatusTooManyRequests, "TOO_MANY_RECOVERY_CODE_CHECKS")
		default:
			t.Errorf("%v: want 200 once, else 401 RECOVERY_CODE_INVALID or 429", r)
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d parallel uses of one recovery code succeeded", parallel)
	}
	wantStatus(t, clients[winner].get("/api/me"), http.StatusOK)
	checkStatus(t, owner, true, 9)
}

func TestRecoveryCodeInputForms(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	e := s.loginJSON(t, "alice").enrollTOTP()
	authenticate := func(code string) *response {
		return s.loginJSON(t, "alice").post("/user/2fa/recovery-code/authenticate",
			fmt.Sprintf(`{"recoveryCode":%q}`, code))
	}

	// Codes are accepted in lower case and with dashes and spaces.
	first, second := plainCode(e.recovery[1]), plainCode(e.recovery[2])
	wantStatus(t, authenticate(strings.ToLower(first)), http.StatusOK)
	wantStatus(t, authenticate(second[:4]+"-"+second[4:8]+" "+second[8:12]+" - "+second[12:]),
		http.StatusOK)

	// Another form of a used code is the same code, used up.
	wantError(t, authenticate(first[:8]+"-"+first[8:]), http.StatusUnauthorized, "RECOVERY_CODE_INVALID")
}

// plainCode returns a recovery code in upper case without dashes or spaces.
func plainCode(code string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
}
