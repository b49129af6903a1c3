package throttle

import (
	"testing"
	"time"
)

func TestSendWindowInterval(t *testing.T) {
	var w SendWindow
	if got := w.Wait(t0, time.Minute, 10); got != 0 {
		t.Fatalf("wait before any send = %v, want 0", got)
	}
	w.Record(t0)

	tests := []struct {
		after time.Duration
		want  time.Duration
	}{
		{0, time.Minute},
		{59 * time.Second, time.Second},
		{time.Minute, 0},
	}
	for _, tt := range tests {
		if got := w.Wait(t0.Add(tt.after), time.Minute, 10); got != tt.want {
			t.Errorf("wait %v after a send = %v, want %v", tt.after, got, tt.want)
		}
	}
}

func TestSendWindowPerHour(t *testing.T) {
	var w SendWindow
	for i := range 10 {
		at := t0.Add(time.Duration(i) * time.Minute)
		if got := w.Wait(at, time.Minute, 10); got != 0 {
			t.Fatalf("wait before send %d = %v, want 0", i+1, got)
		}
		w.Record(at)
	}

	now := t0.Add(10 * time.Minute)
	if got, want := w.Wait(now, time.Minute, 10), 50*time.Minute; got != want {
		t.Errorf("wait after 10 sends = %v, want %v", got, want)
	}
	if got := w.Wait(t0.Add(time.Hour), time.Minute, 10); got != 0 {
		t.Errorf("wait an hour after the first send = %v, want 0", got)
	}
	if got := w.Wait(now, time.Minute, 0); got != 0 {
		t.Errorf("wait with no hourly limit = %v, want 0", got)
	}

	w.Record(t0.Add(time.Hour))
	if len(w.Sent) != 10 {
		t.Errorf("len(Sent) = %d, want 10 (the first send is an hour old)", len(w.Sent))
	}
}

func TestSendWindowNoLimits(t *testing.T) {
	var w SendWindow
	w.Record(t0)
	if got := w.Wait(t0, 0, 0); got != 0 {
		t.Errorf("wait with no limits = %v, want 0", got)
	}
}

func TestSendWindowMaxPerHour(t *testing.T) {
	var w SendWindow
	for i := range MaxPerHour + 10 {
		w.Record(t0.Add(time.Duration(i) * time.Second))
	}
	if len(w.Sent) != MaxPerHour {
		t.Errorf("len(Sent) = %d, want %d", len(w.Sent), MaxPerHour)
	}

	now := t0.Add(time.Duration(MaxPerHour+10) * time.Second)
	if got := w.Wait(now, 0, 1_000_000); got == 0 {
		t.Errorf("wait with perHour above MaxPerHour = 0, want the MaxPerHour limit")
	}
}

func TestSendWindowCancel(t *testing.T) {
	start := time.Unix(1_000_000, 0)
	var w SendWindow
	w.Record(start)
	w.Cancel(start)
	if wait := w.Wait(start, time.Minute, 10); wait != 0 {
		t.Errorf("Wait after Cancel = %v, want 0", wait)
	}
	w.Record(start)
	w.Cancel(start.Add(time.Second))
	if wait := w.Wait(start, time.Minute, 10); wait != time.Minute {
		t.Errorf("Wait after Cancel of another time = %v, want 1m", wait)
	}
}
