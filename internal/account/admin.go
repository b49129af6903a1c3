package account

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

// MethodAll stands for every guess counter of a user in LiftThrottle, and
// is the method of its audit event.
const MethodAll = "all"

// ErrUnknownMethod is the error of LiftThrottle given a method that is
// neither a 2FA method nor the name of one of the user's guess counters.
var ErrUnknownMethod = errors.New("unknown method")

// ErrNoUserID is the error of an admin operation given an empty user id.
var ErrNoUserID = errors.New("missing user id")

// Admin runs operator actions on the users of one realm. Every change
// writes its audit event in the same transaction as the change.
type Admin struct {
	// Store is the realm's view of the store (see store.WithRealm).
	Store store.Store
	// Sessions are the session caches of the running handlers of this
	// realm and file, empty for a file opened offline. Changes run under
	// the first one's UpdateUser and drop the user's cached sessions in
	// all of them, so no handler keeps trusting a revoked session. Their
	// Store must be the same realm of the same file as Store.
	Sessions []*Sessions
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// UserStatus is the stored 2FA state of one user, as operators see it.
type UserStatus struct {
	UserID string `json:"userId"`
	// Stored reports whether the store has a record of the user. Users
	// who never set up 2FA, and users after a reset, have none.
	Stored bool `json:"stored"`
	// Enabled reports whether TOTP or email OTP is active.
	Enabled bool `json:"enabled"`
	// Methods lists the methods a challenge may use, as the API does.
	Methods []string `json:"methods"`
	// TOTP is the active TOTP enrolment; nil when none is active.
	TOTP *TOTPStatus `json:"totp"`
	// PendingTOTP reports a TOTP secret set up but not yet enabled.
	PendingTOTP bool `json:"pendingTotp"`
	// EmailOTP is the active email OTP enrolment; nil when none is active.
	EmailOTP *EmailOTPStatus `json:"emailOtp"`
	// RecoveryCodes describes the recovery codes; nil when there are none.
	RecoveryCodes *RecoveryStatus `json:"recoveryCodes"`
	// Guesses holds one guess counter per method, by method name.
	Guesses map[string]GuessStatus `json:"guesses"`
	// Sessions is the number of verified sessions. On a file opened
	// offline, where the session policy is unknown, it is the number of
	// stored session records, which the store keeps a minute past their
	// expiry.
	Sessions int `json:"sessions"`
	// SudoTokens is the number of live sudo tokens.
	SudoTokens int `json:"sudoTokens"`
}

// TOTPStatus is an active TOTP enrolment.
type TOTPStatus struct {
	CompletedAt time.Time `json:"completedAt"`
}

// EmailOTPStatus is an active email OTP enrolment.
type EmailOTPStatus struct {
	Email       string    `json:"email"`
	CompletedAt time.Time `json:"completedAt"`
}

// RecoveryStatus is a user's set of recovery codes.
type RecoveryStatus struct {
	CompletedAt time.Time `json:"completedAt"`
	// Remaining is the number of unused codes.
	Remaining int `json:"remaining"`
}

// GuessStatus is the state of one guess counter.
type GuessStatus struct {
	// Consecutive is the number of failures since the last success.
	Consecutive int `json:"consecutive"`
	// RecentFailures is the number of failures within throttle.Window.
	RecentFailures int `json:"recentFailures"`
	// WaitSeconds is how long the next guess must wait, in whole seconds
	// rounded up; 0 when a guess is allowed now.
	WaitSeconds int64 `json:"waitSeconds"`
	// Locked reports the daily lock: throttle.DailyLimit failures within
	// throttle.Window.
	Locked bool `json:"locked"`
}

// ResetResult lists what ResetUser removed.
type ResetResult struct {
	UserID string `json:"userId"`
	// Methods are the active methods removed (totp, emailOtp).
	Methods []string `json:"methods"`
	// PendingTOTP reports that a TOTP set-up not yet enabled was removed.
	PendingTOTP bool `json:"pendingTotp"`
	// RecoveryCodes is the number of unused recovery codes removed.
	RecoveryCodes int `json:"recoveryCodes"`
	// GuessCounters is the number of guess counters removed.
	GuessCounters int `json:"guessCounters"`
	// Sessions is the number of stored sessions revoked.
	Sessions int `json:"sessions"`
	// SudoTokens is the number of sudo tokens revoked.
	SudoTokens int `json:"sudoTokens"`
}

// LiftResult lists the guess counters LiftThrottle cleared.
type LiftResult struct {
	UserID string `json:"userId"`
	// Lifted are the methods whose counters were cleared, sorted.
	Lifted []string `json:"lifted"`
}

// RevokeResult counts what RevokeSessions ended.
type RevokeResult struct {
	UserID string `json:"userId"`
	// Sessions is the number of stored sessions revoked.
	Sessions int `json:"sessions"`
	// SudoTokens is the number of sudo tokens revoked.
	SudoTokens int `json:"sudoTokens"`
}

func (a *Admin) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

// update runs fn in a write transaction about one user, dropping the
// user's cached sessions in every handler before fn runs and after the
// commit, as Sessions.UpdateUser does for one handler.
func (a *Admin) update(userID string, fn func(tx store.Tx) error) error {
	if len(a.Sessions) == 0 {
		return a.Store.Update(fn)
	}
	others := a.Sessions[1:]
	for _, s := range others {
		s.bump(userID)
	}
	defer func() {
		for _, s := range others {
			s.bump(userID)
		}
	}()
	return a.Sessions[0].UpdateUser(userID, fn)
}

// UserStatus returns the stored 2FA state of a user.
func (a *Admin) UserStatus(userID string) (*UserStatus, error) {
	if userID == "" {
		return nil, ErrNoUserID
	}
	now := a.now()
	var status *UserStatus
	err := a.Store.View(func(tx store.Tx) error {
		raw, err := tx.Get(store.BucketUsers, userID)
		if err != nil {
			return err
		}
		u, err := LoadUser(tx, userID)
		if err != nil {
			return err
		}
		status = newUserStatus(u, now)
		status.Stored = raw != nil

		live := func(*Session) bool { return true }
		if len(a.Sessions) > 0 {
			policy := a.Sessions[0].Policy
			live = func(s *Session) bool { return now.Before(policy.expires(s)) }
		}
		if status.Sessions, err = countSessions(tx, userID, live); err != nil {
			return err
		}
		status.SudoTokens, err = countSudoTokens(tx, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the status of user %q: %w", userID, err)
	}
	return status, nil
}

// newUserStatus describes the record u at now, without sessions.
func newUserStatus(u *User, now time.Time) *UserStatus {
	status := &UserStatus{
		UserID:      u.ID,
		Enabled:     u.Enabled(),
		Methods:     u.ActiveMethods(),
		PendingTOTP: u.PendingTOTP != nil,
		Guesses:     map[string]GuessStatus{},
	}
	if u.TOTP != nil {
		status.TOTP = &TOTPStatus{CompletedAt: u.TOTP.CompletedAt.UTC()}
	}
	if u.EmailOTP != nil {
		status.EmailOTP = &EmailOTPStatus{Email: u.EmailOTP.Email, CompletedAt: u.EmailOTP.CompletedAt.UTC()}
	}
	if u.Recovery != nil {
		status.RecoveryCodes = &RecoveryStatus{
			CompletedAt: u.Recovery.CompletedAt.UTC(),
			Remaining:   len(u.Recovery.MACs),
		}
	}
	for method, g := range u.Guesses {
		if g == nil {
			continue
		}
		recent := 0
		for _, at := range g.Failures {
			if now.Sub(at) < throttle.Window {
				recent++
			}
		}
		wait := g.Wait(now)
		status.Guesses[method] = GuessStatus{
			Consecutive:    g.Consecutive,
			RecentFailures: recent,
			WaitSeconds:    int64((wait + time.Second - 1) / time.Second),
			Locked:         g.Locked(now),
		}
	}
	return status
}

// ResetUser deletes the user's record (every method, recovery code,
// pending code and guess counter), revokes every session and sudo token
// of the user, and audits AuditAdminReset with clientIP. Afterwards the
// user is as one who never set up 2FA. The email index stays: it records
// what the identity source reported, not 2FA state.
func (a *Admin) ResetUser(userID, clientIP string) (*ResetResult, error) {
	if userID == "" {
		return nil, ErrNoUserID
	}
	result := &ResetResult{UserID: userID, Methods: []string{}}
	err := a.update(userID, func(tx store.Tx) error {
		u, err := LoadUser(tx, userID)
		if err != nil {
			return err
		}
		if u.TOTP != nil {
			result.Methods = append(result.Methods, MethodTOTP)
		}
		if u.EmailOTP != nil {
			result.Methods = append(result.Methods, MethodEmailOTP)
		}
		result.PendingTOTP = u.PendingTOTP != nil
		if u.Recovery != nil {
			result.RecoveryCodes = len(u.Recovery.MACs)
		}
		result.GuessCounters = len(u.Guesses)
		if err := tx.Delete(store.BucketUsers, userID); err != nil {
			return err
		}
		if err := a.revoke(tx, userID, &result.Sessions, &result.SudoTokens); err != nil {
			return err
		}
		return AppendAudit(tx, AuditEvent{Time: a.now(), User: userID, Event: AuditAdminReset,
			Method: MethodAll, Outcome: OutcomeSuccess, ClientIP: clientIP})
	})
	if err != nil {
		return nil, fmt.Errorf("resetting user %q: %w", userID, err)
	}
	return result, nil
}

// LiftThrottle clears the guess counter of method, daily lock included,
// or every counter of the user when method is MethodAll or empty, and
// audits AuditAdminLift. A method without a counter is no error.
func (a *Admin) LiftThrottle(userID, method, clientIP string) (*LiftResult, error) {
	if userID == "" {
		return nil, ErrNoUserID
	}
	if method == "" {
		method = MethodAll
	}
	result := &LiftResult{UserID: userID, Lifted: []string{}}
	err := a.update(userID, func(tx store.Tx) error {
		u, err := LoadUser(tx, userID)
		if err != nil {
			return err
		}
		_, counted := u.Guesses[method]
		known := slices.Contains([]string{MethodAll, MethodTOTP, MethodEmailOTP, MethodRecoveryCode}, method)
		if !counted && !known {
			return fmt.Errorf("%w %q: want %s, %s, %s or %s", ErrUnknownMethod, method,
				MethodTOTP, MethodEmailOTP, MethodRecoveryCode, MethodAll)
		}
		for name := range u.Guesses {
			if method == MethodAll || name == method {
				// No counter reads as a counter without failures.
				delete(u.Guesses, name)
				result.Lifted = append(result.Lifted, name)
			}
		}
		sort.Strings(result.Lifted)
		if len(result.Lifted) > 0 {
			if err := SaveUser(tx, u); err != nil {
				return err
			}
		}
		return AppendAudit(tx, AuditEvent{Time: a.now(), User: userID, Event: AuditAdminLift,
			Method: method, Outcome: OutcomeSuccess, ClientIP: clientIP})
	})
	if err != nil {
		return nil, fmt.Errorf("lifting the throttle of user %q: %w", userID, err)
	}
	return result, nil
}

// RevokeSessions ends every verified session and sudo token of the user,
// so each of the user's logins must pass a second factor again, and
// audits AuditAdminRevoke.
func (a *Admin) RevokeSessions(userID, clientIP string) (*RevokeResult, error) {
	if userID == "" {
		return nil, ErrNoUserID
	}
	result := &RevokeResult{UserID: userID}
	err := a.update(userID, func(tx store.Tx) error {
		if err := a.revoke(tx, userID, &result.Sessions, &result.SudoTokens); err != nil {
			return err
		}
		return AppendAudit(tx, AuditEvent{Time: a.now(), User: userID, Event: AuditAdminRevoke,
			Method: MethodAll, Outcome: OutcomeSuccess, ClientIP: clientIP})
	})
	if err != nil {
		return nil, fmt.Errorf("revoking the sessions of user %q: %w", userID, err)
	}
	return result, nil
}

// revoke counts the user's stored sessions and sudo tokens into sessions
// and sudoTokens, then revokes them all.
func (a *Admin) revoke(tx store.Tx, userID string, sessions, sudoTokens *int) error {
	var err error
	if *sessions, err = countSessions(tx, userID, func(*Session) bool { return true }); err != nil {
		return err
	}
	if *sudoTokens, err = countSudoTokens(tx, userID); err != nil {
		return err
	}
	// RevokeUser reads no field of Sessions, so a zero value serves for
	// a file opened offline; a.update drops the caches of running ones.
	return new(Sessions).RevokeUser(tx, userID, "")
}

// countSessions counts the user's stored sessions for which live is true.
func countSessions(tx store.Tx, userID string, live func(*Session) bool) (int, error) {
	n := 0
	err := tx.Scan(store.BucketSessions, sessionPrefix(userID), func(_ string, raw []byte) error {
		var s Session
		if json.Unmarshal(raw, &s) == nil && s.UserID == userID && live(&s) {
			n++
		}
		return nil
	})
	return n, err
}

// countSudoTokens counts the user's live sudo tokens.
func countSudoTokens(tx store.Tx, userID string) (int, error) {
	n := 0
	err := tx.Scan(store.BucketSudo, "", func(_ string, raw []byte) error {
		var t SudoToken
		if json.Unmarshal(raw, &t) == nil && t.UserID == userID {
			n++
		}
		return nil
	})
	return n, err
}
