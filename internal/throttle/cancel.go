package throttle

import (
	"slices"
	"time"
)

// Cancel removes the event that Allow recorded for key at the given time,
// for an event that did not happen after all: a send that a second limit
// stopped. It does nothing when key or the time is unknown, for example
// after an eviction.
func (l *Limiter) Cancel(key string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()

	element, ok := l.entries[key]
	if !ok {
		return
	}
	entry := element.Value.(*limiterEntry)
	for i := len(entry.events) - 1; i >= 0; i-- {
		if entry.events[i].Equal(at) {
			entry.events = slices.Delete(entry.events, i, i+1)
			return
		}
	}
}
