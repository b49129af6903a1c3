package caddymodule

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
)

// generatedKeyFile is where a secret is kept when secret_key is not set:
// under secrets/ in Caddy's data directory, apart from the database, so a
// copy of the database does not carry its key.
func generatedKeyFile(realm string) string {
	return filepath.Join(caddy.AppDataDir(), "secrets", "twofactor-"+realm+".key")
}

// loadKeys derives the keyring from secret_key and previous_keys.
func (h *Handler) loadKeys() error {
	secret, err := h.secret()
	if err != nil {
		return err
	}
	current, err := crypto.Derive(secret)
	if err != nil {
		return fmt.Errorf("secret_key: %v", err)
	}
	h.keys = &crypto.Keyring{Current: current}
	for i, raw := range h.PreviousKeys {
		value, err := replaceSecret(raw)
		if err != nil {
			return fmt.Errorf("previous_keys[%d]: %v", i, err)
		}
		k, err := crypto.Derive([]byte(value))
		if err != nil {
			return fmt.Errorf("previous_keys[%d]: %v", i, err)
		}
		h.keys.Previous = append(h.keys.Previous, k)
	}
	return nil
}

func (h *Handler) secret() ([]byte, error) {
	if h.SecretKey != "" {
		value, err := replaceSecret(h.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("secret_key: %v", err)
		}
		return []byte(value), nil
	}
	path := generatedKeyFile(h.Realm)
	raw, err := os.ReadFile(path)
	if err == nil {
		return decodeKeyFile(path, raw)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading generated secret key %s: %v", path, err)
	}
	return h.generateKey(path)
}

func decodeKeyFile(path string, raw []byte) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("generated secret key %s is not base64: restore it from a backup, "+
			"or set secret_key", path)
	}
	return key, nil
}

// generateKey creates a random key file with mode 0600. O_EXCL makes two
// instances that start at once agree on one key: the loser reads the
// winner's file.
func (h *Handler) generateKey(path string) ([]byte, error) {
	key := make([]byte, 48)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generating secret key: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating folder for secret key: %v", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading generated secret key %s: %v", path, err)
		}
		return decodeKeyFile(path, raw)
	}
	if err != nil {
		return nil, fmt.Errorf("creating secret key file %s: %v", path, err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, fmt.Errorf("writing secret key file %s: %v", path, err)
	}
	h.logger.Warn("secret_key is not set: generated a random key; back it up, "+
		"because the database cannot be read without it", zap.String("file", path))
	return key, nil
}

// replaceSecret replaces Caddy's global placeholders ({env.X},
// {file./path}) in a secret and rejects a value that is empty or still
// holds a placeholder.
func replaceSecret(raw string) (string, error) {
	value, err := caddy.NewReplacer().ReplaceOrErr(raw, true, true)
	if err != nil {
		return "", fmt.Errorf("%v: set the environment variable or file it names", err)
	}
	value = strings.TrimRight(value, "\r\n")
	if value == "" {
		return "", fmt.Errorf("the value is empty: set the environment variable or file it names")
	}
	return value, nil
}
