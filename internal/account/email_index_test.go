package account

import (
	"path/filepath"
	"testing"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

func TestIndexEmailKeepsOldAddresses(t *testing.T) {
	db, err := store.OpenBolt(filepath.Join(t.TempDir(), "index.db"), store.BoltOptions{})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	defer db.Close()
	index := func(user, address string) {
		t.Helper()
		if err := db.Update(func(tx store.Tx) error {
			_, err := IndexEmail(tx, user, address)
			return err
		}); err != nil {
			t.Fatalf("IndexEmail: %v", err)
		}
	}
	owner := func(address string) string {
		t.Helper()
		var id string
		if err := db.View(func(tx store.Tx) error {
			var err error
			id, err = UserByEmail(tx, address)
			return err
		}); err != nil {
			t.Fatalf("UserByEmail: %v", err)
		}
		return id
	}

	index("1", "old@example.com")
	index("1", "new@example.com")
	index("1", "old@example.com") // a stale cached identity
	if got := owner("new@example.com"); got != "1" {
		t.Errorf("new@example.com names %q, want 1", got)
	}
	if got := owner("old@example.com"); got != "1" {
		t.Errorf("old@example.com names %q, want 1", got)
	}

	index("2", "old@example.com") // another user now has the old address
	if got := owner("old@example.com"); got != "2" {
		t.Errorf("old@example.com names %q after user 2 claimed it, want 2", got)
	}
}
