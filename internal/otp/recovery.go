package otp

import (
	"encoding/base32"
	"fmt"
	"io"
)

const (
	// RecoveryCodeCount is the number of codes in one set.
	RecoveryCodeCount = 10

	// RecoveryCodeLength is the length of a canonical recovery code in
	// characters: 80 random bits in Crockford base32.
	RecoveryCodeLength = 16

	// recoveryCodeBytes is the randomness of one code (80 bits).
	recoveryCodeBytes = RecoveryCodeLength * 5 / 8

	// maxRecoveryInput is the longest input NormalizeRecoveryCode looks
	// at, in bytes: four times a code, room for any spacing a person adds.
	maxRecoveryInput = 64
)

// CrockfordAlphabet is the alphabet of recovery codes: Crockford's base32,
// without I, L, O and U, so that codes read aloud or typed are unambiguous.
const CrockfordAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var crockford = base32.NewEncoding(CrockfordAlphabet).WithPadding(base32.NoPadding)

// NewRecoveryCodes returns RecoveryCodeCount distinct recovery codes in
// canonical form (RecoveryCodeLength characters of CrockfordAlphabet),
// read from random, which should be crypto/rand.Reader outside tests. The
// codes are secrets: show them once, store only their HMACs, never log them.
func NewRecoveryCodes(random io.Reader) ([]string, error) {
	codes := make([]string, 0, RecoveryCodeCount)
	seen := make(map[string]bool, RecoveryCodeCount)
	var buf [recoveryCodeBytes]byte

	// A duplicate is drawn again. With a working source its chance is about
	// 2^-74 per set (45 pairs of 80-bit codes), so the bound stops only a
	// broken source.
	for range RecoveryCodeCount + maxDraws {
		if len(codes) == RecoveryCodeCount {
			break
		}
		if _, err := io.ReadFull(random, buf[:]); err != nil {
			return nil, fmt.Errorf("reading recovery code: %w", err)
		}
		code := crockford.EncodeToString(buf[:])
		if !seen[code] {
			seen[code] = true
			codes = append(codes, code)
		}
	}

	if len(codes) < RecoveryCodeCount {
		return nil, fmt.Errorf("drawing distinct recovery codes: %w", errBiasedRandom)
	}
	return codes, nil
}

// NormalizeRecoveryCode returns the canonical form of a recovery code as a
// person typed it: letters in either case, spaces and dashes anywhere, and
// Crockford's look-alikes I and L for 1 and O for 0. It returns false when
// the input is longer than 64 bytes or does not reduce to exactly
// RecoveryCodeLength characters of CrockfordAlphabet.
func NormalizeRecoveryCode(input string) (string, bool) {
	if len(input) > maxRecoveryInput {
		return "", false
	}

	var out [RecoveryCodeLength]byte
	n := 0
	for i := 0; i < len(input); i++ {
		c := input[i]
		if c == ' ' || c == '-' {
			continue
		}
		c = canonicalCrockford(c)
		if c == 0 || n == RecoveryCodeLength {
			return "", false
		}
		out[n] = c
		n++
	}

	if n != RecoveryCodeLength {
		return "", false
	}
	return string(out[:]), true
}

// canonicalCrockford maps one input byte to its CrockfordAlphabet
// character, or to 0 when it has none. Bytes of multi-byte UTF-8
// sequences are all >= 0x80 and so map to 0.
func canonicalCrockford(c byte) byte {
	if c >= 'a' && c <= 'z' {
		c -= 'a' - 'A'
	}
	switch c {
	case 'I', 'L':
		return '1'
	case 'O':
		return '0'
	case 'U':
		return 0
	}
	if (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') {
		return c
	}
	return 0
}
