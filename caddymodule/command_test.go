package caddymodule

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

// runTwofactor runs `caddy twofactor args…` in-process and returns its
// output. Each run builds the commands afresh, because cobra keeps flag
// values between runs of one command.
func runTwofactor(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "twofactor", SilenceUsage: true, SilenceErrors: true}
	addTwofactorCommands(root)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runTwofactor(t, args...)
	if err != nil {
		t.Fatalf("twofactor %s: %v\noutput:\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// offlineDB writes a database file with alice enrolled (TOTP, email OTP,
// three recovery codes, a throttled TOTP counter and a session) and bob
// without 2FA, then closes it as a stopped Caddy would.
func offlineDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "twofactor.db")
	db, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	defer db.Close()
	sessions := &account.Sessions{Store: store.WithRealm(db, "default"), Policy: testPolicy, Now: time.Now}
	guess := &throttle.Guess{}
	for range 4 {
		guess.Fail(time.Now())
	}
	err = sessions.UpdateUser("alice", func(tx store.Tx) error {
		u := &account.User{
			ID:       "alice",
			TOTP:     &account.TOTP{SealedSecret: []byte("sealed"), CompletedAt: time.Now()},
			EmailOTP: &account.EmailOTP{Email: "alice@example.com", CompletedAt: time.Now()},
			Recovery: &account.Recovery{MACs: []string{"a", "b", "c"}, CompletedAt: time.Now()},
			Guesses:  map[string]*throttle.Guess{account.MethodTOTP: guess},
		}
		if err := account.SaveUser(tx, u); err != nil {
			return err
		}
		return sessions.Verify(tx, "alice", "key-1", "", account.MethodTOTP)
	})
	if err != nil {
		t.Fatalf("storing alice: %v", err)
	}
	return path
}

func TestCommandStatusOffline(t *testing.T) {
	path := offlineDB(t)
	out := mustRun(t, "status", "--db", path, "--user", "alice")
	for _, want := range []string{
		"alice (realm default)",
		"on (totp, emailOtp, recoveryCode)",
		"alice@example.com",
		"3 left",
		"Throttle totp:",
		"4 consecutive failures",
		"next guess in 2s",
		"Sessions:        1 verified",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}

	out = mustRun(t, "status", "--db", path, "--user", "bob")
	if !strings.Contains(out, "off, nothing stored") {
		t.Errorf("status of bob lacks %q:\n%s", "off, nothing stored", out)
	}
}

func TestCommandStatusJSON(t *testing.T) {
	out := mustRun(t, "status", "--db", offlineDB(t), "--user", "alice", "--json")
	var status account.UserStatus
	if err := json.Unmarshal([]byte(out), &status); err != nil {
		t.Fatalf("--json output is not a status: %v\n%s", err, out)
	}
	if !status.Enabled || status.Guesses[account.MethodTOTP].Consecutive != 4 {
		t.Errorf("status = %+v, want enabled with 4 TOTP failures", status)
	}
}

func TestCommandResetOffline(t *testing.T) {
	path := offlineDB(t)
	out := mustRun(t, "reset", "--db", path, "--user", "alice")
	want := "Removed: TOTP, email OTP, 3 recovery codes, 1 guess counter, 1 session."
	if !strings.Contains(out, want) {
		t.Errorf("reset output lacks %q:\n%s", want, out)
	}
	out = mustRun(t, "status", "--db", path, "--user", "alice", "--json")
	var status account.UserStatus
	if err := json.Unmarshal([]byte(out), &status); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if status.Stored || status.Sessions != 0 {
		t.Errorf("status after reset = %+v, want nothing stored and no session", status)
	}

	out = mustRun(t, "audit", "--db", path)
	if !strings.Contains(out, "admin_reset") || !strings.Contains(out, "alice") {
		t.Errorf("audit after reset lacks alice's admin_reset:\n%s", out)
	}
}

func TestCommandLiftAndRevokeOffline(t *testing.T) {
	path := offlineDB(t)
	out := mustRun(t, "lift", "--db", path, "--user", "alice", "--method", "totp")
	if !strings.Contains(out, "Cleared the guess throttle of user alice (realm default): totp.") {
		t.Errorf("lift output:\n%s", out)
	}
	out = mustRun(t, "revoke", "--db", path, "--user", "alice")
	if !strings.Contains(out, "Revoked 1 session of user alice") {
		t.Errorf("revoke output:\n%s", out)
	}
	out = mustRun(t, "revoke", "--db", path, "--user", "alice")
	if !strings.Contains(out, "had no session to revoke") {
		t.Errorf("second revoke output:\n%s", out)
	}

	out = mustRun(t, "audit", "--db", path, "--user", "alice", "--json")
	var response auditResponse
	if err := json.Unmarshal([]byte(out), &response); err != nil {
		t.Fatalf("audit --json: %v\n%s", err, out)
	}
	var events []string
	for _, e := range response.Events {
		events = append(events, e.Event)
	}
	if got, want := strings.Join(events, ","), "admin_lift,admin_revoke,admin_revoke"; got != want {
		t.Errorf("audit events = %s, want %s", got, want)
	}
}

func TestCommandBackupOffline(t *testing.T) {
	path := offlineDB(t)
	backup := filepath.Join(t.TempDir(), "backup.db")
	out := mustRun(t, "backup", "--db", path, "--output", backup)
	if !strings.Contains(out, "to "+backup) {
		t.Errorf("backup output:\n%s", out)
	}
	info, err := os.Stat(backup)
	if err != nil {
		t.Fatalf("the backup file: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("backup mode = %o, want 600", mode)
	}
	out = mustRun(t, "status", "--db", backup, "--user", "alice")
	if !strings.Contains(out, "on (totp, emailOtp, recoveryCode)") {
		t.Errorf("status from the backup:\n%s", out)
	}
	entries, _ := os.ReadDir(filepath.Dir(backup))
	if len(entries) != 1 {
		t.Errorf("backup folder holds %d entries, want only the backup (no temporary file)", len(entries))
	}
}

func TestCommandErrors(t *testing.T) {
	path := offlineDB(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no user", []string{"status", "--db", path}, "missing --user"},
		{"db and address", []string{"status", "--db", path, "--address", "127.0.0.1:1", "--user", "a"},
			"exclude each other"},
		{"missing file", []string{"status", "--db", filepath.Join(t.TempDir(), "none.db"), "--user", "a"},
			"no database at"},
		{"unknown method", []string{"lift", "--db", path, "--user", "alice", "--method", "sms"},
			`unknown method "sms"`},
		{"bad limit", []string{"audit", "--db", path, "--limit", "0"}, "--limit is 0"},
		{"bad since", []string{"audit", "--db", path, "--since", "last week"}, "invalid --since"},
		{"no output", []string{"backup", "--db", path}, "missing --output"},
		{"bad address", []string{"status", "--address", "tcp/:1-9", "--user", "a"}, "invalid --address"},
		{"extra argument", []string{"status", "alice", "--db", path}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runTwofactor(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("twofactor %s: error %v, want one containing %q", strings.Join(tt.args, " "), err, tt.want)
			}
		})
	}
}

func TestCommandLockedFile(t *testing.T) {
	path := offlineDB(t)
	// A running Caddy holds the file's lock.
	db, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	defer db.Close()
	_, err = runTwofactor(t, "status", "--db", path, "--user", "alice")
	if err == nil || !strings.Contains(err.Error(), "use --address") {
		t.Errorf("status on a locked file: error %v, want one that says to use --address", err)
	}
}

func TestCommandRemote(t *testing.T) {
	h := startTestHandler(t, "default", filepath.Join(t.TempDir(), "twofactor.db"))
	enrolUser(t, h, "a/..")
	srv := newAdminServer(t)
	address := strings.TrimPrefix(srv.URL, "http://")

	out := mustRun(t, "status", "--address", address, "--user", "a/..")
	if !strings.Contains(out, "a/.. (realm default)") || !strings.Contains(out, "on (totp, recoveryCode)") {
		t.Errorf("remote status output:\n%s", out)
	}
	out = mustRun(t, "reset", "--address", address, "--user", "a/..")
	if !strings.Contains(out, "Removed: TOTP, 2 recovery codes, 1 session.") {
		t.Errorf("remote reset output:\n%s", out)
	}
	if _, ok, _ := h.sessions.Verified("a/..", "key-1"); ok {
		t.Errorf("the running handler still verifies the session after a remote reset")
	}
	out = mustRun(t, "audit", "--address", address, "--since", "1h")
	if !strings.Contains(out, "admin_reset") || !strings.Contains(out, "127.0.0.1") {
		t.Errorf("remote audit output:\n%s", out)
	}

	backup := filepath.Join(t.TempDir(), "backup.db")
	mustRun(t, "backup", "--address", address, "-o", backup)
	out = mustRun(t, "audit", "--db", backup)
	if !strings.Contains(out, "admin_reset") {
		t.Errorf("audit of the remote backup:\n%s", out)
	}

	_, err := runTwofactor(t, "status", "--address", address, "--realm", "other", "--user", "a")
	want := `no running twofactor handler has realm "other" (HTTP 404)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("remote status of an unknown realm: error %v", err)
	}
}

func TestCommandRemoteUnreachable(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	srv := newAdminServer(t)
	address := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	_, err := runTwofactor(t, "status", "--address", address, "--user", "alice")
	if err == nil || !strings.Contains(err.Error(), "Use --db") {
		t.Errorf("status with Caddy stopped: error %v, want one that says to use --db", err)
	}
}
