package hold

import (
	"crypto/rand"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)

// sealFixture is a realm of a real bbolt file whose clock the test sets,
// and a key ring.
type sealFixture struct {
	t     *testing.T
	now   time.Time
	store store.Store
	keys  *crypto.Keyring
}

func newSealFixture(t *testing.T) *sealFixture {
	t.Helper()
	f := &sealFixture{t: t, now: t0}
	db, err := store.OpenBolt(filepath.Join(t.TempDir(), "twofactor.db"),
		store.BoltOptions{Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	f.store = store.WithRealm(db, "default")
	f.keys = &crypto.Keyring{Current: deriveKeys(t, "hold test secret")}
	return f
}

func deriveKeys(t *testing.T, secret string) *crypto.Keys {
	t.Helper()
	keys, err := crypto.Derive([]byte(strings.Repeat(secret+" ", 3)))
	if err != nil {
		t.Fatalf("Derive: %v", err)
	}
	return keys
}

// heldAnswer is a login response as the app writes it, with what it issued.
func heldAnswer() *Login {
	a := answer(303, "", "session=abc; Path=/; HttpOnly", "remember=r1; Max-Age=2592000")
	a.Header.Set("Location", "/dashboard")
	return &Login{Answer: a, Issued: testRule.Credential(a)}
}

func (f *sealFixture) keep(userID string) string {
	f.t.Helper()
	token, err := Keep(f.store, f.keys, rand.Reader, f.now, userID, heldAnswer())
	if err != nil {
		f.t.Fatalf("Keep: %v", err)
	}
	return token
}

func (f *sealFixture) load(token string) (*account.HeldLogin, *Login, error) {
	f.t.Helper()
	var record *account.HeldLogin
	var held *Login
	err := f.store.View(func(tx store.Tx) error {
		var err error
		record, held, err = Load(tx, f.keys, TokenMAC(f.keys, token), f.now)
		return err
	})
	return record, held, err
}

// rewrite changes the stored record of a token.
func (f *sealFixture) rewrite(token string, change func(*account.HeldLogin)) {
	f.t.Helper()
	mac := TokenMAC(f.keys, token)
	err := f.store.Update(func(tx store.Tx) error {
		record, err := account.GetHeldLogin(tx, mac)
		if err != nil || record == nil {
			return errors.Join(err, errors.New("no held login"))
		}
		change(record)
		return account.PutHeldLogin(tx, mac, record)
	})
	if err != nil {
		f.t.Fatalf("rewriting the held login: %v", err)
	}
}

func TestSealRoundTrip(t *testing.T) {
	f := newSealFixture(t)
	token := f.keep("alice")
	if !strings.HasPrefix(token, "partial_") || len(token) != len("partial_")+43 {
		t.Errorf("token %.12s… of %d characters, want partial_ and 43 characters", token, len(token))
	}
	record, held, err := f.load(token)
	if err != nil || record == nil {
		t.Fatalf("Load = %v, %v, want the held login", record, err)
	}
	if record.UserID != "alice" || !record.Expires.Equal(t0.Add(TTL)) {
		t.Errorf("record user %q, expires %v, want alice, %v", record.UserID, record.Expires, t0.Add(TTL))
	}
	if strings.Contains(string(record.Sealed), "abc") || strings.Contains(string(record.Sealed), "session") {
		t.Error("the stored record shows the app's cookie in the clear")
	}
	if got := held.Answer.Header.Values("Set-Cookie"); len(got) != 2 || got[0] != "session=abc; Path=/; HttpOnly" {
		t.Errorf("opened Set-Cookie = %q, want the app's two lines", got)
	}
	if got := held.Answer.Header.Get("Location"); got != "/dashboard" || held.Answer.Status != http.StatusSeeOther {
		t.Errorf("opened answer %d %q, want 303 /dashboard", held.Answer.Status, got)
	}
	if got := held.Issued.Header.Get("Cookie"); got != "session=abc" {
		t.Errorf("opened credential Cookie = %q, want session=abc", got)
	}
}

func TestLoadAfterKeyRotation(t *testing.T) {
	f := newSealFixture(t)
	token := f.keep("alice")
	old := f.keys.Current
	f.keys = &crypto.Keyring{Current: deriveKeys(t, "rotated secret"), Previous: []*crypto.Keys{old}}
	// The store key is an HMAC under the current key, so a rotation ends
	// every held login: at most five minutes of logins, which log in again.
	if record, _, err := f.load(token); record != nil || err != nil {
		t.Errorf("Load after a key rotation = %v, %v, want none", record, err)
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name    string
		change  func(f *sealFixture, token string) string
		wantErr error
	}{
		{"unknown", func(f *sealFixture, _ string) string { return "partial_unknown" }, nil},
		{"expired", func(f *sealFixture, token string) string {
			f.now = f.now.Add(TTL)
			return token
		}, nil},
		{"expired record, store clock behind", func(f *sealFixture, token string) string {
			f.rewrite(token, func(h *account.HeldLogin) { h.Expires = t0 })
			return token
		}, nil},
		{"tampered ciphertext", func(f *sealFixture, token string) string {
			f.rewrite(token, func(h *account.HeldLogin) { h.Sealed[len(h.Sealed)-1] ^= 1 })
			return token
		}, ErrSealed},
		{"other user", func(f *sealFixture, token string) string {
			f.rewrite(token, func(h *account.HeldLogin) { h.UserID = "bob" })
			return token
		}, ErrSealed},
		{"moved to another token", func(f *sealFixture, token string) string {
			other := f.keep("alice")
			var sealed []byte
			f.rewrite(token, func(h *account.HeldLogin) { sealed = h.Sealed })
			f.rewrite(other, func(h *account.HeldLogin) { h.Sealed = sealed })
			return other
		}, ErrSealed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSealFixture(t)
			token := tt.change(f, f.keep("alice"))
			record, held, err := f.load(token)
			if record != nil || held != nil || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Load = %v, %v, %v, want nothing and error %v", record, held, err, tt.wantErr)
			}
		})
	}
}
