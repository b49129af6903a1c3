package main

import (
	"slices"
	"sync"
	"time"
)

// maxMessages is the number of mails the sink keeps. Older ones are
// dropped.
const maxMessages = 100

// message is one mail the sink accepted.
type message struct {
	ID      int       // 1 for the first mail since start, then counting up
	Time    time.Time // when the SMTP DATA ended
	From    string    // envelope sender (MAIL FROM)
	To      []string  // envelope recipients (RCPT TO)
	Subject string    // decoded Subject header
	Text    string    // decoded text/plain part, or "" when the mail has none
	Raw     []byte    // the mail as received
}

// store keeps the last mails in memory. It is safe for concurrent use.
type store struct {
	mu       sync.Mutex
	limit    int
	lastID   int
	messages []message // oldest first
}

// newStore returns a store that keeps the last limit mails.
func newStore(limit int) *store {
	return &store{limit: limit}
}

// add stores msg with the next ID, drops the oldest mail when the store is
// full, and returns msg with its ID.
func (s *store) add(msg message) message {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.lastID++
	msg.ID = s.lastID
	s.messages = append(s.messages, msg)
	if len(s.messages) > s.limit {
		s.messages = slices.Delete(s.messages, 0, len(s.messages)-s.limit)
	}
	return msg
}

// list returns the stored mails, newest first.
func (s *store) list() []message {
	s.mu.Lock()
	defer s.mu.Unlock()

	out := slices.Clone(s.messages)
	slices.Reverse(out)
	return out
}

// get returns the mail with id, if the store still has it.
func (s *store) get(id int) (message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	for _, msg := range s.messages {
		if msg.ID == id {
			return msg, true
		}
	}
	return message{}, false
}
