// Package account keeps the stored 2FA state of users: their methods,
// recovery codes and guess counters, their verified sessions and their
// sudo tokens. It works inside store transactions and knows nothing of
// HTTP.
package account

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

// Method names, as the API spells them in "methods" and in X-2FA-Method.
const (
	MethodTOTP         = "totp"
	MethodEmailOTP     = "emailOtp"
	MethodRecoveryCode = "recoveryCode"
)

// User is the stored 2FA state of one user of a realm.
type User struct {
	ID string `json:"id"`

	// TOTP is the active TOTP enrolment; PendingTOTP a set-up secret not
	// yet enabled. A reset leaves TOTP active until the new one is enabled.
	TOTP        *TOTP `json:"totp,omitempty"`
	PendingTOTP *TOTP `json:"pendingTotp,omitempty"`

	// EmailOTP is the active email OTP address; EmailCode the code last
	// mailed for setup or challenge.
	EmailOTP  *EmailOTP  `json:"emailOtp,omitempty"`
	EmailCode *EmailCode `json:"emailCode,omitempty"`
	// EmailSends limits code mails per user.
	EmailSends throttle.SendWindow `json:"emailSends,omitzero"`

	// Recovery is the current set of recovery codes.
	Recovery *Recovery `json:"recovery,omitempty"`

	// Guesses holds one guess counter per method.
	Guesses map[string]*throttle.Guess `json:"guesses,omitempty"`
}

// TOTP is a TOTP enrolment. The secret is sealed under the server key,
// bound to the user.
type TOTP struct {
	SealedSecret []byte    `json:"sealedSecret"`
	Skew         uint      `json:"skew"`
	LastStep     int64     `json:"lastStep"`
	CompletedAt  time.Time `json:"completedAt,omitzero"`
}

// EmailOTP is an active email OTP enrolment.
type EmailOTP struct {
	Email       string    `json:"email"`
	CompletedAt time.Time `json:"completedAt"`
}

// EmailCode purposes.
const (
	PurposeSetup     = "setup"
	PurposeChallenge = "challenge"
)

// EmailCode is a mailed one-time code, kept as an HMAC bound to its
// purpose and address.
type EmailCode struct {
	MAC     string    `json:"mac"`
	Purpose string    `json:"purpose"`
	Email   string    `json:"email"`
	Expires time.Time `json:"expires"`
}

// Recovery is a set of recovery codes, kept as HMACs. A used code is
// removed from MACs.
type Recovery struct {
	MACs        []string  `json:"macs"`
	CompletedAt time.Time `json:"completedAt"`
}

// Enabled reports whether 2FA is on: TOTP or email OTP is active.
// Recovery codes alone are no method.
func (u *User) Enabled() bool {
	return u.TOTP != nil || u.EmailOTP != nil
}

// ActiveMethods lists the methods a challenge may use, in the API's order.
func (u *User) ActiveMethods() []string {
	methods := []string{}
	if u.TOTP != nil {
		methods = append(methods, MethodTOTP)
	}
	if u.EmailOTP != nil {
		methods = append(methods, MethodEmailOTP)
	}
	if u.Enabled() && u.Recovery != nil && len(u.Recovery.MACs) > 0 {
		methods = append(methods, MethodRecoveryCode)
	}
	return methods
}

// Guess returns the guess counter of a method, creating it.
func (u *User) Guess(method string) *throttle.Guess {
	if u.Guesses == nil {
		u.Guesses = map[string]*throttle.Guess{}
	}
	g := u.Guesses[method]
	if g == nil {
		g = &throttle.Guess{}
		u.Guesses[method] = g
	}
	return g
}

// LoadUser reads a user's record, or returns an empty one when there is none.
func LoadUser(tx store.Tx, id string) (*User, error) {
	raw, err := tx.Get(store.BucketUsers, id)
	if err != nil {
		return nil, err
	}
	u := &User{ID: id}
	if raw == nil {
		return u, nil
	}
	if err := json.Unmarshal(raw, u); err != nil {
		return nil, fmt.Errorf("decoding the record of user %q: %v", id, err)
	}
	if u.ID != id {
		return nil, fmt.Errorf("the record stored under user %q names user %q", id, u.ID)
	}
	return u, nil
}

// SaveUser writes a user's record.
func SaveUser(tx store.Tx, u *User) error {
	raw, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("encoding the record of user %q: %v", u.ID, err)
	}
	return tx.Put(store.BucketUsers, u.ID, raw, time.Time{})
}
