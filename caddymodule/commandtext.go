package caddymodule

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
)

// The readable output of the `caddy twofactor` commands. --json prints
// the same values as the admin routes return them.

func printStatus(w io.Writer, realm string, s *account.UserStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "User:\t%s (realm %s)\n", s.UserID, realm)
	if !s.Stored {
		fmt.Fprintf(tw, "2FA:\toff, nothing stored (never set up, or reset)\n")
	} else if s.Enabled {
		fmt.Fprintf(tw, "2FA:\ton (%s)\n", strings.Join(s.Methods, ", "))
	} else {
		fmt.Fprintf(tw, "2FA:\toff\n")
	}
	if s.TOTP != nil {
		fmt.Fprintf(tw, "TOTP:\tenabled %s\n", formatTime(s.TOTP.CompletedAt))
	}
	if s.PendingTOTP {
		fmt.Fprintf(tw, "TOTP set-up:\tpending, not yet enabled\n")
	}
	if s.EmailOTP != nil {
		fmt.Fprintf(tw, "Email OTP:\t%s, enabled %s\n", s.EmailOTP.Email, formatTime(s.EmailOTP.CompletedAt))
	}
	if s.RecoveryCodes != nil {
		fmt.Fprintf(tw, "Recovery codes:\t%d left, created %s\n", s.RecoveryCodes.Remaining,
			formatTime(s.RecoveryCodes.CompletedAt))
	}
	for _, method := range sortedKeys(s.Guesses) {
		fmt.Fprintf(tw, "Throttle %s:\t%s\n", method, describeGuess(s.Guesses[method]))
	}
	fmt.Fprintf(tw, "Sessions:\t%d verified\n", s.Sessions)
	fmt.Fprintf(tw, "Sudo tokens:\t%d\n", s.SudoTokens)
}

// describeGuess renders a guess counter, such as "4 consecutive failures,
// 4 in the last 24h, next guess in 2s".
func describeGuess(g account.GuessStatus) string {
	text := fmt.Sprintf("%d consecutive failures, %d in the last 24h", g.Consecutive, g.RecentFailures)
	switch {
	case g.Locked:
		text += fmt.Sprintf(", LOCKED for %s (lift clears it)", time.Duration(g.WaitSeconds)*time.Second)
	case g.WaitSeconds > 0:
		text += fmt.Sprintf(", next guess in %s", time.Duration(g.WaitSeconds)*time.Second)
	default:
		text += ", guesses allowed"
	}
	return text
}

func printReset(w io.Writer, realm string, r *account.ResetResult) {
	var removed []string
	for _, method := range r.Methods {
		removed = append(removed, methodName(method))
	}
	if r.PendingTOTP {
		removed = append(removed, "a pending TOTP set-up")
	}
	removed = appendCount(removed, r.RecoveryCodes, "recovery code")
	removed = appendCount(removed, r.GuessCounters, "guess counter")
	removed = appendCount(removed, r.Sessions, "session")
	removed = appendCount(removed, r.SudoTokens, "sudo token")
	if len(removed) == 0 {
		removed = []string{"nothing was stored"}
	}
	fmt.Fprintf(w, "Reset the 2FA of user %s (realm %s).\nRemoved: %s.\n", r.UserID, realm,
		strings.Join(removed, ", "))
}

func printLift(w io.Writer, realm string, r *account.LiftResult) {
	if len(r.Lifted) == 0 {
		fmt.Fprintf(w, "User %s (realm %s) had no guess counter to clear.\n", r.UserID, realm)
		return
	}
	fmt.Fprintf(w, "Cleared the guess throttle of user %s (realm %s): %s.\n", r.UserID, realm,
		strings.Join(r.Lifted, ", "))
}

func printRevoke(w io.Writer, realm string, r *account.RevokeResult) {
	ended := appendCount(nil, r.Sessions, "session")
	ended = appendCount(ended, r.SudoTokens, "sudo token")
	if len(ended) == 0 {
		fmt.Fprintf(w, "User %s (realm %s) had no session to revoke.\n", r.UserID, realm)
		return
	}
	fmt.Fprintf(w, "Revoked %s of user %s (realm %s).\n", strings.Join(ended, " and "), r.UserID, realm)
}

func printAudit(w io.Writer, events []account.AuditEvent) {
	if len(events) == 0 {
		fmt.Fprintln(w, "No audit events.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintln(tw, "TIME\tUSER\tEVENT\tMETHOD\tOUTCOME\tCLIENT IP")
	for _, e := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", formatTime(e.Time), e.User, e.Event,
			orDash(e.Method), orDash(e.Outcome), orDash(e.ClientIP))
	}
}

// methodName returns the readable name of a method of the API.
func methodName(method string) string {
	switch method {
	case account.MethodTOTP:
		return "TOTP"
	case account.MethodEmailOTP:
		return "email OTP"
	case account.MethodRecoveryCode:
		return "recovery codes"
	}
	return method
}

// appendCount appends "n things" to list, or nothing when n is 0.
func appendCount(list []string, n int, thing string) []string {
	switch n {
	case 0:
		return list
	case 1:
		return append(list, "1 "+thing)
	}
	return append(list, fmt.Sprintf("%d %ss", n, thing))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
