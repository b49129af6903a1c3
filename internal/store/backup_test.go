package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/testkit"
)

func TestBoltBackup(t *testing.T) {
	db := openTest(t, testkit.NewClock(time.Unix(1, 0)))
	put(t, WithRealm(db, "a"), BucketUsers, "alice", "record of alice", time.Time{})

	var buf bytes.Buffer
	var announced int64 = -1
	n, err := db.Backup(&buf, func(size int64) { announced = size })
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("Backup returned %d bytes, wrote %d", n, buf.Len())
	}
	if announced != n {
		t.Errorf("Backup announced %d bytes, wrote %d", announced, n)
	}

	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatalf("writing the copy: %v", err)
	}
	copied, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatalf("OpenBolt of the copy: %v", err)
	}
	defer copied.Close()
	if got := get(t, WithRealm(copied, "a"), BucketUsers, "alice"); string(got) != "record of alice" {
		t.Errorf("copy reads %q, want %q", got, "record of alice")
	}
}
