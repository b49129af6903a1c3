package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/testkit"
)

// fakeClock is the shared fake clock of the tests.
type fakeClock = testkit.Clock

func openTest(t *testing.T, clock *fakeClock) *Bolt {
	t.Helper()
	db, err := OpenBolt(filepath.Join(t.TempDir(), "sub", "twofactor.db"), BoltOptions{Now: clock.Now})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func get(t *testing.T, s Store, bucket, key string) []byte {
	t.Helper()
	var out []byte
	err := s.View(func(tx Tx) error {
		v, err := tx.Get(bucket, key)
		out = append([]byte(nil), v...)
		if v == nil {
			out = nil
		}
		return err
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return out
}

func put(t *testing.T, s Store, bucket, key, value string, expires time.Time) {
	t.Helper()
	err := s.Update(func(tx Tx) error { return tx.Put(bucket, key, []byte(value), expires) })
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func TestBoltExpiryAndSweep(t *testing.T) {
	clock := testkit.NewClock(time.Unix(1_000_000, 0))
	db := openTest(t, clock)
	put(t, db, BucketSessions, "keep", "forever", time.Time{})
	put(t, db, BucketSessions, "short", "a minute", clock.Now().Add(time.Minute))

	if got := get(t, db, BucketSessions, "short"); string(got) != "a minute" {
		t.Fatalf("Get before expiry = %q, want %q", got, "a minute")
	}
	clock.Advance(time.Minute)
	if got := get(t, db, BucketSessions, "short"); got != nil {
		t.Errorf("Get at expiry = %q, want nil", got)
	}
	n, err := db.Sweep()
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if n != 1 {
		t.Errorf("Sweep deleted %d records, want 1", n)
	}
	if got := get(t, db, BucketSessions, "keep"); string(got) != "forever" {
		t.Errorf("Get after sweep = %q, want %q", got, "forever")
	}
}

func TestBoltRollbackOnError(t *testing.T) {
	db := openTest(t, testkit.NewClock(time.Unix(1, 0)))
	boom := errors.New("boom")
	err := db.Update(func(tx Tx) error {
		if err := tx.Put(BucketUsers, "x", []byte("1"), time.Time{}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v, want boom", err)
	}
	if got := get(t, db, BucketUsers, "x"); got != nil {
		t.Errorf("write of a failed transaction is visible: %q", got)
	}
}

func TestRealmIsolation(t *testing.T) {
	db := openTest(t, testkit.NewClock(time.Unix(1, 0)))
	a, b := WithRealm(db, "a"), WithRealm(db, "b")
	put(t, a, BucketUsers, "1", "alice in a", time.Time{})
	put(t, a, BucketUsers, "10", "user 10 in a", time.Time{})
	put(t, b, BucketUsers, "1", "alice in b", time.Time{})

	if got := get(t, b, BucketUsers, "1"); string(got) != "alice in b" {
		t.Errorf("realm b reads %q, want %q", got, "alice in b")
	}
	var keys []string
	err := a.View(func(tx Tx) error {
		return tx.Scan(BucketUsers, "1", func(key string, _ []byte) error {
			keys = append(keys, key)
			return nil
		})
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if strings.Join(keys, ",") != "1,10" {
		t.Errorf("Scan in realm a = %v, want [1 10]", keys)
	}
}

func TestOpenLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	first, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	defer first.Close()
	_, err = OpenBolt(path, BoltOptions{Timeout: 100 * time.Millisecond})
	if err == nil {
		t.Fatal("second OpenBolt of a locked file succeeded")
	}
	if !strings.Contains(err.Error(), "another process holds its lock") {
		t.Errorf("error %q does not say the file is locked", err)
	}
}

func TestCheckMeta(t *testing.T) {
	db := openTest(t, testkit.NewClock(time.Unix(1, 0)))
	if err := CheckMeta(db, "default", []byte("key-1"), nil); err != nil {
		t.Fatalf("first CheckMeta: %v", err)
	}
	if err := CheckMeta(db, "default", []byte("key-2"), nil); !errors.Is(err, ErrWrongKey) {
		t.Errorf("CheckMeta with another key = %v, want ErrWrongKey", err)
	}
	if err := CheckMeta(db, "default", []byte("key-2"), [][]byte{[]byte("key-1")}); err != nil {
		t.Errorf("CheckMeta after rotation: %v", err)
	}
	if err := CheckMeta(db, "default", []byte("key-1"), nil); !errors.Is(err, ErrWrongKey) {
		t.Errorf("CheckMeta with the key rotated away = %v, want ErrWrongKey", err)
	}
}

func TestCheckMetaPerRealm(t *testing.T) {
	db := openTest(t, testkit.NewClock(time.Unix(1, 0)))
	if err := CheckMeta(db, "a", []byte("key-a"), nil); err != nil {
		t.Fatalf("CheckMeta of realm a: %v", err)
	}
	if err := CheckMeta(db, "b", []byte("key-b"), nil); err != nil {
		t.Errorf("CheckMeta of realm b with its own key: %v", err)
	}
	if err := CheckMeta(db, "a", []byte("key-b"), nil); !errors.Is(err, ErrWrongKey) {
		t.Errorf("CheckMeta of realm a with realm b's key = %v, want ErrWrongKey", err)
	}
}

func TestValidRealm(t *testing.T) {
	tests := map[string]bool{
		"default": true, "prod-eu_1.a": true, "": false, ".hidden": false, "a/b": false,
		"../x": false, "a\x00b": false, "é": false, strings.Repeat("a", 65): false,
	}
	for name, want := range tests {
		if got := ValidRealm(name); got != want {
			t.Errorf("ValidRealm(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSweepInBatches(t *testing.T) {
	clock := testkit.NewClock(time.Unix(1_000_000, 0))
	db := openTest(t, clock)
	total := 2*sweepBatch + 10
	err := db.Update(func(tx Tx) error {
		for i := range total {
			expires := clock.Now().Add(time.Minute)
			if i%2 == 0 {
				expires = time.Time{}
			}
			if err := tx.Put(BucketSessions, fmt.Sprintf("k%05d", i), []byte("v"), expires); err != nil {
				return err
			}
		}
		return tx.Put(BucketUsers, "u", []byte("never"), time.Time{})
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	clock.Advance(time.Hour)
	n, err := db.Sweep()
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if n != total/2 {
		t.Errorf("Sweep deleted %d records, want %d", n, total/2)
	}
	kept := 0
	err = db.View(func(tx Tx) error {
		return tx.Scan(BucketSessions, "", func(string, []byte) error { kept++; return nil })
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if kept != total-total/2 {
		t.Errorf("records kept = %d, want %d", kept, total-total/2)
	}
}
