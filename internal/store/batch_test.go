package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/testkit"
)

func TestBatchCommits(t *testing.T) {
	db := openTest(t, testkit.NewClock(time.Unix(1_000_000, 0)))
	s := WithRealm(db, "r1")
	err := s.Batch(func(tx Tx) error { return tx.Put(BucketUsers, "alice", []byte("a"), time.Time{}) })
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	if got := get(t, s, BucketUsers, "alice"); string(got) != "a" {
		t.Errorf("alice = %q, want a", got)
	}
	if got := get(t, db, BucketUsers, "r1\x00alice"); string(got) != "a" {
		t.Errorf("raw key r1\\x00alice = %q, want a: Batch did not apply the realm", got)
	}
}

func TestBatchFailureRollsBackOnlyItself(t *testing.T) {
	db := openTest(t, testkit.NewClock(time.Unix(1_000_000, 0)))
	errFail := errors.New("fn failed")
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Batch(func(tx Tx) error {
				if err := tx.Put(BucketUsers, fmt.Sprint("user-", i), []byte("x"), time.Time{}); err != nil {
					return err
				}
				if i == 0 {
					return errFail
				}
				return nil
			})
		}()
	}
	wg.Wait()

	for i, err := range errs {
		switch {
		case i == 0 && !errors.Is(err, errFail):
			t.Errorf("failing Batch = %v, want its own error", err)
		case i != 0 && err != nil:
			t.Errorf("Batch %d = %v, want nil", i, err)
		}
		stored := get(t, db, BucketUsers, fmt.Sprint("user-", i)) != nil
		if stored != (i != 0) {
			t.Errorf("user-%d stored = %v, want %v", i, stored, i != 0)
		}
	}
}

func TestBatchClosedStore(t *testing.T) {
	db := openTest(t, testkit.NewClock(time.Unix(1_000_000, 0)))
	db.Close()
	err := db.Batch(func(Tx) error { return nil })
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Batch on a closed store = %v, want ErrUnavailable", err)
	}
}
