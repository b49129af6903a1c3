package account

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

// enrolledAlice stores a user with TOTP, a pending TOTP, email OTP, three
// recovery codes and failures on two guess counters, two verified
// sessions and one sudo token. Bob gets a session and a sudo token, to
// show that operations on alice leave him alone.
func enrolledAlice(t *testing.T, s *Sessions, clock *fakeClock) {
	t.Helper()
	now := clock.Now()
	totp := &throttle.Guess{}
	for i := range throttle.DailyLimit {
		totp.Fail(now.Add(time.Duration(i-throttle.DailyLimit) * time.Minute))
	}
	recovery := &throttle.Guess{}
	recovery.Fail(now.Add(-25 * time.Hour)) // outside the window
	recovery.Fail(now.Add(-time.Minute))
	alice := &User{
		ID:          "alice",
		TOTP:        &TOTP{SealedSecret: []byte("sealed"), CompletedAt: now.Add(-time.Hour)},
		PendingTOTP: &TOTP{SealedSecret: []byte("pending")},
		EmailOTP:    &EmailOTP{Email: "alice@example.com", CompletedAt: now.Add(-2 * time.Hour)},
		Recovery:    &Recovery{MACs: []string{"a", "b", "c"}, CompletedAt: now.Add(-time.Hour)},
		Guesses:     map[string]*throttle.Guess{MethodTOTP: totp, MethodRecoveryCode: recovery},
	}
	err := s.Store.Update(func(tx store.Tx) error {
		if err := SaveUser(tx, alice); err != nil {
			return err
		}
		return SaveUser(tx, &User{ID: "bob", TOTP: &TOTP{SealedSecret: []byte("bob")}})
	})
	if err != nil {
		t.Fatalf("storing users: %v", err)
	}
	verify(t, s, "alice", "key-1", "", MethodTOTP)
	verify(t, s, "alice", "key-2", "", MethodEmailOTP)
	verify(t, s, "bob", "key-b", "", MethodTOTP)
	putSudo(t, s, "mac-a", &SudoToken{UserID: "alice", SessionKey: "key-1", Expires: now.Add(5 * time.Minute)})
	putSudo(t, s, "mac-b", &SudoToken{UserID: "bob", SessionKey: "key-b", Expires: now.Add(5 * time.Minute)})
}

func loadUser(t *testing.T, s store.Store, id string) *User {
	t.Helper()
	var u *User
	err := s.View(func(tx store.Tx) error {
		var err error
		u, err = LoadUser(tx, id)
		return err
	})
	if err != nil {
		t.Fatalf("LoadUser(%q): %v", id, err)
	}
	return u
}

func TestAdminUserStatus(t *testing.T) {
	s, clock := newSessions(t, defaultPolicy)
	enrolledAlice(t, s, clock)
	clock.Advance(time.Minute)
	admin := &Admin{Store: s.Store, Sessions: []*Sessions{s}, Now: clock.Now}

	got, err := admin.UserStatus("alice")
	if err != nil {
		t.Fatalf("UserStatus: %v", err)
	}
	if !got.Stored || !got.Enabled {
		t.Errorf("stored, enabled = %v, %v; want true, true", got.Stored, got.Enabled)
	}
	if want := []string{MethodTOTP, MethodEmailOTP, MethodRecoveryCode}; !slices.Equal(got.Methods, want) {
		t.Errorf("methods = %v, want %v", got.Methods, want)
	}
	if got.TOTP == nil || !got.TOTP.CompletedAt.Equal(t0.Add(-time.Hour)) {
		t.Errorf("totp = %+v, want completedAt %v", got.TOTP, t0.Add(-time.Hour))
	}
	if !got.PendingTOTP {
		t.Errorf("pendingTotp = false, want true")
	}
	if got.EmailOTP == nil || got.EmailOTP.Email != "alice@example.com" {
		t.Errorf("emailOtp = %+v, want alice@example.com", got.EmailOTP)
	}
	if got.RecoveryCodes == nil || got.RecoveryCodes.Remaining != 3 {
		t.Errorf("recoveryCodes = %+v, want 3 remaining", got.RecoveryCodes)
	}
	totp := got.Guesses[MethodTOTP]
	if !totp.Locked || totp.RecentFailures != throttle.DailyLimit || totp.WaitSeconds <= 0 {
		t.Errorf("totp guesses = %+v, want locked with %d recent failures and a wait",
			totp, throttle.DailyLimit)
	}
	recovery := got.Guesses[MethodRecoveryCode]
	want := GuessStatus{Consecutive: 2, RecentFailures: 1, WaitSeconds: 0, Locked: false}
	if recovery != want {
		t.Errorf("recoveryCode guesses = %+v, want %+v", recovery, want)
	}
	if got.Sessions != 2 {
		t.Errorf("sessions = %d, want 2", got.Sessions)
	}
	if got.SudoTokens != 1 {
		t.Errorf("sudoTokens = %d, want 1", got.SudoTokens)
	}
}

func TestAdminUserStatusSessionPolicy(t *testing.T) {
	s, clock := newSessions(t, defaultPolicy)
	enrolledAlice(t, s, clock)
	// Past the idle limit the sessions are no longer verified, though the
	// store keeps their records a minute longer.
	clock.Advance(defaultPolicy.Idle)
	running := &Admin{Store: s.Store, Sessions: []*Sessions{s}, Now: clock.Now}
	offline := &Admin{Store: s.Store, Now: clock.Now}
	tests := []struct {
		name  string
		admin *Admin
		want  int
	}{
		{"running", running, 0},
		{"offline", offline, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.admin.UserStatus("alice")
			if err != nil {
				t.Fatalf("UserStatus: %v", err)
			}
			if got.Sessions != tt.want {
				t.Errorf("sessions = %d, want %d", got.Sessions, tt.want)
			}
		})
	}
}

func TestAdminUserStatusUnknownUser(t *testing.T) {
	s, clock := newSessions(t, defaultPolicy)
	got, err := (&Admin{Store: s.Store, Now: clock.Now}).UserStatus("nobody")
	if err != nil {
		t.Fatalf("UserStatus: %v", err)
	}
	if got.Stored || got.Enabled || len(got.Methods) != 0 || got.Sessions != 0 {
		t.Errorf("status of an unknown user = %+v, want nothing stored", got)
	}
}

func TestAdminEmptyUserID(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	admin := &Admin{Store: s.Store}
	calls := map[string]func() error{
		"UserStatus":     func() error { _, err := admin.UserStatus(""); return err },
		"ResetUser":      func() error { _, err := admin.ResetUser("", ""); return err },
		"LiftThrottle":   func() error { _, err := admin.LiftThrottle("", "", ""); return err },
		"RevokeSessions": func() error { _, err := admin.RevokeSessions("", ""); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrNoUserID) {
			t.Errorf("%s with an empty user id: error %v, want ErrNoUserID", name, err)
		}
	}
}

func TestAdminResetUser(t *testing.T) {
	s, clock := newSessions(t, defaultPolicy)
	enrolledAlice(t, s, clock)
	// A second handler of the same realm and file has its own cache.
	other := &Sessions{Store: s.Store, Policy: defaultPolicy, Now: clock.Now}
	for _, cache := range []*Sessions{s, other} {
		if _, ok := verified(t, cache, "alice", "key-1"); !ok {
			t.Fatalf("alice's session is not verified before the reset")
		}
	}
	admin := &Admin{Store: s.Store, Sessions: []*Sessions{s, other}, Now: clock.Now}

	got, err := admin.ResetUser("alice", "192.0.2.7")
	if err != nil {
		t.Fatalf("ResetUser: %v", err)
	}
	want := ResetResult{UserID: "alice", Methods: []string{MethodTOTP, MethodEmailOTP}, PendingTOTP: true,
		RecoveryCodes: 3, GuessCounters: 2, Sessions: 2, SudoTokens: 1}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("ResetUser = %+v, want %+v", *got, want)
	}

	if u := loadUser(t, s.Store, "alice"); u.Enabled() || u.Recovery != nil || len(u.Guesses) != 0 {
		t.Errorf("alice after reset = %+v, want an empty record", u)
	}
	for i, cache := range []*Sessions{s, other} {
		if _, ok := verified(t, cache, "alice", "key-1"); ok {
			t.Errorf("handler %d still verifies alice's session after the reset", i)
		}
	}
	if getSudo(t, s, "mac-a") != nil {
		t.Errorf("alice's sudo token survived the reset")
	}
	checkBobUntouched(t, s)

	events := listEvents(t, s.Store, AuditFilter{User: "alice"})
	wantEvent := AuditEvent{Time: t0, User: "alice", Event: AuditAdminReset, Method: MethodAll,
		Outcome: OutcomeSuccess, ClientIP: "192.0.2.7"}
	if len(events) != 1 || events[0] != wantEvent {
		t.Errorf("audit after reset = %+v, want [%+v]", events, wantEvent)
	}
}

// checkBobUntouched checks that an operation on alice left bob's record,
// session and sudo token in place.
func checkBobUntouched(t *testing.T, s *Sessions) {
	t.Helper()
	if u := loadUser(t, s.Store, "bob"); !u.Enabled() {
		t.Errorf("bob lost his TOTP")
	}
	if _, ok := verified(t, s, "bob", "key-b"); !ok {
		t.Errorf("bob's session was revoked")
	}
	if getSudo(t, s, "mac-b") == nil {
		t.Errorf("bob's sudo token was revoked")
	}
}

func TestAdminResetOffline(t *testing.T) {
	s, clock := newSessions(t, defaultPolicy)
	enrolledAlice(t, s, clock)
	admin := &Admin{Store: s.Store, Now: clock.Now}
	got, err := admin.ResetUser("alice", "")
	if err != nil {
		t.Fatalf("ResetUser: %v", err)
	}
	if got.Sessions != 2 || got.SudoTokens != 1 {
		t.Errorf("revoked sessions, sudo tokens = %d, %d; want 2, 1", got.Sessions, got.SudoTokens)
	}
	if storedSession(t, s, "alice", "key-2") != nil {
		t.Errorf("alice's session record survived an offline reset")
	}
}

func TestAdminLiftThrottle(t *testing.T) {
	tests := []struct {
		method   string
		lifted   []string
		remains  []string
		auditFor string
	}{
		{MethodTOTP, []string{MethodTOTP}, []string{MethodRecoveryCode}, MethodTOTP},
		{MethodAll, []string{MethodRecoveryCode, MethodTOTP}, nil, MethodAll},
		{"", []string{MethodRecoveryCode, MethodTOTP}, nil, MethodAll},
		{MethodEmailOTP, []string{}, []string{MethodRecoveryCode, MethodTOTP}, MethodEmailOTP},
	}
	for _, tt := range tests {
		t.Run("method "+tt.method, func(t *testing.T) {
			s, clock := newSessions(t, defaultPolicy)
			enrolledAlice(t, s, clock)
			admin := &Admin{Store: s.Store, Sessions: []*Sessions{s}, Now: clock.Now}
			got, err := admin.LiftThrottle("alice", tt.method, "192.0.2.7")
			if err != nil {
				t.Fatalf("LiftThrottle: %v", err)
			}
			if !slices.Equal(got.Lifted, tt.lifted) {
				t.Errorf("lifted = %v, want %v", got.Lifted, tt.lifted)
			}
			u := loadUser(t, s.Store, "alice")
			var remains []string
			for method := range u.Guesses {
				remains = append(remains, method)
			}
			slices.Sort(remains)
			if !slices.Equal(remains, tt.remains) {
				t.Errorf("counters left = %v, want %v", remains, tt.remains)
			}
			if !u.Enabled() {
				t.Errorf("LiftThrottle removed alice's methods")
			}
			if _, ok := verified(t, s, "alice", "key-1"); !ok {
				t.Errorf("LiftThrottle revoked alice's session")
			}
			events := listEvents(t, s.Store, AuditFilter{User: "alice"})
			if len(events) != 1 || events[0].Event != AuditAdminLift || events[0].Method != tt.auditFor {
				t.Errorf("audit = %+v, want one admin_lift of %s", events, tt.auditFor)
			}
		})
	}
}

func TestAdminLiftUnknownMethod(t *testing.T) {
	s, clock := newSessions(t, defaultPolicy)
	enrolledAlice(t, s, clock)
	admin := &Admin{Store: s.Store, Now: clock.Now}
	if _, err := admin.LiftThrottle("alice", "topt", ""); !errors.Is(err, ErrUnknownMethod) {
		t.Errorf("LiftThrottle(topt) error = %v, want ErrUnknownMethod", err)
	}
	if events := listEvents(t, s.Store, AuditFilter{}); len(events) != 0 {
		t.Errorf("audit after a rejected lift = %+v, want none", events)
	}
}

func TestAdminRevokeSessions(t *testing.T) {
	s, clock := newSessions(t, defaultPolicy)
	enrolledAlice(t, s, clock)
	admin := &Admin{Store: s.Store, Sessions: []*Sessions{s}, Now: clock.Now}
	got, err := admin.RevokeSessions("alice", "192.0.2.7")
	if err != nil {
		t.Fatalf("RevokeSessions: %v", err)
	}
	if want := (RevokeResult{UserID: "alice", Sessions: 2, SudoTokens: 1}); *got != want {
		t.Errorf("RevokeSessions = %+v, want %+v", *got, want)
	}
	for _, key := range []string{"key-1", "key-2"} {
		if _, ok := verified(t, s, "alice", key); ok {
			t.Errorf("session %s still verified after RevokeSessions", key)
		}
	}
	if u := loadUser(t, s.Store, "alice"); !u.Enabled() || u.Recovery == nil {
		t.Errorf("RevokeSessions changed alice's methods: %+v", u)
	}
	if _, ok := verified(t, s, "bob", "key-b"); !ok {
		t.Errorf("bob's session was revoked")
	}
	events := listEvents(t, s.Store, AuditFilter{})
	if len(events) != 1 || events[0].Event != AuditAdminRevoke || events[0].User != "alice" {
		t.Errorf("audit = %+v, want one admin_revoke of alice", events)
	}
}
