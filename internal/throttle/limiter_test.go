package throttle

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestClientKey(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	}
	for _, tt := range tests {
		if got := ClientKey(netip.MustParseAddr(tt.in)); got != tt.want {
			t.Errorf("ClientKey(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := ClientKey(netip.Addr{}); got != "" {
		t.Errorf("ClientKey(zero) = %q, want empty", got)
	}
}

func TestLimiterPerWindow(t *testing.T) {
	l := NewLimiter(10)
	for i := range 10 {
		at := t0.Add(time.Duration(i) * time.Minute)
		if got := l.Allow("a", at, time.Minute, 10, time.Hour); got != 0 {
			t.Fatalf("wait before event %d = %v, want 0", i+1, got)
		}
	}

	now := t0.Add(10 * time.Minute)
	if got, want := l.Allow("a", now, time.Minute, 10, time.Hour), 50*time.Minute; got != want {
		t.Errorf("wait after 10 events = %v, want %v", got, want)
	}
	if got := l.Allow("b", now, time.Minute, 10, time.Hour); got != 0 {
		t.Errorf("wait of another key = %v, want 0", got)
	}
	if got := l.Allow("a", t0.Add(time.Hour), time.Minute, 10, time.Hour); got != 0 {
		t.Errorf("wait when the oldest event is an hour old = %v, want 0", got)
	}
}

func TestLimiterInterval(t *testing.T) {
	l := NewLimiter(10)
	l.Allow("a", t0, time.Minute, 0, 0)
	if got := l.Allow("a", t0.Add(20*time.Second), time.Minute, 0, 0); got != 40*time.Second {
		t.Errorf("wait 20s after an event = %v, want 40s", got)
	}
	if got := l.Allow("a", t0.Add(time.Minute), time.Minute, 0, 0); got != 0 {
		t.Errorf("wait a minute after an event = %v, want 0", got)
	}
}

func TestLimiterDeniedNotRecorded(t *testing.T) {
	l := NewLimiter(10)
	l.Allow("a", t0, 0, 1, time.Minute)
	for i := range 5 {
		l.Allow("a", t0.Add(time.Duration(i)*time.Second), 0, 1, time.Minute)
	}
	if got := l.Allow("a", t0.Add(time.Minute), 0, 1, time.Minute); got != 0 {
		t.Errorf("wait after the allowed event aged out = %v, want 0", got)
	}
}

func TestLimiterEviction(t *testing.T) {
	const maxKeys = 3
	l := NewLimiter(maxKeys)
	if got := l.Allow("victim", t0, 0, 1, time.Hour); got != 0 {
		t.Fatalf("first event: wait = %v, want 0", got)
	}

	// maxKeys-1 other keys leave the victim's history in place.
	for i := range maxKeys - 1 {
		l.Allow(fmt.Sprint("other", i), t0, 0, 1, time.Hour)
	}
	if got := l.Allow("victim", t0, 0, 1, time.Hour); got == 0 {
		t.Errorf("after %d other keys: wait = 0, want the limit to hold", maxKeys-1)
	}

	// The denied request above made the victim the most recently used, so
	// only maxKeys further keys evict it.
	for i := range maxKeys {
		l.Allow(fmt.Sprint("new", i), t0, 0, 1, time.Hour)
		if got := l.Len(); got > maxKeys {
			t.Fatalf("Len = %d, want at most %d", got, maxKeys)
		}
	}
	if got := l.Allow("victim", t0, 0, 1, time.Hour); got != 0 {
		t.Errorf("after eviction: wait = %v, want 0 (history lost)", got)
	}
}

func TestLimiterMinKeys(t *testing.T) {
	l := NewLimiter(0)
	l.Allow("a", t0, 0, 1, time.Hour)
	l.Allow("b", t0, 0, 1, time.Hour)
	if got := l.Len(); got != 1 {
		t.Errorf("Len = %d, want 1", got)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	const perWindow = 5
	l := NewLimiter(4)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if l.Allow("shared", t0, 0, perWindow, time.Hour) == 0 {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != perWindow {
		t.Errorf("allowed = %d, want %d", got, perWindow)
	}
}
