package otp

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"testing"
)

// uint32s returns a reader that yields the given values big-endian.
func uint32s(values ...uint32) *bytes.Reader {
	buf := make([]byte, 0, 4*len(values))
	for _, v := range values {
		buf = binary.BigEndian.AppendUint32(buf, v)
	}
	return bytes.NewReader(buf)
}

func TestNewEmailCode(t *testing.T) {
	tests := []struct {
		name   string
		values []uint32
		want   string
	}{
		{"zero", []uint32{0}, "000000"},
		{"small", []uint32{42}, "000042"},
		{"wraps", []uint32{1_234_567}, "234567"},
		{"last-accepted", []uint32{emailCodeLimit - 1}, "999999"},
		{"redraw-at-limit", []uint32{emailCodeLimit, 7}, "000007"},
		{"redraw-max", []uint32{1<<32 - 1, 1<<32 - 1, 123_456}, "123456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewEmailCode(uint32s(tt.values...))
			if err != nil {
				t.Fatalf("NewEmailCode: %v", err)
			}
			if got != tt.want {
				t.Errorf("code = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewEmailCodeBrokenRandom(t *testing.T) {
	always := make([]uint32, maxDraws+1)
	for i := range always {
		always[i] = 1<<32 - 1
	}
	if _, err := NewEmailCode(uint32s(always...)); !errors.Is(err, errBiasedRandom) {
		t.Errorf("always-rejected source: error = %v, want %v", err, errBiasedRandom)
	}
	if _, err := NewEmailCode(bytes.NewReader([]byte{1, 2})); err == nil {
		t.Errorf("short source: got no error")
	}
}

func TestNewEmailCodeFormat(t *testing.T) {
	for range 100 {
		code, err := NewEmailCode(rand.Reader)
		if err != nil {
			t.Fatalf("NewEmailCode: %v", err)
		}
		if !IsSixDigits(code) {
			t.Fatalf("code %q is not six digits", code)
		}
	}
}
