package throttle

import (
	"math"
	"testing"
	"time"
)

func TestSeconds(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want int64
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Nanosecond, 1},
		{time.Second, 1},
		{time.Second + time.Nanosecond, 2},
		{1500 * time.Millisecond, 2},
		{MaxDelay, 900},
		{MaxDelay - time.Millisecond, 900},
		{math.MaxInt64, 9223372037},
	}
	for _, tt := range tests {
		if got := Seconds(tt.in); got != tt.want {
			t.Errorf("Seconds(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestRecordKeepsOrder(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var times []time.Time
	for _, offset := range []int{5, 1, 3, 3, 9} {
		times = record(times, t0.Add(time.Duration(offset)*time.Second), time.Hour, 10)
	}
	for i := 1; i < len(times); i++ {
		if times[i].Before(times[i-1]) {
			t.Errorf("times[%d] = %v is before times[%d] = %v", i, times[i], i-1, times[i-1])
		}
	}
	if len(times) != 5 {
		t.Errorf("len = %d, want 5", len(times))
	}
}
