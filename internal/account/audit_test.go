package account

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/testkit"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// newAuditStore returns the default realm of a real bbolt file whose
// expiry follows clock.
func newAuditStore(t *testing.T, clock *fakeClock) (*store.Bolt, store.Store) {
	t.Helper()
	db, err := store.OpenBolt(filepath.Join(t.TempDir(), "twofactor.db"), store.BoltOptions{Now: clock.Now})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, store.WithRealm(db, "default")
}

func appendEvents(t *testing.T, s store.Store, events ...AuditEvent) {
	t.Helper()
	err := s.Update(func(tx store.Tx) error {
		for _, e := range events {
			if err := AppendAudit(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
}

func listEvents(t *testing.T, s store.Store, filter AuditFilter) []AuditEvent {
	t.Helper()
	var events []AuditEvent
	err := s.View(func(tx store.Tx) error {
		var err error
		events, err = ListAudit(tx, filter)
		return err
	})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	return events
}

// describe renders events as "user:event@seconds after t0" for messages.
func describe(events []AuditEvent) string {
	parts := make([]string, len(events))
	for i, e := range events {
		parts[i] = e.User + ":" + e.Event + "@" + e.Time.Sub(t0).String()
	}
	return strings.Join(parts, ",")
}

func TestAuditTimeOrder(t *testing.T) {
	_, s := newAuditStore(t, testkit.NewClock(t0))
	// Stored out of order, and two in the same nanosecond.
	appendEvents(t, s,
		AuditEvent{Time: t0.Add(2 * time.Second), User: "alice", Event: AuditTOTPEnabled},
		AuditEvent{Time: t0, User: "bob", Event: AuditSecondFactorFailed},
		AuditEvent{Time: t0.Add(time.Second), User: "alice", Event: AuditSecondFactorPassed},
		AuditEvent{Time: t0.Add(time.Second), User: "carol", Event: AuditSecondFactorPassed},
	)
	got := listEvents(t, s, AuditFilter{})
	if len(got) != 4 {
		t.Fatalf("ListAudit returned %d events (%s), want 4", len(got), describe(got))
	}
	times := make([]time.Time, len(got))
	for i, e := range got {
		times[i] = e.Time
	}
	if !slices.IsSortedFunc(times, time.Time.Compare) {
		t.Errorf("ListAudit order = %s, want oldest first", describe(got))
	}
	if got[0].User != "bob" {
		t.Errorf("first event = %s, want bob's", describe(got[:1]))
	}
}

func TestAuditFilter(t *testing.T) {
	_, s := newAuditStore(t, testkit.NewClock(t0))
	for i := range 6 {
		user := "alice"
		if i%2 == 1 {
			user = "bob"
		}
		appendEvents(t, s, AuditEvent{Time: t0.Add(time.Duration(i) * time.Minute), User: user,
			Event: AuditSecondFactorPassed})
	}
	tests := []struct {
		name   string
		filter AuditFilter
		want   string
	}{
		{"all", AuditFilter{}, "alice:second_factor_passed@0s,bob:second_factor_passed@1m0s," +
			"alice:second_factor_passed@2m0s,bob:second_factor_passed@3m0s," +
			"alice:second_factor_passed@4m0s,bob:second_factor_passed@5m0s"},
		{"user", AuditFilter{User: "bob"}, "bob:second_factor_passed@1m0s," +
			"bob:second_factor_passed@3m0s,bob:second_factor_passed@5m0s"},
		{"since inclusive", AuditFilter{Since: t0.Add(4 * time.Minute)},
			"alice:second_factor_passed@4m0s,bob:second_factor_passed@5m0s"},
		{"limit keeps newest", AuditFilter{Limit: 2},
			"alice:second_factor_passed@4m0s,bob:second_factor_passed@5m0s"},
		{"limit one", AuditFilter{Limit: 1}, "bob:second_factor_passed@5m0s"},
		{"user and limit", AuditFilter{User: "alice", Limit: 2},
			"alice:second_factor_passed@2m0s,alice:second_factor_passed@4m0s"},
		{"since past all", AuditFilter{Since: t0.Add(time.Hour)}, ""},
		{"unknown user", AuditFilter{User: "mallory"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describe(listEvents(t, s, tt.filter)); got != tt.want {
				t.Errorf("ListAudit(%+v) = %q, want %q", tt.filter, got, tt.want)
			}
		})
	}
}

func TestAuditLimitOverLongScan(t *testing.T) {
	_, s := newAuditStore(t, testkit.NewClock(t0))
	var events []AuditEvent
	for i := range 50 {
		events = append(events, AuditEvent{Time: t0.Add(time.Duration(i) * time.Second), User: "alice",
			Event: AuditSecondFactorFailed})
	}
	appendEvents(t, s, events...)
	got := listEvents(t, s, AuditFilter{Limit: 3})
	if want := describe(events[47:]); describe(got) != want {
		t.Errorf("ListAudit(limit 3) = %s, want %s", describe(got), want)
	}
}

func TestAuditRetention(t *testing.T) {
	clock := testkit.NewClock(t0)
	db, s := newAuditStore(t, clock)
	appendEvents(t, s, AuditEvent{Time: t0, User: "alice", Event: AuditAdminReset})
	appendEvents(t, s, AuditEvent{Time: t0.Add(time.Hour), User: "bob", Event: AuditAdminReset})

	clock.Advance(AuditRetention - time.Second)
	if got := listEvents(t, s, AuditFilter{}); len(got) != 2 {
		t.Errorf("events a second before retention ends = %s, want both", describe(got))
	}
	clock.Advance(time.Second)
	if got := describe(listEvents(t, s, AuditFilter{})); got != "bob:admin_reset@1h0m0s" {
		t.Errorf("events at the end of alice's retention = %q, want only bob's", got)
	}
	n, err := db.Sweep()
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if n != 1 {
		t.Errorf("Sweep deleted %d records, want 1", n)
	}
}

func TestAuditRecordFields(t *testing.T) {
	db, s := newAuditStore(t, testkit.NewClock(t0))
	appendEvents(t, s, AuditEvent{Time: t0.In(time.FixedZone("X", 3600)), User: "alice",
		Event: AuditSecondFactorFailed, Method: MethodTOTP, Outcome: "throttled", ClientIP: "192.0.2.1"})
	var raw []byte
	err := db.View(func(tx store.Tx) error {
		return tx.Scan(store.BucketAudit, "", func(_ string, value []byte) error {
			raw = append([]byte(nil), value...)
			return nil
		})
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("stored event %q is not JSON: %v", raw, err)
	}
	want := map[string]any{"time": "2030-01-02T03:04:00Z", "user": "alice", "event": "second_factor_failed",
		"method": "totp", "outcome": "throttled", "clientIp": "192.0.2.1"}
	if len(fields) != len(want) {
		t.Errorf("stored event = %s, want exactly the fields %v", raw, want)
	}
	for key, value := range want {
		if fields[key] != value {
			t.Errorf("stored event field %q = %v, want %v", key, fields[key], value)
		}
	}
}

func TestAuditZeroTimeIsNow(t *testing.T) {
	_, s := newAuditStore(t, testkit.NewClock(time.Now()))
	before := time.Now()
	appendEvents(t, s, AuditEvent{User: "alice", Event: AuditAdminLift})
	got := listEvents(t, s, AuditFilter{})
	if len(got) != 1 {
		t.Fatalf("ListAudit returned %d events, want 1", len(got))
	}
	if got[0].Time.Before(before) || got[0].Time.After(time.Now()) {
		t.Errorf("event time = %v, want the time of AppendAudit (after %v)", got[0].Time, before)
	}
}

func TestAuditRealmIsolation(t *testing.T) {
	db, a := newAuditStore(t, testkit.NewClock(t0))
	b := store.WithRealm(db, "other")
	appendEvents(t, a, AuditEvent{Time: t0, User: "alice", Event: AuditAdminRevoke})
	appendEvents(t, b, AuditEvent{Time: t0, User: "alice", Event: AuditAdminReset})
	if got := describe(listEvents(t, b, AuditFilter{})); got != "alice:admin_reset@0s" {
		t.Errorf("events of realm other = %q, want only its own admin_reset", got)
	}
}

func TestAuditRolledBackWithChange(t *testing.T) {
	_, s := newAuditStore(t, testkit.NewClock(t0))
	_ = s.Update(func(tx store.Tx) error {
		if err := AppendAudit(tx, AuditEvent{Time: t0, User: "alice", Event: AuditTOTPEnabled}); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		return ErrNoUserID // any error rolls the transaction back
	})
	if got := listEvents(t, s, AuditFilter{}); len(got) != 0 {
		t.Errorf("events after a rolled-back transaction = %s, want none", describe(got))
	}
}
