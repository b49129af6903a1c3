// Package throttle limits how often something may happen: guesses at a
// second factor (Guess), mails sent for a user or address (SendWindow), and
// requests on anonymous routes per client (Limiter).
//
// Guess and SendWindow are plain values that the caller stores with the
// user record and changes inside the store transaction that evaluates the
// guess or send, so parallel requests cannot take more than their share.
// Every wait is a time.Duration. Seconds converts it to the whole seconds of
// a Retry-After header.
package throttle

import (
	"slices"
	"time"
)

// Seconds returns d in whole seconds, rounded up, and 0 for d <= 0. Use it
// for Retry-After and every duration the API reports.
func Seconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s
}

// slidingWait returns how long to wait before one more event is allowed,
// given the past events in times (in any order): at most one per interval
// and at most limit within any span of window. An interval <= 0 or a limit
// <= 0 disables that rule. Events in the future (a clock that stepped back)
// count, but the waits they cause are capped at interval and window.
func slidingWait(times []time.Time, now time.Time, interval time.Duration, limit int, window time.Duration) time.Duration {
	var wait time.Duration

	if interval > 0 && len(times) > 0 {
		latest := slices.MaxFunc(times, time.Time.Compare)
		wait = clamp(latest.Add(interval).Sub(now), interval)
	}

	if limit > 0 && window > 0 && len(times) >= limit {
		recent := inWindow(times, now, window)
		if len(recent) >= limit {
			// The limit-th most recent event must leave the window.
			slices.SortFunc(recent, func(a, b time.Time) int { return b.Compare(a) })
			wait = max(wait, clamp(recent[limit-1].Add(window).Sub(now), window))
		}
	}
	return wait
}

// inWindow returns a new slice of the times less than window before now.
func inWindow(times []time.Time, now time.Time, window time.Duration) []time.Time {
	recent := make([]time.Time, 0, len(times))
	for _, t := range times {
		if now.Sub(t) < window {
			recent = append(recent, t)
		}
	}
	return recent
}

// clamp limits d to the range [0, ceiling].
func clamp(d, ceiling time.Duration) time.Duration {
	return min(max(d, 0), ceiling)
}

// record inserts now into times, which is sorted oldest first, drops the
// times at least keep before now, and keeps at most the newest limit
// entries. It returns the updated slice, which may share times' array.
func record(times []time.Time, now time.Time, keep time.Duration, limit int) []time.Time {
	// Insert after any equal times, so the order stays stable.
	i, _ := slices.BinarySearchFunc(times, now, func(t, target time.Time) int {
		if t.After(target) {
			return 1
		}
		return -1
	})
	times = slices.Insert(times, i, now)

	times = slices.DeleteFunc(times, func(t time.Time) bool { return now.Sub(t) >= keep })
	if len(times) > limit {
		times = slices.Delete(times, 0, len(times)-limit)
	}
	return times
}
