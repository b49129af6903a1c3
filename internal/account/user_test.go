package account

import (
	"slices"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

func TestUserActiveMethods(t *testing.T) {
	totp := &TOTP{SealedSecret: []byte("sealed")}
	email := &EmailOTP{Email: "a@example.com"}
	codes := &Recovery{MACs: []string{"m1"}}
	used := &Recovery{MACs: []string{}}

	tests := []struct {
		name        string
		user        User
		wantEnabled bool
		want        []string
	}{
		{"empty", User{}, false, []string{}},
		{"pending only", User{PendingTOTP: totp}, false, []string{}},
		{"recovery only", User{Recovery: codes}, false, []string{}},
		{"totp", User{TOTP: totp}, true, []string{MethodTOTP}},
		{"totp and codes", User{TOTP: totp, Recovery: codes}, true, []string{MethodTOTP, MethodRecoveryCode}},
		{"totp, codes used up", User{TOTP: totp, Recovery: used}, true, []string{MethodTOTP}},
		{"email and codes", User{EmailOTP: email, Recovery: codes}, true, []string{MethodEmailOTP, MethodRecoveryCode}},
		{"all", User{TOTP: totp, EmailOTP: email, Recovery: codes}, true,
			[]string{MethodTOTP, MethodEmailOTP, MethodRecoveryCode}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.user.Enabled(); got != tt.wantEnabled {
				t.Errorf("Enabled = %v, want %v", got, tt.wantEnabled)
			}
			got := tt.user.ActiveMethods()
			if got == nil {
				t.Error("ActiveMethods = nil, want a non-nil list (it encodes as [])")
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ActiveMethods = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUserGuessCounter(t *testing.T) {
	var u User
	g := u.Guess(MethodTOTP)
	if g == nil {
		t.Fatal("Guess = nil")
	}
	g.Fail(t0)
	if again := u.Guess(MethodTOTP); again != g || again.Consecutive != 1 {
		t.Errorf("second Guess(totp) = %p (consecutive %d), want the same counter %p with 1", again, again.Consecutive, g)
	}
	if other := u.Guess(MethodRecoveryCode); other == g || other.Consecutive != 0 {
		t.Errorf("Guess(recoveryCode) shares the TOTP counter or has failures: %+v", other)
	}
}

func TestLoadUserMissing(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	var u *User
	err := s.Store.View(func(tx store.Tx) error {
		var err error
		u, err = LoadUser(tx, "alice")
		return err
	})
	if err != nil {
		t.Fatalf("LoadUser: %v", err)
	}
	if u.ID != "alice" || u.Enabled() || u.Recovery != nil || u.PendingTOTP != nil {
		t.Errorf("LoadUser of a new user = %+v, want an empty record for alice", u)
	}
}

func TestSaveUserRoundTrip(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	in := &User{
		ID:       "alice",
		TOTP:     &TOTP{SealedSecret: []byte{1, 2, 3}, Skew: 1, LastStep: 42, CompletedAt: t0},
		Recovery: &Recovery{MACs: []string{"m1", "m2"}, CompletedAt: t0},
	}
	in.Guess(MethodTOTP).Fail(t0)

	var out *User
	err := s.Store.Update(func(tx store.Tx) error {
		if err := SaveUser(tx, in); err != nil {
			return err
		}
		var err error
		out, err = LoadUser(tx, "alice")
		return err
	})
	if err != nil {
		t.Fatalf("SaveUser/LoadUser: %v", err)
	}
	if out.TOTP == nil || out.TOTP.LastStep != 42 || out.TOTP.Skew != 1 || string(out.TOTP.SealedSecret) != "\x01\x02\x03" {
		t.Errorf("TOTP after the round trip = %+v, want %+v", out.TOTP, in.TOTP)
	}
	if out.Recovery == nil || !slices.Equal(out.Recovery.MACs, in.Recovery.MACs) {
		t.Errorf("Recovery after the round trip = %+v, want %+v", out.Recovery, in.Recovery)
	}
	if got := out.Guess(MethodTOTP); got.Consecutive != 1 || len(got.Failures) != 1 {
		t.Errorf("TOTP counter after the round trip = %+v, want one failure", got)
	}
}

func TestLoadUserRejectsForeignRecord(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	tests := []struct {
		name string
		raw  string
	}{
		{"other id", `{"id":"bob"}`},
		{"corrupt", `{"id":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Store.Update(func(tx store.Tx) error {
				return tx.Put(store.BucketUsers, "alice", []byte(tt.raw), time.Time{})
			})
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			err = s.Store.View(func(tx store.Tx) error {
				_, err := LoadUser(tx, "alice")
				return err
			})
			if err == nil {
				t.Errorf("LoadUser of %s: no error", tt.raw)
			}
		})
	}
}
