package guard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

// PasswordCounter is the key, in a user's guess counters, of the app's
// password check on the old_password route.
const PasswordCounter = "password"

// Limits of the account-email change.
const transferInterval = 60 * time.Second

// addressRecord is the state the store keeps per folded address.
type addressRecord struct {
	Guess throttle.Guess `json:"guess"`
}

// takeAddressSlot takes a guess slot of the address's reset counter before
// the app judges the guess: a failure counted at the returned time, which
// refundAddress gives back on the app's success. While the counter must
// wait, it returns the 429 and counts nothing.
func (g *Guards) takeAddressSlot(address string) (time.Time, *api.Error, error) {
	key := api.FoldAddress(address)
	now := g.Now()
	var tooMany *api.Error
	err := g.Store.Update(func(tx store.Tx) error {
		rec, err := loadAddress(tx, key)
		if err != nil {
			return err
		}
		if wait := rec.Guess.Wait(now); wait > 0 {
			tooMany = api.TooMany(CodeTooManyOTPChecks, wait)
			return nil
		}
		rec.Guess.Fail(now)
		return saveAddress(tx, key, rec, now)
	})
	return now, tooMany, err
}

// refundAddress gives back the slot taken at the given time: the app
// accepted the code.
func (g *Guards) refundAddress(address string, at time.Time) error {
	key := api.FoldAddress(address)
	return g.Store.Update(func(tx store.Tx) error {
		rec, err := loadAddress(tx, key)
		if err != nil {
			return err
		}
		rec.Guess.Refund(at)
		return saveAddress(tx, key, rec, g.Now())
	})
}

func loadAddress(tx store.Tx, key string) (*addressRecord, error) {
	rec := &addressRecord{}
	raw, err := tx.Get(store.BucketAddresses, key)
	if err != nil || raw == nil {
		return rec, err
	}
	if err := json.Unmarshal(raw, rec); err != nil {
		return nil, fmt.Errorf("decoding the reset counter of an address: %v", err)
	}
	return rec, nil
}

// saveAddress keeps the record for throttle.Window after its last change:
// no failure older than that counts.
func saveAddress(tx store.Tx, key string, rec *addressRecord, now time.Time) error {
	raw, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding the reset counter of an address: %v", err)
	}
	return tx.Put(store.BucketAddresses, key, raw, now.Add(throttle.Window))
}

// takeUserSlot is takeAddressSlot for a counter of a user. While the
// counter must wait, it returns a 429 with the message code.
func (g *Guards) takeUserSlot(userID, counter, code string) (time.Time, *api.Error, error) {
	now := g.Now()
	var tooMany *api.Error
	err := g.Sessions.UpdateUser(userID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, userID)
		if err != nil {
			return err
		}
		guess := u.Guess(counter)
		if wait := guess.Wait(now); wait > 0 {
			tooMany = api.TooMany(code, wait)
			return nil
		}
		guess.Fail(now)
		return account.SaveUser(tx, u)
	})
	return now, tooMany, err
}

// refundUser gives back a user's slot taken at the given time and runs
// then in the same transaction, when set.
func (g *Guards) refundUser(userID, counter string, at time.Time, then func(tx store.Tx) error) error {
	return g.Sessions.UpdateUser(userID, func(tx store.Tx) error {
		u, err := account.LoadUser(tx, userID)
		if err != nil {
			return err
		}
		u.Guess(counter).Refund(at)
		if err := account.SaveUser(tx, u); err != nil {
			return err
		}
		if then == nil {
			return nil
		}
		return then(tx)
	})
}

// takeTransfer records a start of an account-email change by userID, or
// returns the 429 while the last one is less than transferInterval ago.
func (g *Guards) takeTransfer(userID string) (*api.Error, error) {
	now := g.Now()
	var tooMany *api.Error
	err := g.Store.Update(func(tx store.Tx) error {
		var window throttle.SendWindow
		raw, err := tx.Get(store.BucketTransfers, userID)
		if err != nil {
			return err
		}
		if raw != nil {
			if err := json.Unmarshal(raw, &window); err != nil {
				return fmt.Errorf("decoding the email changes of user %q: %v", userID, err)
			}
		}
		if wait := window.Wait(now, transferInterval, 0); wait > 0 {
			tooMany = api.TooMany(CodeTooManyTransferAttempts, wait)
			return nil
		}
		window.Record(now)
		raw, err = json.Marshal(&window)
		if err != nil {
			return fmt.Errorf("encoding the email changes of user %q: %v", userID, err)
		}
		return tx.Put(store.BucketTransfers, userID, raw, now.Add(time.Hour))
	})
	return tooMany, err
}

// loadUser reads a user's record.
func (g *Guards) loadUser(userID string) (*account.User, error) {
	var u *account.User
	err := g.Store.View(func(tx store.Tx) error {
		var err error
		u, err = account.LoadUser(tx, userID)
		return err
	})
	return u, err
}

// userByEmail returns the user the email index names for an address, and
// that user's record; "" and nil when the index does not know it.
func (g *Guards) userByEmail(address string) (string, *account.User, error) {
	var id string
	var u *account.User
	err := g.Store.View(func(tx store.Tx) error {
		var err error
		if id, err = account.UserByEmail(tx, address); err != nil || id == "" {
			return err
		}
		u, err = account.LoadUser(tx, id)
		return err
	})
	return id, u, err
}

// requireSudo returns 401 SUDO_TOKEN_REQUIRED for a user with 2FA on
// whose request brought no sudo token.
func requireSudo(u *account.User, c *api.Caller) *api.Error {
	if u.Enabled() && c.Sudo == nil {
		return api.NewError(http.StatusUnauthorized, api.CodeSudoTokenRequired)
	}
	return nil
}
