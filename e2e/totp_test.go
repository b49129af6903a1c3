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

	// After the n-th failure in a row the wait is 2^(n-3) s: fail three
	// more times, each after the wait, for a wait of 8 s.
	for n := 4; n <= 6; n++ {
		time.Sleep(time.Duration(1<<(n-4))*time.Second + 200*time.Millisecond)
		wantError(t, guess(), http.StatusUnauthorized, "TOTP_INVALID")
	}
	r = guess()
	wantRetryAfter(t, r, 7, 8)
	checkNextGuessAgrees(t, c, r)

	s.restartCaddy()

	t.Run("after restart", func(t *testing.T) {
		r := guess()
		wantRetryAfter(t, r, 1, 8)
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

func TestTOTPParallelGuesses(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	e := s.loginJSON(t, "alice").enrollTOTP()
	c := s.loginJSON(t, "alice")
	body := fmt.Sprintf(`{"totp":%q}`, e.wrongCode(t))

	const parallel = 20
	var wg sync.WaitGroup
	start := make(chan struct{})
	answers := make([]*response, parallel)
	for i := range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i] = c.clone().post("/user/2fa/totp/authenticate", body)
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(began)

	// The first three failures are free. The k-th evaluated guess after
	// them can come no sooner than 1+2+…+2^(k-1) = 2^k-1 s after the third,
	// so within the elapsed time at most floor(log2(elapsed+1)) more are
	// evaluated: none when all 20 answers take under a second.
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
