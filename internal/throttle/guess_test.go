package throttle

import (
	"encoding/json"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestGuessWaitSequence(t *testing.T) {
	// The wait before guess 1, 2, 3, ... when every guess fails, in
	// seconds: three free guesses, then doubling up to MaxDelay.
	want := []int64{0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900}

	var g Guess
	now := t0
	for guess, seconds := range want {
		wait := g.Wait(now)
		if wait != time.Duration(seconds)*time.Second {
			t.Errorf("wait before guess %d = %v, want %ds", guess+1, wait, seconds)
		}
		if got := Seconds(wait); got != seconds {
			t.Errorf("Seconds before guess %d = %d, want %d", guess+1, got, seconds)
		}
		if wait > 0 {
			if got := g.Wait(now.Add(wait - time.Nanosecond)); got != time.Nanosecond {
				t.Errorf("wait 1ns early before guess %d = %v, want 1ns", guess+1, got)
			}
		}

		now = now.Add(wait)
		if got := g.Wait(now); got != 0 {
			t.Errorf("wait when due before guess %d = %v, want 0", guess+1, got)
		}
		g.Fail(now)
	}
}

func TestGuessSucceedResetsDelay(t *testing.T) {
	var g Guess
	for range 5 {
		g.Fail(t0)
	}
	g.Succeed()
	if got := g.Wait(t0); got != 0 {
		t.Errorf("wait after success = %v, want 0", got)
	}
	if g.Consecutive != 0 {
		t.Errorf("Consecutive = %d, want 0", g.Consecutive)
	}
	if len(g.Failures) != 5 {
		t.Errorf("len(Failures) = %d, want 5", len(g.Failures))
	}

	g.Fail(t0)
	if got := g.Wait(t0); got != 0 {
		t.Errorf("wait after first failure since success = %v, want 0", got)
	}
}

func TestGuessDailyLock(t *testing.T) {
	var g Guess
	// One failure a minute, each followed by a success: the successes must
	// not reset the daily count.
	for i := range DailyLimit {
		at := t0.Add(time.Duration(i) * time.Minute)
		if wait := g.Wait(at); wait != 0 {
			t.Fatalf("wait before failure %d = %v, want 0", i+1, wait)
		}
		g.Fail(at)
		g.Succeed()
	}

	last := t0.Add((DailyLimit - 1) * time.Minute)
	if got, want := g.Wait(last), t0.Add(Window).Sub(last); got != want {
		t.Errorf("wait after %d failures = %v, want %v", DailyLimit, got, want)
	}
	if !g.Locked(last) {
		t.Errorf("Locked after %d failures = false, want true", DailyLimit)
	}
	if got := g.Wait(t0.Add(Window - time.Nanosecond)); got != time.Nanosecond {
		t.Errorf("wait 1ns before release = %v, want 1ns", got)
	}

	release := t0.Add(Window)
	if got := g.Wait(release); got != 0 {
		t.Errorf("wait when the oldest failure is %v old = %v, want 0", Window, got)
	}
	if g.Locked(release) {
		t.Errorf("Locked at release = true, want false")
	}

	// One more failure locks again until the next oldest ages out.
	g.Fail(release)
	if got, want := g.Wait(release), time.Minute; got != want {
		t.Errorf("wait after a failure at release = %v, want %v", got, want)
	}
	if len(g.Failures) != DailyLimit {
		t.Errorf("len(Failures) = %d, want %d", len(g.Failures), DailyLimit)
	}
}

func TestGuessFailuresBounded(t *testing.T) {
	var g Guess
	for i := range 2 * DailyLimit {
		g.Fail(t0.Add(time.Duration(i) * time.Second))
	}
	if len(g.Failures) != DailyLimit {
		t.Errorf("len(Failures) = %d, want %d", len(g.Failures), DailyLimit)
	}
	if want := t0.Add(DailyLimit * time.Second); !g.Failures[0].Equal(want) {
		t.Errorf("oldest kept failure = %v, want %v", g.Failures[0], want)
	}

	g.Fail(t0.Add(Window + 10*time.Minute))
	if len(g.Failures) != 1 {
		t.Errorf("len(Failures) after a day = %d, want 1", len(g.Failures))
	}
}

func TestGuessRefund(t *testing.T) {
	var g Guess
	first, second := t0, t0.Add(time.Second)
	g.Fail(first)
	g.Fail(second)
	g.Fail(second.Add(time.Second))

	g.Refund(second)
	if len(g.Failures) != 2 {
		t.Fatalf("len(Failures) = %d, want 2", len(g.Failures))
	}
	if !g.Failures[0].Equal(first) || !g.Failures[1].Equal(second.Add(time.Second)) {
		t.Errorf("Failures = %v, want [%v %v]", g.Failures, first, second.Add(time.Second))
	}
	if g.Consecutive != 0 {
		t.Errorf("Consecutive = %d, want 0", g.Consecutive)
	}
	if !g.NextAllowed.IsZero() {
		t.Errorf("NextAllowed = %v, want zero", g.NextAllowed)
	}

	g.Refund(t0.Add(time.Hour))
	if len(g.Failures) != 2 {
		t.Errorf("len(Failures) after refunding an unknown time = %d, want 2", len(g.Failures))
	}
}

func TestGuessRefundAfterJSON(t *testing.T) {
	var g Guess
	at := time.Now() // carries a monotonic reading that JSON drops
	g.Fail(at)

	data, err := json.Marshal(g)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	var stored Guess
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatalf("json.Unmarshal: %v", err)
	}

	stored.Refund(at)
	if len(stored.Failures) != 0 {
		t.Errorf("Failures after refund = %v, want none", stored.Failures)
	}
}

func TestGuessLift(t *testing.T) {
	var g Guess
	for i := range DailyLimit {
		g.Fail(t0.Add(time.Duration(i) * time.Second))
	}
	g.Lift()
	if got := g.Wait(t0.Add(DailyLimit * time.Second)); got != 0 {
		t.Errorf("wait after Lift = %v, want 0", got)
	}
	if g.Consecutive != 0 || len(g.Failures) != 0 || !g.NextAllowed.IsZero() {
		t.Errorf("after Lift = %+v, want the zero Guess", g)
	}
}

func TestGuessJSON(t *testing.T) {
	var g Guess
	for i := range 4 {
		g.Fail(t0.Add(time.Duration(i) * time.Second))
	}

	data, err := json.Marshal(g)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	var back Guess
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("json.Unmarshal(%s): %v", data, err)
	}

	if back.Consecutive != g.Consecutive {
		t.Errorf("Consecutive = %d, want %d", back.Consecutive, g.Consecutive)
	}
	if !back.NextAllowed.Equal(g.NextAllowed) {
		t.Errorf("NextAllowed = %v, want %v", back.NextAllowed, g.NextAllowed)
	}
	if len(back.Failures) != len(g.Failures) {
		t.Fatalf("len(Failures) = %d, want %d", len(back.Failures), len(g.Failures))
	}
	for i := range g.Failures {
		if !back.Failures[i].Equal(g.Failures[i]) {
			t.Errorf("Failures[%d] = %v, want %v", i, back.Failures[i], g.Failures[i])
		}
	}
	if got, want := back.Wait(t0.Add(3*time.Second)), g.Wait(t0.Add(3*time.Second)); got != want {
		t.Errorf("wait after round trip = %v, want %v", got, want)
	}
}

func TestGuessJSONZero(t *testing.T) {
	data, err := json.Marshal(Guess{})
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	if got, want := string(data), `{"consecutive":0}`; got != want {
		t.Errorf("zero Guess = %s, want %s", got, want)
	}
}

func TestGuessClockStepsBack(t *testing.T) {
	g := Guess{Consecutive: 20, NextAllowed: t0.Add(30 * 24 * time.Hour)}
	if got := g.Wait(t0); got != MaxDelay {
		t.Errorf("wait with NextAllowed a month ahead = %v, want %v", got, MaxDelay)
	}

	var locked Guess
	for i := range DailyLimit {
		locked.Fail(t0.Add(time.Duration(i) * time.Second))
	}
	if got := locked.Wait(t0.Add(-48 * time.Hour)); got > Window {
		t.Errorf("daily wait with the clock two days back = %v, want at most %v", got, Window)
	}
}

func TestGuessUnsortedFailures(t *testing.T) {
	// State decoded from the store is trusted only as far as its content:
	// an unsorted list still locks until its oldest failure ages out.
	var g Guess
	for i := range DailyLimit {
		g.Failures = append(g.Failures, t0.Add(time.Duration(DailyLimit-i)*time.Second))
	}
	now := t0.Add(time.Hour)
	if got, want := g.Wait(now), t0.Add(time.Second+Window).Sub(now); got != want {
		t.Errorf("wait = %v, want %v", got, want)
	}
}

func TestDelay(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{
		{-1, 0}, {0, 0}, {2, 0}, {3, time.Second}, {12, 512 * time.Second},
		{13, MaxDelay}, {40, MaxDelay}, {1 << 40, MaxDelay},
	}
	for _, tt := range tests {
		if got := Delay(tt.n); got != tt.want {
			t.Errorf("Delay(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}
