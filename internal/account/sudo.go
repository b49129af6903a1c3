package account

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// SudoToken is the stored record of a sudo token, keyed by the token's HMAC.
type SudoToken struct {
	UserID     string    `json:"userId"`
	SessionKey string    `json:"sessionKey"`
	Method     string    `json:"method"`
	Expires    time.Time `json:"expires"`
}

// PutSudoToken stores a sudo token under its HMAC until it expires.
func PutSudoToken(tx store.Tx, mac string, t *SudoToken) error {
	raw, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encoding sudo token record: %v", err)
	}
	return tx.Put(store.BucketSudo, mac, raw, t.Expires)
}

// GetSudoToken returns the live sudo token stored under mac, or nil.
func GetSudoToken(tx store.Tx, mac string) (*SudoToken, error) {
	raw, err := tx.Get(store.BucketSudo, mac)
	if err != nil || raw == nil {
		return nil, err
	}
	var t SudoToken
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("decoding sudo token record: %v", err)
	}
	return &t, nil
}

// revokeSudoTokens deletes the user's sudo tokens for which doomed returns
// true. Sudo tokens live minutes and the sweeper drops expired ones, so a
// scan of the bucket stays short.
func revokeSudoTokens(tx store.Tx, userID string, doomed func(*SudoToken) bool) error {
	var keys []string
	err := tx.Scan(store.BucketSudo, "", func(key string, raw []byte) error {
		var t SudoToken
		if err := json.Unmarshal(raw, &t); err != nil {
			keys = append(keys, key)
			return nil
		}
		if t.UserID == userID && doomed(&t) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, key := range keys {
		if err := tx.Delete(store.BucketSudo, key); err != nil {
			return err
		}
	}
	return nil
}

// moveSudoTokens rebinds the user's sudo tokens from one session key to
// another, when the module cookie rotates.
func moveSudoTokens(tx store.Tx, userID, from, to string) error {
	moved := map[string]*SudoToken{}
	err := tx.Scan(store.BucketSudo, "", func(key string, raw []byte) error {
		var t SudoToken
		if json.Unmarshal(raw, &t) == nil && t.UserID == userID && t.SessionKey == from {
			t.SessionKey = to
			moved[key] = &t
		}
		return nil
	})
	if err != nil {
		return err
	}
	for key, t := range moved {
		if err := PutSudoToken(tx, key, t); err != nil {
			return err
		}
	}
	return nil
}
