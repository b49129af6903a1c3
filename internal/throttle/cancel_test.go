package throttle

import (
	"testing"
	"time"
)

func TestLimiterCancel(t *testing.T) {
	l := NewLimiter(10)
	now := time.Unix(1_700_000_000, 0)
	if wait := l.Allow("a", now, time.Minute, 0, 0); wait != 0 {
		t.Fatalf("first Allow: wait %v, want 0", wait)
	}
	if wait := l.Allow("a", now.Add(time.Second), time.Minute, 0, 0); wait == 0 {
		t.Fatal("second Allow within the interval: wait 0, want a wait")
	}

	l.Cancel("a", now)
	if wait := l.Allow("a", now.Add(time.Second), time.Minute, 0, 0); wait != 0 {
		t.Errorf("Allow after Cancel: wait %v, want 0", wait)
	}

	// Unknown keys and times change nothing.
	l.Cancel("b", now)
	l.Cancel("a", now.Add(time.Hour))
	if got := l.Len(); got != 1 {
		t.Errorf("Len = %d, want 1", got)
	}
}
