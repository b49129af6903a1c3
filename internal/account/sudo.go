package account

import (
	"encoding/json"
	"fmt"
	"strings"
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

// PutSudoToken stores a sudo token under its HMAC until it expires, with
// the index entry that lists it among its user's tokens.
func PutSudoToken(tx store.Tx, mac string, t *SudoToken) error {
	raw, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encoding sudo token record: %v", err)
	}
	if err := tx.Put(store.BucketSudo, mac, raw, t.Expires); err != nil {
		return err
	}
	return tx.Put(store.BucketSudoIndex, sudoIndexKey(t.UserID, mac), nil, t.Expires)
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

// sudoIndexKey is the index entry of a user's sudo token. It starts with
// sessionPrefix, so one prefix scan finds every token of the user.
func sudoIndexKey(userID, mac string) string {
	return sessionPrefix(userID) + mac
}

// sudoIndexComplete is the key that marks, in each realm, that every sudo
// token has its index entry. No entry key starts with NUL, so the two
// never collide.
const sudoIndexComplete = "\x00complete"

// userSudoTokens returns the HMACs and records of the user's live sudo
// tokens, found through the index. Records that no longer decode are
// returned with a nil token, so the caller can delete them.
func userSudoTokens(tx store.Tx, userID string) (map[string]*SudoToken, error) {
	if err := completeSudoIndex(tx); err != nil {
		return nil, err
	}
	prefix := sessionPrefix(userID)
	var macs []string
	err := tx.Scan(store.BucketSudoIndex, prefix, func(key string, _ []byte) error {
		macs = append(macs, strings.TrimPrefix(key, prefix))
		return nil
	})
	if err != nil {
		return nil, err
	}

	tokens := make(map[string]*SudoToken, len(macs))
	for _, mac := range macs {
		raw, err := tx.Get(store.BucketSudo, mac)
		if err != nil {
			return nil, err
		}
		if raw == nil {
			// Expired: the sweeper drops the entry with its token.
			continue
		}
		var t SudoToken
		if json.Unmarshal(raw, &t) != nil {
			tokens[mac] = nil
			continue
		}
		if t.UserID == userID {
			tokens[mac] = &t
		}
	}
	return tokens, nil
}

// completeSudoIndex indexes the sudo tokens stored before the index
// existed, once per realm, so a lookup through the index misses none of
// them. It deletes records that no longer decode.
func completeSudoIndex(tx store.Tx) error {
	done, err := tx.Get(store.BucketSudoIndex, sudoIndexComplete)
	if err != nil || done != nil {
		return err
	}
	tokens := map[string]*SudoToken{}
	err = tx.Scan(store.BucketSudo, "", func(mac string, raw []byte) error {
		var t SudoToken
		if json.Unmarshal(raw, &t) != nil {
			tokens[mac] = nil
		} else {
			tokens[mac] = &t
		}
		return nil
	})
	if err != nil {
		return err
	}
	for mac, t := range tokens {
		if t == nil {
			err = tx.Delete(store.BucketSudo, mac)
		} else {
			err = PutSudoToken(tx, mac, t)
		}
		if err != nil {
			return err
		}
	}
	return tx.Put(store.BucketSudoIndex, sudoIndexComplete, nil, time.Time{})
}

// deleteSudoToken deletes a sudo token and its index entry.
func deleteSudoToken(tx store.Tx, userID, mac string) error {
	if err := tx.Delete(store.BucketSudo, mac); err != nil {
		return err
	}
	return tx.Delete(store.BucketSudoIndex, sudoIndexKey(userID, mac))
}

// revokeSudoTokens deletes the user's sudo tokens for which doomed returns
// true, and those of the user's records that no longer decode.
func revokeSudoTokens(tx store.Tx, userID string, doomed func(*SudoToken) bool) error {
	tokens, err := userSudoTokens(tx, userID)
	if err != nil {
		return err
	}
	for mac, t := range tokens {
		if t != nil && !doomed(t) {
			continue
		}
		if err := deleteSudoToken(tx, userID, mac); err != nil {
			return err
		}
	}
	return nil
}

// moveSudoTokens rebinds the user's sudo tokens from one session key to
// another, when the module cookie rotates.
func moveSudoTokens(tx store.Tx, userID, from, to string) error {
	tokens, err := userSudoTokens(tx, userID)
	if err != nil {
		return err
	}
	for mac, t := range tokens {
		if t == nil || t.SessionKey != from {
			continue
		}
		t.SessionKey = to
		if err := PutSudoToken(tx, mac, t); err != nil {
			return err
		}
	}
	return nil
}
