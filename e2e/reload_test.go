package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// traffic sends verified requests from a few goroutines until stop is
// closed and at least minRequests were sent, at most maxRequests, and
// records every response that is not the app's 200.
type traffic struct {
	sent     atomic.Int64
	mu       sync.Mutex
	failures []string
	wg       sync.WaitGroup
}

const (
	trafficWorkers = 3
	minRequests    = 300
	maxRequests    = 5000
)

func startTraffic(c *client, stop <-chan struct{}) *traffic {
	tr := &traffic{}
	for range trafficWorkers {
		w := c.clone()
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			for {
				n := tr.sent.Add(1)
				if n > maxRequests {
					return
				}
				select {
				case <-stop:
					if n > minRequests {
						return
					}
				default:
				}
				r, err := w.tryGet("/api/me")
				if err != nil {
					// A reload closes the old server's idle keep-alive
					// connections, and one may be reset under a request
					// already sent. Clients retry an idempotent request
					// on a new connection (RFC 9110, section 9.2.2); the
					// retry must succeed.
					r, err = w.tryGet("/api/me")
				}
				tr.check(r, err)
			}
		}()
	}
	return tr
}

func (tr *traffic) check(r *response, err error) {
	if err == nil && r.status == http.StatusOK && strings.Contains(r.body, `"id":1`) {
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if err != nil {
		tr.failures = append(tr.failures, err.Error())
	} else {
		tr.failures = append(tr.failures, r.String())
	}
}

// finish waits for the workers and reports the failures.
func (tr *traffic) finish(t *testing.T, phase string) {
	t.Helper()
	tr.wg.Wait()
	sent := min(tr.sent.Load(), maxRequests)
	if len(tr.failures) > 0 {
		t.Errorf("%s: %d of about %d verified requests failed; first: %s", phase,
			len(tr.failures), sent, tr.failures[0])
	}
	t.Logf("%s: about %d verified requests", phase, sent)
}

func TestReloadUnderTraffic(t *testing.T) {
	t.Parallel()
	base := stackConfig{}
	s := newStack(t, base)
	c := s.loginJSON(t, "alice")
	c.enrollTOTP()
	wantStatus(t, c.get("/api/me"), http.StatusOK)

	t.Run("valid config", func(t *testing.T) {
		changed := base
		changed.Twofactor = demoTwofactor + "session_idle 20m\n"
		stop := make(chan struct{})
		tr := startTraffic(c, stop)
		out, err := s.reload(changed)
		close(stop)
		tr.finish(t, "reload")
		if err != nil {
			t.Fatalf("caddy reload with a valid config failed: %v\n%s", err, out)
		}
		wantSessionIdle(t, s, idle20m)
		wantHeader(t, echoOf(t, c.get("/_echo")), "X-2FA-User", userIDs["alice"])
	})
	t.Run("wrong key", func(t *testing.T) {
		wrong := base
		wrong.Twofactor = strings.Replace(demoTwofactor, "{env.TWOFACTOR_SECRET}",
			fmt.Sprintf("%q", randomHex(t, 24)), 1)
		stop := make(chan struct{})
		tr := startTraffic(c, stop)
		out, err := s.reload(wrong)
		close(stop)
		tr.finish(t, "failed reload")
		if err == nil {
			t.Fatalf("caddy reload with the wrong secret_key succeeded:\n%s", out)
		}
		if !strings.Contains(out, "secret_key") {
			t.Errorf("caddy reload output does not name secret_key:\n%s", out)
		}
		t.Logf("caddy reload with the wrong secret_key: %v\n%s", err, out)
		wantSessionIdle(t, s, idle20m)
		wantHeader(t, echoOf(t, c.get("/_echo")), "X-2FA-User", userIDs["alice"])
		wantError(t, s.loginJSON(t, "alice").get("/api/me"), http.StatusUnauthorized, "2FA_REQUIRED")
	})
}

// idle20m is session_idle 20m as Caddy's JSON config writes it.
const idle20m = `"session_idle":1200000000000`

// wantSessionIdle checks, through the admin API, which config Caddy runs.
func wantSessionIdle(t *testing.T, s *stack, want string) {
	t.Helper()
	admin := &http.Client{Transport: s.transport}
	resp, err := admin.Get(fmt.Sprintf("http://127.0.0.1:%d/config/", s.adminPort))
	if err != nil {
		t.Fatalf("reading Caddy's config: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading Caddy's config: %v", err)
	}
	if !strings.Contains(string(raw), want) {
		t.Errorf("Caddy runs a config without %s:\n%s", want, raw)
	}
}
