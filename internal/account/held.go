package account

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// HeldLogin is a login response of the app kept back until its user passes
// the second factor, stored under the HMAC of its partial token. The
// response itself (status, headers, body) is sealed, because it carries the
// app's credential.
type HeldLogin struct {
	UserID  string    `json:"userId"`
	Sealed  []byte    `json:"sealed"`
	Expires time.Time `json:"expires"`
}

// PutHeldLogin stores a held login until it expires.
func PutHeldLogin(tx store.Tx, mac string, h *HeldLogin) error {
	raw, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encoding held login: %v", err)
	}
	return tx.Put(store.BucketHeld, mac, raw, h.Expires)
}

// GetHeldLogin returns the live held login stored under mac, or nil.
func GetHeldLogin(tx store.Tx, mac string) (*HeldLogin, error) {
	raw, err := tx.Get(store.BucketHeld, mac)
	if err != nil || raw == nil {
		return nil, err
	}
	var h HeldLogin
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("decoding held login: %v", err)
	}
	return &h, nil
}

// DeleteHeldLogin removes the held login stored under mac.
func DeleteHeldLogin(tx store.Tx, mac string) error {
	return tx.Delete(store.BucketHeld, mac)
}

// revokeHeldLogins deletes every held login of a user. Held logins live
// five minutes and the sweeper drops expired ones, so the scan stays short.
func revokeHeldLogins(tx store.Tx, userID string) error {
	var keys []string
	err := tx.Scan(store.BucketHeld, "", func(key string, raw []byte) error {
		var h HeldLogin
		if json.Unmarshal(raw, &h) != nil || h.UserID == userID {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, key := range keys {
		if err := tx.Delete(store.BucketHeld, key); err != nil {
			return err
		}
	}
	return nil
}
