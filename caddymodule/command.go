package caddymodule

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name: "twofactor",
		Usage: "<status|reset|lift|revoke|audit|backup> [--user <id>] [--realm <name>] " +
			"[--address <addr> | --db <file>] [--json]",
		Short: "Shows and repairs the 2FA state of users of the twofactor handler",
		Long: `
Operator commands of the twofactor handler: show a user's 2FA state, reset
it (a user who lost their phone), lift a guess throttle, revoke sessions,
print the audit log and back up the database.

By default a command acts on the running Caddy through its admin endpoint
(--address, default localhost:2019), so the running handlers drop what they
cached about the user. When Caddy is stopped, --db <file> acts on the
database file directly. A running Caddy holds the file's lock, and then
--db fails with a message to use --address instead.

The admin routes these commands use are as powerful as the admin endpoint
itself: keep it local, as Caddy does by default.
`,
		CobraFunc: addTwofactorCommands,
	})
}

// offlineOpenTimeout is how long --db waits for the file lock. A running
// Caddy holds it for as long as it runs, so waiting longer helps no one.
const offlineOpenTimeout = time.Second

// addTwofactorCommands adds the subcommands of `caddy twofactor` to cmd.
func addTwofactorCommands(cmd *cobra.Command) {
	userCommand := func(use, short string, run func(*cobra.Command, operator, string) error) *cobra.Command {
		sub := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs}
		addTargetFlags(sub)
		sub.Flags().String("user", "", "User id to act on (required)")
		sub.RunE = func(c *cobra.Command, _ []string) error {
			user, _ := c.Flags().GetString("user")
			if user == "" {
				return fmt.Errorf("missing --user: name the user id to act on")
			}
			return withOperator(c, func(op operator) error { return run(c, op, user) })
		}
		return sub
	}

	cmd.AddCommand(userCommand("status --user <id>",
		"Shows a user's methods, throttles and sessions", runStatus))
	cmd.AddCommand(userCommand("reset --user <id>",
		"Removes a user's 2FA (methods, recovery codes, throttles) and revokes their sessions", runReset))
	lift := userCommand("lift --user <id> [--method <name>]",
		"Clears a user's guess throttle, daily lock included", runLift)
	lift.Flags().String("method", account.MethodAll,
		"Guess counter to clear: totp, emailOtp, recoveryCode or all")
	cmd.AddCommand(lift)
	cmd.AddCommand(userCommand("revoke --user <id>",
		"Ends every verified session and sudo token of a user", runRevoke))

	audit := &cobra.Command{
		Use:   "audit [--user <id>] [--since <time>] [--limit <n>]",
		Short: "Prints the audit log of a realm, oldest event first",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withOperator(c, func(op operator) error { return runAudit(c, op) })
		},
	}
	addTargetFlags(audit)
	audit.Flags().String("user", "", "Print only the events of this user id (default: every user)")
	audit.Flags().String("since", "", "Print only events at or after this RFC 3339 time, "+
		"or within this duration before now, such as 24h (default: no bound)")
	audit.Flags().Int("limit", defaultAuditLimit, fmt.Sprintf("Print at most this many events, "+
		"the newest ones, from 1 to %d", maxAuditLimit))
	cmd.AddCommand(audit)

	backup := &cobra.Command{
		Use:   "backup --output <file>",
		Short: "Writes a consistent copy of the database file",
		Long: `
Writes a consistent copy of the whole database file, every realm included,
taken in one read transaction while Caddy keeps serving. The copy holds the
sealed TOTP secrets but not the secret_key that opens them; keep both safe.
With --address, --realm picks the running database to copy.
`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withOperator(c, func(op operator) error { return runBackup(c, op) })
		},
	}
	addTargetFlags(backup)
	backup.Flags().StringP("output", "o", "", "File to write the copy to, created with mode 0600, "+
		"or - for standard output (required)")
	cmd.AddCommand(backup)
}

// addTargetFlags adds the flags that pick the database and realm.
func addTargetFlags(cmd *cobra.Command) {
	cmd.Flags().String("realm", DefaultRealm, "Realm of the twofactor handler, as its realm setting names it")
	cmd.Flags().String("address", caddy.DefaultAdminListen,
		"Admin endpoint of the running Caddy to act through")
	cmd.Flags().String("db", "", "Database file to act on directly, while Caddy is stopped "+
		"(instead of --address)")
	cmd.Flags().Bool("json", false, "Print the result as JSON")
}

// withOperator runs fn with the operator the flags of cmd pick: the file
// of --db, or else the admin endpoint of --address.
func withOperator(cmd *cobra.Command, fn func(operator) error) error {
	flags := cmd.Flags()
	realm, _ := flags.GetString("realm")
	address, _ := flags.GetString("address")
	dbPath, _ := flags.GetString("db")
	if dbPath != "" && flags.Changed("address") {
		return fmt.Errorf("--db and --address exclude each other: use --db while Caddy is stopped, " +
			"--address while it runs")
	}
	if dbPath == "" {
		op, err := newRemoteOperator(address, realm)
		if err != nil {
			return err
		}
		return fn(op)
	}
	op, err := openFileOperator(dbPath, realm)
	if err != nil {
		return err
	}
	defer op.close()
	return fn(op)
}

func runStatus(cmd *cobra.Command, op operator, user string) error {
	status, err := op.status(user)
	if err != nil {
		return err
	}
	return printResult(cmd, status, func(w io.Writer) { printStatus(w, op.realm(), status) })
}

func runReset(cmd *cobra.Command, op operator, user string) error {
	result, err := op.reset(user)
	if err != nil {
		return err
	}
	return printResult(cmd, result, func(w io.Writer) { printReset(w, op.realm(), result) })
}

func runLift(cmd *cobra.Command, op operator, user string) error {
	method, _ := cmd.Flags().GetString("method")
	result, err := op.lift(user, method)
	if err != nil {
		return err
	}
	return printResult(cmd, result, func(w io.Writer) { printLift(w, op.realm(), result) })
}

func runRevoke(cmd *cobra.Command, op operator, user string) error {
	result, err := op.revoke(user)
	if err != nil {
		return err
	}
	return printResult(cmd, result, func(w io.Writer) { printRevoke(w, op.realm(), result) })
}

func runAudit(cmd *cobra.Command, op operator) error {
	flags := cmd.Flags()
	user, _ := flags.GetString("user")
	since, _ := flags.GetString("since")
	limit, _ := flags.GetInt("limit")
	if limit < 1 || limit > maxAuditLimit {
		return fmt.Errorf("--limit is %d, want a number from 1 to %d", limit, maxAuditLimit)
	}
	filter := account.AuditFilter{User: user, Limit: limit}
	if since != "" {
		t, err := parseSince(since, time.Now())
		if err != nil {
			return fmt.Errorf("invalid --since: %v", err)
		}
		filter.Since = t
	}
	events, err := op.audit(filter)
	if err != nil {
		return err
	}
	return printResult(cmd, auditResponse{Events: events}, func(w io.Writer) { printAudit(w, events) })
}

// backupResult is the JSON output of the backup command.
type backupResult struct {
	Output string `json:"output"`
	Bytes  int64  `json:"bytes"`
}

func runBackup(cmd *cobra.Command, op operator) error {
	output, _ := cmd.Flags().GetString("output")
	if output == "" {
		return fmt.Errorf("missing --output: name the file to write the copy to, or - for standard output")
	}
	if output == "-" {
		_, err := op.backup(cmd.OutOrStdout())
		return err
	}
	n, err := writeFileAtomically(output, op.backup)
	if err != nil {
		return err
	}
	result := backupResult{Output: output, Bytes: n}
	return printResult(cmd, result, func(w io.Writer) {
		fmt.Fprintf(w, "Wrote a copy of the database (%d bytes) to %s.\n", n, output)
	})
}

// writeFileAtomically writes a new file at path through a temporary file
// in the same folder, mode 0600, which it renames into place only after
// write succeeded and the data reached the disk. A failure leaves no
// partial copy behind.
func writeFileAtomically(path string, write func(io.Writer) (int64, error)) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("creating the backup file: %v", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename

	n, err := write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return 0, fmt.Errorf("writing the backup to %s: %v", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, fmt.Errorf("moving the backup into place at %s: %v", path, err)
	}
	return n, nil
}

// printResult prints v as indented JSON under --json, or else calls text.
func printResult(cmd *cobra.Command, v any, text func(io.Writer)) error {
	w := cmd.OutOrStdout()
	if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(w)
	return nil
}
