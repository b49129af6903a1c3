package e2e

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestTOTPReplayRejected(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	e := s.loginJSON(t, "alice").enrollTOTP()
	enableCode := totpAt(t, e.secret, e.lastStep)
	first, second := s.loginJSON(t, "alice"), s.loginJSON(t, "alice")

	code := e.freshCode(t)
	body := fmt.Sprintf(`{"totp":%q}`, code)
	wantStatus(t, first.post("/user/2fa/totp/authenticate", body), http.StatusOK)

	t.Run("same session", func(t *testing.T) {
		wantError(t, first.post("/user/2fa/totp/authenticate", body),
			http.StatusUnauthorized, "TOTP_ALREADY_USED")
	})
	t.Run("other session", func(t *testing.T) {
		wantError(t, second.post("/user/2fa/totp/authenticate", body),
			http.StatusUnauthorized, "TOTP_ALREADY_USED")
		wantError(t, second.get("/api/me"), http.StatusUnauthorized, "2FA_REQUIRED")
	})
	t.Run("enable code", func(t *testing.T) {
		wantError(t, second.post("/user/2fa/totp/authenticate", `{"totp":"`+enableCode+`"}`),
			http.StatusUnauthorized, "TOTP_ALREADY_USED")
	})
	t.Run("not counted", func(t *testing.T) {
		// Replays are no failed guesses: after four of them there is still
		// no wait, and a fresh code passes.
		wantError(t, second.post("/user/2fa/totp/authenticate", body),
			http.StatusUnauthorized, "TOTP_ALREADY_USED")
		wantDuration(t, second.get("/user/2fa/totp/next-guess"), 0)
		second.authenticateTOTP(e)
		wantStatus(t, second.get("/api/me"), http.StatusOK)
	})
}

func TestTOTPThrottle(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	e := s.loginJSON(t, "alice").enrollTOTP()
	c := s.loginJSON(t, "alice")
	wrong := fmt.Sprintf(`{"totp":%q}`, e.wrongCode(t))
	guess := func() *response { return c.post("/user/2fa/totp/authenticate", wrong) }

	// Three wrong guesses in a row are free.
	for i := 1; i <= 3; i++ {
		wantError(t, guess(), http.StatusUnauthorized, "TOTP_INVALID")
	}
	r := guess()
	wantRetryAfter(t, r, 1, 1)
	wantDuration(t, c.get("/user/2fa/totp/next-guess"), 1)

	// A guess made too early is not evaluated, so even a valid code waits.
	valid := fmt.Sprintf(`{"totp":%q}`, e.freshCode(t))
	wantRetryAfter(t, c.post("/user/2fa/totp/authenticate", valid), 1, 1)

	// After the n-th failure in a row the wait is 2^(n-3) s: fail four
	// more times, each after the wait, for a wait of 16 s, which outlasts
	// a restart of Caddy even on a busy machine.
	for n := 4; n <= 7; n++ {
		time.Sleep(time.Duration(1<<(n-4))*time.Second + 200*time.Millisecond)
		wantError(t, guess(), http.StatusUnauthorized, "TOTP_INVALID")
	}
	r = guess()
	wantRetryAfter(t, r, 15, 16)
	checkNextGuessAgrees(t, c, r)

	began := time.Now()
	s.restartCaddy()
	t.Logf("Caddy restarted in %v", time.Since(began).Round(time.Millisecond))

	t.Run("after restart", func(t *testing.T) {
		r := guess()
		wantRetryAfter(t, r, 1, 16)
		checkNextGuessAgrees(t, c, r)
	})
}

// wantRetryAfter checks a 429 TOO_MANY_TOTP_CHECKS whose wait is between
// low and high seconds, in both retryAfter and the Retry-After header.
func wantRetryAfter(t *testing.T, r *response, low, high int) {
	t.Helper()
	wantError(t, r, http.StatusTooManyRequests, "TOO_MANY_TOTP_CHECKS")
	if r.status != http.StatusTooManyRequests {
		return
	}
	body, _ := r.object()["retryAfter"].(float64)
	header, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || header != int(body) {
		t.Errorf("%v: Retry-After header %q, want retryAfter %v", r, r.header.Get("Retry-After"), body)
	}
	if int(body) < low || int(body) > high {
		t.Errorf("%v: retryAfter = %v, want %d to %d", r, body, low, high)
	}
}

// checkNextGuessAgrees checks that next-guess reports the wait of a 429
// that came just before, give or take the second that may have passed.
func checkNextGuessAgrees(t *testing.T, c *client, limited *response) {
	t.Helper()
	want, _ := limited.object()["retryAfter"].(float64)
	r := c.get("/user/2fa/totp/next-guess")
	wantStatus(t, r, http.StatusOK)
	got, _ := r.object()["duration"].(float64)
	if got < want-1 || got > want || got <= 0 {
		t.Errorf("%v: duration = %v, want %v or one less, and above 0", r, got, want)
	}
}

func TestTOTPParallelSameCode(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	e := s.loginJSON(t, "alice").enrollTOTP()
	body := fmt.Sprintf(`{"totp":%q}`, e.freshCode(t))

	const parallel = 20
	clients := make([]*client, parallel)
	for i := range clients {
		clients[i] = s.loginJSON(t, "alice")
	}
	answers := inParallel(parallel, func(i int) *response {
		return clients[i].post("/user/2fa/totp/authenticate", body)
	})

	passed := 0
	for i, r := range answers {
		switch r.status {
		case http.StatusOK:
			passed++
			wantStatus(t, clients[i].get("/api/me"), http.StatusOK)
		default:
			wantError(t, r, http.StatusUnauthorized, "TOTP_ALREADY_USED")
			wantError(t, clients[i].get("/api/me"), http.StatusUnauthorized, "2FA_REQUIRED")
		}
	}
	if passed != 1 {
		t.Errorf("%d of %d sessions passed with one TOTP code, want exactly 1", passed, parallel)
	}
}

// inParallel calls send n times at once, each in its own goroutine, and
// returns the responses by index.
func inParallel(n int, send func(i int) *response) []*response {
	var wg sync.WaitGroup
	start := make(chan struct{})
	answers := make([]*response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i] = send(i)
		}()
	}
	close(start)
	wg.Wait()
	return answers
}

func TestTOTPParallelGuesses(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	e := s.loginJSON(t, "alice").enrollTOTP()
	c := s.loginJSON(t, "alice")
	body := fmt.Sprintf(`{"totp":%q}`, e.wrongCode(t))

	const parallel = 20
	clients := make([]*client, parallel)
	for i := range clients {
		clients[i] = c.clone()
	}
	began := time.Now()
	answers := inParallel(parallel, func(i int) *response {
		return clients[i].post("/user/2fa/totp/authenticate", body)
	})
	elapsed := time.Since(began)

	// The first three failures are free. The k-th evaluated guess after
	// them can come no sooner than 1+2+…+2^(k-1) = 2^k-1 s after the third,
	// so within the elapsed time at most floor(log2(elapsed+1)) more are
	// evaluated: none when all 20 responses arrive within a second.
	bound := 3 + int(math.Floor(math.Log2(elapsed.Seconds()+1)))
	evaluated, limited := 0, 0
	for _, r := range answers {
		switch r.status {
		case http.StatusUnauthorized:
			wantError(t, r, http.StatusUnauthorized, "TOTP_INVALID")
			evaluated++
		case http.StatusTooManyRequests:
			wantError(t, r, http.StatusTooManyRequests, "TOO_MANY_TOTP_CHECKS")
			if r.header.Get("Retry-After") == "" {
				t.Errorf("%v: no Retry-After header", r)
			}
			limited++
		default:
			t.Errorf("%v: want 401 TOTP_INVALID or 429", r)
		}
	}
	t.Logf("%d evaluated, %d throttled in %v", evaluated, limited, elapsed)
	if evaluated < 3 || evaluated > bound {
		t.Errorf("%d of %d parallel wrong guesses were evaluated in %v, want 3 to %d",
			evaluated, parallel, elapsed, bound)
	}
}
