package account

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// putUnindexedSudo stores a sudo token without its index entry, as code
// from before the index did.
func putUnindexedSudo(t *testing.T, s *Sessions, mac string, token *SudoToken) {
	t.Helper()
	raw, err := json.Marshal(token)
	if err != nil {
		t.Fatalf("encoding sudo token: %v", err)
	}
	err = s.Store.Update(func(tx store.Tx) error {
		return tx.Put(store.BucketSudo, mac, raw, token.Expires)
	})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
}

// indexed reports whether the index lists mac among the user's tokens.
func indexed(t *testing.T, s *Sessions, userID, mac string) bool {
	t.Helper()
	var raw []byte
	err := s.Store.View(func(tx store.Tx) error {
		var err error
		raw, err = tx.Get(store.BucketSudoIndex, sudoIndexKey(userID, mac))
		return err
	})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return raw != nil
}

func TestSudoIndexRevokeUnindexed(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	expires := t0.Add(time.Minute)
	putUnindexedSudo(t, s, "mac-old", &SudoToken{UserID: "alice", SessionKey: "key-a", Expires: expires})
	putUnindexedSudo(t, s, "mac-bob", &SudoToken{UserID: "bob", SessionKey: "key-b", Expires: expires})
	putSudo(t, s, "mac-new", &SudoToken{UserID: "alice", SessionKey: "key-a", Expires: expires})

	err := s.UpdateUser("alice", func(tx store.Tx) error { return s.RevokeUser(tx, "alice", "") })
	if err != nil {
		t.Fatalf("RevokeUser: %v", err)
	}
	want := map[string]bool{"mac-old": false, "mac-new": false, "mac-bob": true}
	for mac, kept := range want {
		if got := getSudo(t, s, mac) != nil; got != kept {
			t.Errorf("%s kept = %v, want %v", mac, got, kept)
		}
	}
	if !indexed(t, s, "bob", "mac-bob") {
		t.Error("bob's token stored before the index is still not indexed after a revocation")
	}
	if indexed(t, s, "alice", "mac-new") {
		t.Error("index entry of a revoked token kept")
	}
}

func TestSudoIndexMoveOnlyUser(t *testing.T) {
	s, _ := newSessions(t, defaultPolicy)
	expires := t0.Add(time.Minute)
	putSudo(t, s, "mac-a", &SudoToken{UserID: "alice", SessionKey: "key-old", Expires: expires})
	putUnindexedSudo(t, s, "mac-a2", &SudoToken{UserID: "alice", SessionKey: "key-old", Expires: expires})
	putSudo(t, s, "mac-b", &SudoToken{UserID: "bob", SessionKey: "key-old", Expires: expires})

	err := s.Store.Update(func(tx store.Tx) error { return moveSudoTokens(tx, "alice", "key-old", "key-new") })
	if err != nil {
		t.Fatalf("moveSudoTokens: %v", err)
	}
	want := map[string]string{"mac-a": "key-new", "mac-a2": "key-new", "mac-b": "key-old"}
	for mac, key := range want {
		got := getSudo(t, s, mac)
		if got == nil {
			t.Errorf("%s missing after the move", mac)
			continue
		}
		if got.SessionKey != key {
			t.Errorf("%s session key = %q, want %q", mac, got.SessionKey, key)
		}
	}
}

func TestSudoIndexExpiresWithToken(t *testing.T) {
	s, clock := newSessions(t, defaultPolicy)
	putSudo(t, s, "mac-a", &SudoToken{UserID: "alice", SessionKey: "key-a", Expires: t0.Add(time.Minute)})
	if !indexed(t, s, "alice", "mac-a") {
		t.Fatal("PutSudoToken wrote no index entry")
	}
	clock.Advance(time.Minute)
	if indexed(t, s, "alice", "mac-a") {
		t.Error("index entry outlived its token")
	}
}
