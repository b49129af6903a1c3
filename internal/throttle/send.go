package throttle

import "time"

// MaxPerHour is the largest hourly limit SendWindow enforces: it keeps at
// most this many send times, so a larger perHour acts as MaxPerHour.
const MaxPerHour = 256

// SendWindow limits mails to one user or address: at most one per interval
// and at most perHour within any hour. It keeps the send times of the last
// hour and encodes as JSON for the store. The zero value has sent nothing.
// It is not safe for concurrent use.
type SendWindow struct {
	// Sent are the times of sends within the last hour, oldest first, at
	// most MaxPerHour of them.
	Sent []time.Time `json:"sent,omitempty"`
}

// Wait returns how long the caller must wait before the next send, zero
// when a send is allowed now. An interval <= 0 disables the spacing and a
// perHour <= 0 disables the hourly limit. Record drops sends an hour
// old, so an interval above an hour acts as an hour. A clock that steps
// back never makes the wait longer than interval or an hour.
func (w *SendWindow) Wait(now time.Time, interval time.Duration, perHour int) time.Duration {
	return slidingWait(w.Sent, now, interval, min(perHour, MaxPerHour), time.Hour)
}

// Record records a send at now and drops the sends an hour old or older.
// Call it only when Wait returned zero, in the same transaction.
func (w *SendWindow) Record(now time.Time) {
	w.Sent = record(w.Sent, now, time.Hour, MaxPerHour)
}

// Cancel removes the send recorded at the given time, for a send that
// failed: a mail that was never delivered starts no cool-down.
func (w *SendWindow) Cancel(at time.Time) {
	for i := len(w.Sent) - 1; i >= 0; i-- {
		if w.Sent[i].Equal(at) {
			w.Sent = append(w.Sent[:i], w.Sent[i+1:]...)
			return
		}
	}
}
