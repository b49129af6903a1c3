package hold

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// ErrSealed is the error of Load for a held login that no key opens. The
// record was damaged, moved to another token or user, or sealed under a
// key that is no longer configured.
var ErrSealed = errors.New("held login does not open")

// Login is the sealed content of a held login: the app's login response
// and the credential it issued.
type Login struct {
	Answer *Answer `json:"answer"`
	Issued *Issued `json:"issued"`
}

// TokenMAC returns the store key of a partial token.
func TokenMAC(keys *crypto.Keyring, token string) string {
	return keys.Current.MAC("partial token", token)
}

// sealAD binds a sealed held login to its store key and user, so a sealed
// value copied under another token or user id does not open.
func sealAD(mac, userID string) []byte {
	return []byte("held login\x00" + mac + "\x00" + userID)
}

// Keep stores h for userID until now plus TTL and returns the new partial
// token: "partial_" and 32 random bytes from random in base64url. The
// store keeps only the token's HMAC, and h sealed under the current key.
func Keep(st store.Store, keys *crypto.Keyring, random io.Reader, now time.Time, userID string,
	h *Login,
) (string, error) {
	token, err := crypto.NewToken(random, identity.PartialTokenPrefix)
	if err != nil {
		return "", fmt.Errorf("minting a partial token: %v", err)
	}
	plain, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("encoding a held login: %v", err)
	}
	mac := TokenMAC(keys, token)
	sealed, err := keys.Current.Seal(plain, sealAD(mac, userID))
	if err != nil {
		return "", fmt.Errorf("sealing a held login: %v", err)
	}
	record := &account.HeldLogin{UserID: userID, Sealed: sealed, Expires: now.Add(TTL)}
	err = st.Update(func(tx store.Tx) error {
		return account.PutHeldLogin(tx, mac, record)
	})
	if err != nil {
		return "", fmt.Errorf("storing a held login: %w", err)
	}
	return token, nil
}

// Load returns the live held login stored under mac and its opened
// content. It returns nils when there is none or it expired at now, and
// ErrSealed when no key opens it.
func Load(tx store.Tx, keys *crypto.Keyring, mac string, now time.Time,
) (*account.HeldLogin, *Login, error) {
	record, err := account.GetHeldLogin(tx, mac)
	if err != nil {
		return nil, nil, fmt.Errorf("reading a held login: %w", err)
	}
	if record == nil || !now.Before(record.Expires) {
		return nil, nil, nil
	}
	plain, err := keys.Open(record.Sealed, sealAD(mac, record.UserID))
	if err != nil {
		return nil, nil, ErrSealed
	}
	var h Login
	if err := json.Unmarshal(plain, &h); err != nil || h.Answer == nil || h.Issued == nil {
		return nil, nil, ErrSealed
	}
	return record, &h, nil
}
