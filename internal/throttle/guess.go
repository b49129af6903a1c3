package throttle

import (
	"slices"
	"time"
)

// Guess throttling rules, fixed by the HTTP contract: a few free failures,
// then an exponential wait, and a daily lock against slow guessing.
const (
	// FreeFailures is the number of consecutive failures that cost no
	// wait. After the n-th consecutive failure, n >= FreeFailures, the next
	// guess waits 2^(n-FreeFailures) seconds, at most MaxDelay.
	FreeFailures = 3

	// MaxDelay caps the exponential wait between guesses.
	MaxDelay = 900 * time.Second

	// DailyLimit is the number of failures within Window that lock the
	// counter until the oldest of them is Window old, or until Lift.
	DailyLimit = 50

	// Window is the span in which DailyLimit failures lock the counter.
	Window = 24 * time.Hour
)

// Guess is the throttle state of one guess counter: a user and method, an
// address on the password reset routes, or a user on the app's password
// check. The zero value is a counter with no failures. It is a plain value
// the caller stores (it encodes as JSON) and changes in the transaction
// that evaluates the guess. It is not safe for concurrent use.
type Guess struct {
	// Consecutive is the number of failures since the last success.
	Consecutive int `json:"consecutive"`

	// NextAllowed is the earliest time of the next guess. The zero time
	// means a guess is allowed now.
	NextAllowed time.Time `json:"nextAllowed,omitzero"`

	// Failures are the times of failures within Window, oldest first, at
	// most DailyLimit of them. Successes do not remove them.
	Failures []time.Time `json:"failures,omitempty"`
}

// Delay returns the wait after the n-th consecutive failure: zero for
// n < FreeFailures, else 2^(n-FreeFailures) seconds, at most MaxDelay.
func Delay(n int) time.Duration {
	if n < FreeFailures {
		return 0
	}
	exponent := n - FreeFailures
	if exponent >= 30 {
		return MaxDelay // larger shifts would overflow time.Duration
	}
	return min(time.Second<<exponent, MaxDelay)
}

// Wait returns how long the caller must wait before the next guess, zero
// when a guess is allowed now. It is the larger of NextAllowed-now and, when
// DailyLimit failures fall within Window before now, the time until the
// oldest of them is Window old. A guess made before Wait is zero gets 429
// and must not call Fail. A clock that steps back never makes the wait
// longer than MaxDelay or Window.
func (g *Guess) Wait(now time.Time) time.Duration {
	wait := clamp(g.NextAllowed.Sub(now), MaxDelay)
	return max(wait, slidingWait(g.Failures, now, 0, DailyLimit, Window))
}

// Locked reports whether DailyLimit failures within Window lock the
// counter at now. Logs and operator tools use it to tell a lock from a
// short exponential wait. The API reports both as a plain wait.
func (g *Guess) Locked(now time.Time) bool {
	return slidingWait(g.Failures, now, 0, DailyLimit, Window) > 0
}

// Fail records a failed guess at now: Consecutive grows by one,
// NextAllowed becomes now+Delay(Consecutive) (zero while the failures are
// free), and now joins Failures, from which failures Window old or older
// and all but the newest DailyLimit are dropped.
func (g *Guess) Fail(now time.Time) {
	g.Consecutive++

	g.NextAllowed = time.Time{}
	if delay := Delay(g.Consecutive); delay > 0 {
		g.NextAllowed = now.Add(delay)
	}

	g.Failures = record(g.Failures, now, Window, DailyLimit)
}

// Succeed records a successful guess: it resets Consecutive and
// NextAllowed. Failures stay, because the daily limit counts failures
// whatever successes came between.
func (g *Guess) Succeed() {
	g.Consecutive = 0
	g.NextAllowed = time.Time{}
}

// Refund undoes the Fail taken at the given time and then acts as Succeed.
// It is for guesses that the app judges: the failure is counted before the
// request is forwarded, so parallel guesses cannot pass the limit, and
// given back when the app reports success. Times are compared with
// time.Time.Equal, so a time that went through JSON still matches.
func (g *Guess) Refund(at time.Time) {
	// The newest equal time is removed: the one most likely from this Fail.
	for i := len(g.Failures) - 1; i >= 0; i-- {
		if g.Failures[i].Equal(at) {
			g.Failures = slices.Delete(g.Failures, i, i+1)
			break
		}
	}
	g.Succeed()
}

// Lift clears the counter entirely, daily lock included. It is the
// operator's action on a locked user, method or address.
func (g *Guess) Lift() {
	*g = Guess{}
}
