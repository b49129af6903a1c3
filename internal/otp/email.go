package otp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// emailCodeSpace is the number of distinct email codes: six digits.
const emailCodeSpace = 1_000_000

// emailCodeLimit is the largest multiple of emailCodeSpace that fits in 32
// bits. Random values at or above it are drawn again, so that every code
// is equally likely (no modulo bias).
const emailCodeLimit = (1 << 32) / emailCodeSpace * emailCodeSpace

// maxDraws bounds the redraws of a rejection sampler. With a working random
// source a redraw is rare (under 0.03% of draws for email codes), so
// reaching the bound means the source is broken.
const maxDraws = 64

// errBiasedRandom reports a random source that keeps giving values a
// sampler must reject.
var errBiasedRandom = errors.New("random source keeps failing rejection sampling")

// NewEmailCode returns six uniformly random ASCII digits read from random,
// which should be crypto/rand.Reader outside tests. The code is a secret:
// store only its HMAC and never log it.
func NewEmailCode(random io.Reader) (string, error) {
	var buf [4]byte
	for range maxDraws {
		if _, err := io.ReadFull(random, buf[:]); err != nil {
			return "", fmt.Errorf("reading email code: %w", err)
		}
		value := binary.BigEndian.Uint32(buf[:])
		if value < emailCodeLimit {
			return fmt.Sprintf("%06d", value%emailCodeSpace), nil
		}
	}
	return "", fmt.Errorf("drawing email code: %w", errBiasedRandom)
}
