package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// twofactorCommand runs `caddy twofactor args…` with the stack's
// environment and returns its standard output and standard error apart,
// because Caddy logs its start-up lines to standard error.
func (s *stack) twofactorCommand(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binaries.caddy, append([]string{"twofactor"}, args...)...)
	cmd.Env = s.caddyEnv
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// mustTwofactor runs a `caddy twofactor` command that must succeed.
func (s *stack) mustTwofactor(args ...string) string {
	s.t.Helper()
	out, errOut, err := s.twofactorCommand(args...)
	if err != nil {
		s.t.Fatalf("caddy twofactor %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// adminStatus is the part of `caddy twofactor status --json` this test reads.
type adminStatus struct {
	UserID   string `json:"userId"`
	Stored   bool   `json:"stored"`
	Enabled  bool   `json:"enabled"`
	Sessions int    `json:"sessions"`
}

func (s *stack) statusOf(args ...string) adminStatus {
	s.t.Helper()
	out := s.mustTwofactor(append([]string{"status", "--json"}, args...)...)
	var status adminStatus
	if err := json.Unmarshal([]byte(out), &status); err != nil {
		s.t.Fatalf("status --json output is not a status: %v\n%s", err, out)
	}
	return status
}

func TestAdminResetThroughEndpoint(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	address := "127.0.0.1:" + strconv.Itoa(s.adminPort)
	c := s.loginJSON(t, "alice")
	c.enrollTOTP() // enabling verifies c's session

	e := echoOf(t, c.get("/_echo"))
	users := e.headerValues("X-2FA-User")
	if len(users) != 1 || users[0] == "" {
		t.Fatalf("the app received X-2FA-User = %q, want alice's id", users)
	}
	user := users[0]

	before := s.statusOf("--address", address, "--user", user)
	if !before.Enabled || before.Sessions != 1 {
		t.Errorf("status before the reset = %+v, want enabled with 1 session", before)
	}
	text := s.mustTwofactor("status", "--address", address, "--user", user)
	if !strings.Contains(text, "on (totp, recoveryCode)") {
		t.Errorf("status text lacks %q:\n%s", "on (totp, recoveryCode)", text)
	}

	t.Run("db of running caddy", func(t *testing.T) {
		_, errOut, err := s.twofactorCommand("status", "--db", filepath.Join(s.dir, "twofactor.db"),
			"--user", user)
		if err == nil || !strings.Contains(errOut, "--address") {
			t.Errorf("status --db while Caddy runs: error %v, stderr %q; want a failure naming --address",
				err, errOut)
		}
	})

	backup := filepath.Join(t.TempDir(), "backup.db")
	s.mustTwofactor("backup", "--address", address, "--output", backup)

	out := s.mustTwofactor("reset", "--address", address, "--user", user)
	// Enabling TOTP also counted a guess and issued a sudo token.
	want := "Removed: TOTP, 10 recovery codes, 1 guess counter, 1 session, 1 sudo token."
	if !strings.Contains(out, want) {
		t.Errorf("reset output lacks %q:\n%s", want, out)
	}

	t.Run("gate after reset", func(t *testing.T) {
		// The same login passes, now as a user without 2FA: no verified
		// session, so no X-2FA-User.
		e := echoOf(t, c.get("/_echo"))
		if got := e.headerValues("X-2FA-User"); len(got) != 0 {
			t.Errorf("the app received X-2FA-User = %q after the reset, want none", got)
		}
		wantStatus(t, s.loginJSON(t, "alice").get("/api/me"), http.StatusOK)
		after := s.statusOf("--address", address, "--user", user)
		if after.Stored || after.Enabled || after.Sessions != 0 {
			t.Errorf("status after the reset = %+v, want nothing stored and no session", after)
		}
	})

	t.Run("audit", func(t *testing.T) {
		out := s.mustTwofactor("audit", "--address", address, "--user", user)
		if !strings.Contains(out, "admin_reset") || !strings.Contains(out, "127.0.0.1") {
			t.Errorf("audit lacks the admin_reset from 127.0.0.1:\n%s", out)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		resp, err := (&http.Client{Transport: s.transport}).Get("http://" + address + "/metrics")
		if err != nil {
			t.Fatalf("GET /metrics on the admin endpoint: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, series := range []string{
			"caddy_twofactor_gate_decisions_total{decision=\"verified\"} 1\n",
			`caddy_twofactor_gate_decisions_total{decision="pass"}`,
		} {
			if !strings.Contains(string(body), series) {
				t.Errorf("/metrics lacks %s", series)
			}
		}
	})

	t.Run("backup readable offline", func(t *testing.T) {
		saved := s.statusOf("--db", backup, "--user", user)
		if !saved.Enabled || saved.UserID != user {
			t.Errorf("status from the backup = %+v, want %s enabled as before the reset", saved, user)
		}
	})
}
