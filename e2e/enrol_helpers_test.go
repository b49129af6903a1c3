package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// totpPeriod is the TOTP time step of RFC 6238 that the module uses.
const totpPeriod = 30

// stepMargin is how close to the end of a time step a code of the previous
// step is no longer used: the request may reach Caddy after the step ends.
const stepMargin = 3 * time.Second

// needOathtool skips the test when oathtool is missing. Codes come from
// oathtool, never from the module's own TOTP code, so a bug there cannot
// hide itself.
func needOathtool(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("oathtool"); err != nil {
		t.Skip("oathtool is not installed: apt-get install oathtool")
	}
}

// totpAt computes the TOTP code of a base32 secret for a time step.
func totpAt(t *testing.T, secret string, step int64) string {
	t.Helper()
	out, err := exec.Command("oathtool", "--totp", "-b", "-N", fmt.Sprintf("@%d", step*totpPeriod),
		secret).Output()
	if err != nil {
		t.Fatalf("oathtool for step %d: %v", step, err)
	}
	code := strings.TrimSpace(string(out))
	if len(code) != 6 {
		t.Fatalf("oathtool gave %q, want 6 digits", code)
	}
	return code
}

// enrolment is one user's active TOTP secret and recovery codes, and the
// last time step a code was used for, which the module will not accept
// again.
type enrolment struct {
	s        *stack
	user     string
	secret   string
	recovery []string

	mu       sync.Mutex
	lastStep int64
}

// freshCode returns a code of a time step after the last one used that the
// module accepts now with the default skew of one step either way: the
// previous, current or next step. When none is left it waits for the next
// step, at most 30 s.
func (e *enrolment) freshCode(t *testing.T) string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		now := time.Now()
		current := now.Unix() / totpPeriod
		untilNext := time.Unix((current+1)*totpPeriod, 0).Sub(now)
		lowest := current - 1
		if untilNext < stepMargin {
			lowest = current
		}
		step := max(lowest, e.lastStep+1)
		if step <= current+1 {
			e.lastStep = step
			code := totpAt(t, e.secret, step)
			e.s.secrets.add("TOTP code", code)
			return code
		}
		t.Logf("waiting %v for the next TOTP time step", untilNext.Round(time.Second))
		time.Sleep(untilNext + 100*time.Millisecond)
	}
}

// wrongCode returns six digits that are no valid code of the secret in the
// two steps either side of now.
func (e *enrolment) wrongCode(t *testing.T) string {
	t.Helper()
	current := time.Now().Unix() / totpPeriod
	valid := map[string]bool{}
	for step := current - 2; step <= current+2; step++ {
		valid[totpAt(t, e.secret, step)] = true
	}
	for _, guess := range []string{"000000", "111111", "222222", "333333", "444444", "555555"} {
		if !valid[guess] {
			return guess
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// setupTOTP calls POST /user/2fa/totp/setup and returns the response and
// the secret of its otpauth URL.
func (c *client) setupTOTP(headers ...string) (*response, string) {
	c.t.Helper()
	r := c.post("/user/2fa/totp/setup", "{}", headers...)
	if r.status != http.StatusOK {
		c.t.Fatalf("TOTP setup: %v, want 200", r)
	}
	raw, _ := r.object()["url"].(string)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		c.t.Fatalf("TOTP setup: url %q is not an otpauth://totp/ URL", raw)
	}
	secret := u.Query().Get("secret")
	if secret == "" {
		c.t.Fatalf("TOTP setup: url %q has no secret", raw)
	}
	c.s.secrets.add("TOTP secret", secret)
	return r, secret
}

// enrollTOTP sets up and enables TOTP for the client's user. Enabling also
// verifies the client's session.
func (c *client) enrollTOTP() *enrolment {
	c.t.Helper()
	_, secret := c.setupTOTP()
	e := &enrolment{s: c.s, user: c.user, secret: secret}
	r := c.post("/user/2fa/totp/enable", fmt.Sprintf(`{"totp":%q}`, e.freshCode(c.t)))
	if r.status != http.StatusOK {
		c.t.Fatalf("TOTP enable: %v, want 200", r)
	}
	codes, _ := r.object()["recoveryCodes"].([]any)
	for _, code := range codes {
		s, _ := code.(string)
		e.recovery = append(e.recovery, s)
	}
	if len(e.recovery) != 10 {
		c.t.Fatalf("TOTP enable: %d recovery codes, want 10: %v", len(e.recovery), r)
	}
	return e
}

// authenticateTOTP passes the second factor with a fresh code and returns
// the sudo token.
func (c *client) authenticateTOTP(e *enrolment) string {
	c.t.Helper()
	r := c.post("/user/2fa/totp/authenticate", fmt.Sprintf(`{"totp":%q}`, e.freshCode(c.t)))
	return c.sudoTokenOf(r, "TOTP authenticate")
}

// authenticateRecovery passes the second factor with a recovery code and
// returns the sudo token.
func (c *client) authenticateRecovery(code string) string {
	c.t.Helper()
	r := c.post("/user/2fa/recovery-code/authenticate", fmt.Sprintf(`{"recoveryCode":%q}`, code))
	return c.sudoTokenOf(r, "recovery code authenticate")
}

func (c *client) sudoTokenOf(r *response, operation string) string {
	c.t.Helper()
	if r.status != http.StatusOK {
		c.t.Fatalf("%s: %v, want 200", operation, r)
	}
	sudo, _ := r.object()["sudoToken"].(string)
	if !strings.HasPrefix(sudo, "sudo_") {
		c.t.Fatalf("%s: sudoToken %q does not start with sudo_", operation, sudo)
	}
	return sudo
}
