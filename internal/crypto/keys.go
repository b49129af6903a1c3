// Package crypto derives the module's keys from the operator's secret and
// seals, authenticates and generates the secrets the store keeps.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
)

// MinSecretSize is the shortest secret_key accepted, in bytes. HKDF-SHA256
// gives no more strength than its input, and 32 bytes match the AES-256 and
// HMAC-SHA256 keys derived from it.
const MinSecretSize = 32

// TokenSize is the number of random bytes in a module token.
const TokenSize = 32

// HKDF "info" labels. Changing one invalidates everything derived from it.
const (
	infoSeal  = "caddy-twofactor seal v1"
	infoMAC   = "caddy-twofactor mac v1"
	infoCheck = "caddy-twofactor key check v1"
)

// ErrOpen is returned when sealed data does not authenticate under any key.
var ErrOpen = errors.New("sealed data does not authenticate under any configured key")

// Keys holds the keys derived from one secret_key.
type Keys struct {
	aead  cipher.AEAD
	mac   []byte
	check []byte
	// macs holds *macState values keyed with mac. Reset brings one back
	// to its keyed start without hashing the key again, which the gate's
	// per-request session key would otherwise pay for.
	macs sync.Pool
}

// macState is an HMAC-SHA256 keyed with Keys.mac, and a buffer for its
// input, so MAC allocates nothing but its result.
type macState struct {
	h     hash.Hash
	input []byte
}

// maxPooledMACInput bounds the input buffer a pooled macState keeps, in
// bytes, so one long input does not pin a large buffer.
const maxPooledMACInput = 1024

// Derive derives the sealing, MAC and key-check keys from secret with HKDF-SHA256.
func Derive(secret []byte) (*Keys, error) {
	if len(secret) < MinSecretSize {
		return nil, fmt.Errorf("secret_key is %d bytes long, want at least %d: "+
			"generate one with `openssl rand -base64 48`", len(secret), MinSecretSize)
	}
	sealKey, err := hkdf.Key(sha256.New, secret, nil, infoSeal, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving sealing key: %v", err)
	}
	macKey, err := hkdf.Key(sha256.New, secret, nil, infoMAC, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving MAC key: %v", err)
	}
	checkKey, err := hkdf.Key(sha256.New, secret, nil, infoCheck, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving key-check value: %v", err)
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("creating AES cipher: %v", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating AES-GCM: %v", err)
	}
	k := &Keys{aead: aead, mac: macKey, check: checkKey}
	k.macs.New = func() any { return &macState{h: hmac.New(sha256.New, k.mac)} }
	return k, nil
}

// CheckValue returns a value that identifies the secret without revealing
// it. The store keeps it, so a restart with another secret fails instead of
// misreading sealed data.
func (k *Keys) CheckValue() []byte {
	return append([]byte(nil), k.check...)
}

// Seal encrypts plaintext with AES-256-GCM under a random nonce. The
// additional data binds the ciphertext to its context (for example a user
// id), so a sealed value moved to another record does not open.
func (k *Keys) Seal(plaintext, additional []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("reading nonce: %v", err)
	}
	return k.aead.Seal(nonce, nonce, plaintext, additional), nil
}

// Open decrypts what Seal returned with the same additional data.
func (k *Keys) Open(sealed, additional []byte) ([]byte, error) {
	size := k.aead.NonceSize()
	if len(sealed) < size+k.aead.Overhead() {
		return nil, ErrOpen
	}
	plaintext, err := k.aead.Open(nil, sealed[:size], sealed[size:], additional)
	if err != nil {
		return nil, ErrOpen
	}
	return plaintext, nil
}

// MAC returns HMAC-SHA256 over purpose and parts, base64url-encoded. Each
// input is length-prefixed, so ("ab", "c") and ("a", "bc") differ.
func (k *Keys) MAC(purpose string, parts ...string) string {
	state := k.macs.Get().(*macState)
	input := appendField(state.input[:0], purpose)
	for _, part := range parts {
		input = appendField(input, part)
	}
	state.h.Reset()
	state.h.Write(input)
	var sum [sha256.Size]byte
	mac := base64.RawURLEncoding.EncodeToString(state.h.Sum(sum[:0]))

	// The input may hold credentials: clear it before the buffer is reused.
	clear(input)
	if cap(input) <= maxPooledMACInput {
		state.input = input[:0]
	} else {
		state.input = nil
	}
	k.macs.Put(state)
	return mac
}

// appendField appends s to b behind its length as 8 bytes, big-endian.
func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// Keyring is the current key and the previous ones that still open data
// sealed before a rotation. New data is always sealed under Current.
type Keyring struct {
	Current  *Keys
	Previous []*Keys
}

// All returns the current key followed by the previous ones.
func (r *Keyring) All() []*Keys {
	return append([]*Keys{r.Current}, r.Previous...)
}

// Open tries every key in turn.
func (r *Keyring) Open(sealed, additional []byte) ([]byte, error) {
	for _, k := range r.All() {
		if plaintext, err := k.Open(sealed, additional); err == nil {
			return plaintext, nil
		}
	}
	return nil, ErrOpen
}

// MatchMAC reports whether want equals the MAC of purpose and parts under
// any key of the ring, comparing in constant time.
func (r *Keyring) MatchMAC(want, purpose string, parts ...string) bool {
	match := false
	for _, k := range r.All() {
		if Equal(k.MAC(purpose, parts...), want) {
			match = true
		}
	}
	return match
}

// NewToken returns prefix followed by TokenSize random bytes in base64url.
func NewToken(random io.Reader, prefix string) (string, error) {
	buf := make([]byte, TokenSize)
	if _, err := io.ReadFull(random, buf); err != nil {
		return "", fmt.Errorf("reading random token: %v", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(buf), nil
}

// Equal compares two secrets in constant time (for equal lengths).
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
