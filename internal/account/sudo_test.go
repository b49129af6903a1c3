package account

import (
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

func TestSudoTokenRoundTrip(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	want := SudoToken{UserID: "alice", SessionKey: "key-a", Method: MethodRecoveryCode, Expires: t0.Add(5 * time.Minute)}
	putSudo(t, s, "mac-a", &want)

	got := getSudo(t, s, "mac-a")
	if got == nil {
		t.Fatal("GetSudoToken = nil, want the stored token")
	}
	if got.UserID != want.UserID || got.SessionKey != want.SessionKey || got.Method != want.Method {
		t.Errorf("GetSudoToken = %+v, want %+v", *got, want)
	}
	if !got.Expires.Equal(want.Expires) {
		t.Errorf("Expires = %v, want %v", got.Expires, want.Expires)
	}
	if got := getSudo(t, s, "mac-missing"); got != nil {
		t.Errorf("GetSudoToken(missing) = %+v, want nil", got)
	}
}

func TestSudoTokenExpiry(t *testing.T) {
	s, clock := newSessions(t, defaultPolicy)
	putSudo(t, s, "mac-a", &SudoToken{UserID: "alice", SessionKey: "key-a", Expires: t0.Add(5 * time.Minute)})

	clock.Advance(5*time.Minute - time.Nanosecond)
	if got := getSudo(t, s, "mac-a"); got == nil {
		t.Fatal("sudo token missing just before it expires")
	}
	clock.Advance(time.Nanosecond)
	if got := getSudo(t, s, "mac-a"); got != nil {
		t.Errorf("sudo token at its expiry = %+v, want nil", got)
	}
}

func TestSudoTokenCorruptRecord(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	err := s.Store.Update(func(tx store.Tx) error {
		return tx.Put(store.BucketSudo, "mac-bad", []byte("{not json"), t0.Add(time.Minute))
	})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	err = s.Store.View(func(tx store.Tx) error {
		_, err := GetSudoToken(tx, "mac-bad")
		return err
	})
	if err == nil {
		t.Error("GetSudoToken of a corrupt record: no error")
	}

	// A revocation drops records it cannot read, whoever they belonged to.
	err = s.UpdateUser("alice", func(tx store.Tx) error { return s.RevokeUser(tx, "alice", "key-a") })
	if err != nil {
		t.Fatalf("RevokeUser: %v", err)
	}
	err = s.Store.View(func(tx store.Tx) error {
		raw, err := tx.Get(store.BucketSudo, "mac-bad")
		if raw != nil {
			t.Error("corrupt sudo record kept after a revocation")
		}
		return err
	})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
}

func TestMoveSudoTokensKeepsExpiry(t *testing.T) {
	s, clock := newSessions(t, defaultPolicy)
	putSudo(t, s, "mac-a", &SudoToken{UserID: "alice", SessionKey: "key-old", Expires: t0.Add(5 * time.Minute)})

	err := s.Store.Update(func(tx store.Tx) error { return moveSudoTokens(tx, "alice", "key-old", "key-new") })
	if err != nil {
		t.Fatalf("moveSudoTokens: %v", err)
	}
	got := getSudo(t, s, "mac-a")
	if got == nil || got.SessionKey != "key-new" {
		t.Fatalf("moved token = %+v, want it on key-new", got)
	}
	if !got.Expires.Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("moved token expires %v, want %v", got.Expires, t0.Add(5*time.Minute))
	}
	clock.Advance(5 * time.Minute)
	if got := getSudo(t, s, "mac-a"); got != nil {
		t.Errorf("moved token after its expiry = %+v, want nil", got)
	}
}

func TestRevokeSudoTokensOnlyDoomed(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	expires := t0.Add(time.Minute)
	putSudo(t, s, "mac-a", &SudoToken{UserID: "alice", SessionKey: "key-a", Method: MethodTOTP, Expires: expires})
	putSudo(t, s, "mac-b", &SudoToken{UserID: "alice", SessionKey: "key-b", Method: MethodEmailOTP, Expires: expires})
	putSudo(t, s, "mac-c", &SudoToken{UserID: "bob", SessionKey: "key-b", Method: MethodEmailOTP, Expires: expires})

	err := s.Store.Update(func(tx store.Tx) error {
		return revokeSudoTokens(tx, "alice", func(t *SudoToken) bool { return t.Method == MethodEmailOTP })
	})
	if err != nil {
		t.Fatalf("revokeSudoTokens: %v", err)
	}
	want := map[string]bool{"mac-a": true, "mac-b": false, "mac-c": true}
	for mac, kept := range want {
		if got := getSudo(t, s, mac) != nil; got != kept {
			t.Errorf("%s kept = %v, want %v", mac, got, kept)
		}
	}
}
