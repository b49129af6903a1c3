package api

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

var errRolledBack = errors.New("rolled back by the test")

// rerunStore runs each Batch function twice, as bbolt does when another
// function of the same batch fails. The first run's transaction is rolled
// back, then between runs, then the function runs again and commits.
type rerunStore struct {
	store.Store
	between func()
}

func (s *rerunStore) Batch(fn func(store.Tx) error) error {
	err := s.Store.Update(func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errRolledBack
	})
	if err != nil && !errors.Is(err, errRolledBack) {
		return err
	}
	s.between()
	return s.Store.Batch(fn)
}

// setLastStep sets the last TOTP time step a user passed with.
func (f *fixture) setLastStep(userID string, step int64) {
	f.t.Helper()
	err := f.server.Store.Update(func(tx store.Tx) error {
		u, err := account.LoadUser(tx, userID)
		if err != nil {
			return err
		}
		u.TOTP.LastStep = step
		return account.SaveUser(tx, u)
	})
	if err != nil {
		f.t.Fatalf("setting the last step: %v", err)
	}
}

func TestAuthenticateTOTPRerunPasses(t *testing.T) {
	f := newFixture(t)
	secret, _ := f.enroll(caller("alice", "key-a"))
	f.clock.Advance(30 * time.Second)
	step := f.clock.Now().Unix() / 30

	// The first run finds the code used; by the second it is fresh again.
	f.setLastStep("alice", step)
	f.server.Sessions.Store = &rerunStore{Store: f.server.Sessions.Store, between: func() {
		f.setLastStep("alice", step-1)
	}}
	second := caller("alice", "key-b")
	v, e := f.server.AuthenticateTOTP(second, totpCode(secret, f.clock.Now()))
	if e != nil {
		t.Fatalf("AuthenticateTOTP = %v, want the committed run's pass", e)
	}
	if v == nil || v.SudoToken == "" {
		t.Errorf("verification = %+v, want a sudo token", v)
	}
	if !f.verified(second) {
		t.Error("session not verified after a pass")
	}
}

func TestAuthenticateTOTPRerunRejects(t *testing.T) {
	f := newFixture(t)
	secret, _ := f.enroll(caller("alice", "key-a"))
	f.clock.Advance(30 * time.Second)
	step := f.clock.Now().Unix() / 30

	// The first run passes; by the second another request used the code.
	f.server.Sessions.Store = &rerunStore{Store: f.server.Sessions.Store, between: func() {
		f.setLastStep("alice", step)
	}}
	second := caller("alice", "key-b")
	v, e := f.server.AuthenticateTOTP(second, totpCode(secret, f.clock.Now()))
	if e == nil || e.Status != http.StatusUnauthorized || e.Message != CodeTOTPAlreadyUsed {
		t.Fatalf("AuthenticateTOTP = %+v, %v, want 401 %s from the committed run", v, e, CodeTOTPAlreadyUsed)
	}
	if v != nil {
		t.Errorf("verification = %+v, want none", v)
	}
	if f.verified(second) {
		t.Error("session verified by a run that was rolled back")
	}
}
