// Package otp implements the rules of the second factors: TOTP enrolment and
// checks (RFC 6238), email codes and recovery codes.
//
// Everything here takes plain values (time.Time, []byte, an io.Reader for
// randomness) and returns plain values, so the caller can run a check and
// record its outcome inside one store transaction. Nothing here stores,
// logs or sends anything.
package otp

import (
	"bytes"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"image/png"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	pqotp "github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// TOTP parameters. They are fixed at the RFC 6238 defaults, the combination
// that authenticator apps support most widely.
const (
	// SecretSize is the length of a TOTP secret in bytes: 160 bits, the
	// length RFC 4226 recommends.
	SecretSize = 20

	// Period is the length of one TOTP time step.
	Period = 30 * time.Second

	// Digits is the length of a TOTP code.
	Digits = 6

	// MaxSkew is the largest skew, in time steps either way, that CheckTOTP
	// honours. A larger value is treated as MaxSkew, because a wider window
	// makes guessing easier and costs more work per check.
	MaxSkew = 10

	// QRCodeSize is the width and height in pixels of the QR code image.
	QRCodeSize = 256
)

// secretEncoding is the base32 form of secrets in key URLs: the RFC 4648
// alphabet without padding, as the Key URI format specifies.
var secretEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns SecretSize bytes read from random, which should be
// crypto/rand.Reader outside tests.
func NewTOTPSecret(random io.Reader) ([]byte, error) {
	secret := make([]byte, SecretSize)
	if _, err := io.ReadFull(random, secret); err != nil {
		return nil, fmt.Errorf("reading TOTP secret: %w", err)
	}
	return secret, nil
}

// TOTPKeyURL returns the otpauth://totp/ URL that enrols secret in an
// authenticator app. The label is "issuer:account". The query contains
// secret (base32 without padding), issuer, algorithm=SHA1, digits=6 and
// period=30.
// A colon inside issuer or account is escaped as %3A so that the label
// splits at the right place. With an empty issuer the label is the account
// alone and the issuer parameter is left out.
//
// The URL carries the secret: never log it.
func TOTPKeyURL(issuer, account string, secret []byte) string {
	query := url.Values{}
	query.Set("secret", secretEncoding.EncodeToString(secret))
	if issuer != "" {
		query.Set("issuer", issuer)
	}
	query.Set("algorithm", pqotp.AlgorithmSHA1.String())
	query.Set("digits", strconv.Itoa(Digits))
	query.Set("period", strconv.Itoa(int(Period/time.Second)))

	label, rawLabel := account, escapeLabelPart(account)
	if issuer != "" {
		label = issuer + ":" + account
		rawLabel = escapeLabelPart(issuer) + ":" + rawLabel
	}

	u := url.URL{
		Scheme: "otpauth",
		Host:   "totp",
		Path:   "/" + label,
		// RawPath keeps the %3A escapes; url.URL would print a bare colon.
		RawPath: "/" + rawLabel,
		// Some apps, Google Authenticator among them, show a "+" in the
		// query as a plus sign, so spaces are written as %20 (as the otp
		// library does).
		RawQuery: strings.ReplaceAll(query.Encode(), "+", "%20"),
	}
	return u.String()
}

// escapeLabelPart escapes one side of the "issuer:account" label.
func escapeLabelPart(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
}

// QRCodeDataURL renders keyURL as a QRCodeSize x QRCodeSize PNG QR code
// and returns it as a "data:image/png;base64,..." URL for an <img> element.
// It fails when keyURL does not fit in a QR code.
//
// The image carries the secret: never log or cache it.
func QRCodeDataURL(keyURL string) (string, error) {
	key, err := pqotp.NewKeyFromURL(keyURL)
	if err != nil {
		return "", fmt.Errorf("parsing TOTP key URL: %w", err)
	}

	img, err := key.Image(QRCodeSize, QRCodeSize)
	if err != nil {
		return "", fmt.Errorf("rendering TOTP QR code: %w", err)
	}

	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", fmt.Errorf("encoding TOTP QR code as PNG: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// TOTPResult is the outcome of CheckTOTP. Its zero value is TOTPInvalid, so
// a result that was never set denies.
type TOTPResult int

const (
	// TOTPInvalid means the code matches no step in the window, or is not
	// six digits. It counts as a failed guess.
	TOTPInvalid TOTPResult = iota

	// TOTPValid means the code matches a step above the last accepted one.
	// The caller must store that step as the new last accepted step in the
	// same transaction.
	TOTPValid

	// TOTPAlreadyUsed means the code matches only steps at or below the
	// last accepted one: a replay. The API reports it as 401
	// TOTP_ALREADY_USED and does not count it as a failed guess.
	TOTPAlreadyUsed
)

// String returns the result's name for logs and test messages.
func (r TOTPResult) String() string {
	switch r {
	case TOTPValid:
		return "valid"
	case TOTPAlreadyUsed:
		return "already used"
	default:
		return "invalid"
	}
}

// TimeStep returns the RFC 6238 time step of t: Unix seconds divided by
// 30, rounded down (also before 1970).
func TimeStep(t time.Time) int64 {
	unix := t.Unix()
	period := int64(Period / time.Second)
	step := unix / period
	if unix%period < 0 {
		step--
	}
	return step
}

// CheckTOTP checks code against secret at the time steps TimeStep(now)-skew
// through TimeStep(now)+skew, skew capped at MaxSkew. A code that matches a
// step above lastStep is TOTPValid, with the highest such step. A code that
// matches only steps at or below lastStep is TOTPAlreadyUsed, with the
// highest matched step. Otherwise the result is TOTPInvalid with step 0.
// Use lastStep -1 (or lower) for a secret that was never used.
//
// Every candidate step is computed and compared in constant time, so the
// time taken does not tell which step matched. A code that is not six
// ASCII digits is TOTPInvalid, so callers that must reject it with 400
// check IsSixDigits first.
func CheckTOTP(secret []byte, code string, now time.Time, skew uint, lastStep int64) (step int64, result TOTPResult) {
	if !IsSixDigits(code) {
		return 0, TOTPInvalid
	}
	if skew > MaxSkew {
		skew = MaxSkew
	}

	encoded := base32.StdEncoding.EncodeToString(secret)
	opts := hotp.ValidateOpts{Digits: pqotp.DigitsSix, Algorithm: pqotp.AlgorithmSHA1}
	current := TimeStep(now)

	var fresh, used int64
	var foundFresh, foundUsed bool
	for offset := -int64(skew); offset <= int64(skew); offset++ {
		candidate := current + offset
		if candidate < 0 {
			continue // before 1970: no code exists for it
		}
		want, err := hotp.GenerateCodeCustom(encoded, uint64(candidate), opts)
		if err != nil {
			// Only a malformed base32 secret makes this fail, and the
			// secret was encoded above. Deny in case that ever changes.
			return 0, TOTPInvalid
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			continue
		}
		if candidate > lastStep {
			fresh, foundFresh = max(fresh, candidate), true
		} else {
			used, foundUsed = max(used, candidate), true
		}
	}

	switch {
	case foundFresh:
		return fresh, TOTPValid
	case foundUsed:
		return used, TOTPAlreadyUsed
	default:
		return 0, TOTPInvalid
	}
}

// IsSixDigits reports whether s is exactly six ASCII digits: no spaces,
// signs or non-ASCII digits. TOTP and email codes must pass it before they
// are checked.
func IsSixDigits(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
