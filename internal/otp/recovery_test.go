package otp

import (
	"bytes"
	"crypto/rand"
	"errors"
	mathrand "math/rand/v2"
	"strings"
	"testing"
)

func TestNewRecoveryCodes(t *testing.T) {
	codes, err := NewRecoveryCodes(rand.Reader)
	if err != nil {
		t.Fatalf("NewRecoveryCodes: %v", err)
	}
	if len(codes) != RecoveryCodeCount {
		t.Fatalf("got %d codes, want %d", len(codes), RecoveryCodeCount)
	}

	seen := map[string]bool{}
	for _, code := range codes {
		if len(code) != RecoveryCodeLength {
			t.Errorf("code %q has %d characters, want %d", code, len(code), RecoveryCodeLength)
		}
		if strings.Trim(code, CrockfordAlphabet) != "" {
			t.Errorf("code %q has characters outside %s", code, CrockfordAlphabet)
		}
		if seen[code] {
			t.Errorf("code %q appears twice", code)
		}
		seen[code] = true

		if got, ok := NormalizeRecoveryCode(code); !ok || got != code {
			t.Errorf("NormalizeRecoveryCode(%q) = (%q, %v), want (%q, true)", code, got, ok, code)
		}
		typed := strings.ToLower(code[:4] + "-" + code[4:8] + " " + code[8:12] + "-" + code[12:])
		if got, ok := NormalizeRecoveryCode(typed); !ok || got != code {
			t.Errorf("NormalizeRecoveryCode(%q) = (%q, %v), want (%q, true)", typed, got, ok, code)
		}
	}
}

func TestNewRecoveryCodesEncoding(t *testing.T) {
	tests := []struct {
		name string
		src  []byte
		want string
	}{
		{"zeros", make([]byte, 10), "0000000000000000"},
		{"ones", bytes.Repeat([]byte{0xff}, 10), "ZZZZZZZZZZZZZZZZ"},
		// 0x0842108421 is 00001 repeated eight times: the digit 1 each.
		{"pattern", []byte{0x08, 0x42, 0x10, 0x84, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21}, "1111111111111111"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The source is the one code followed by distinct filler.
			src := append(append([]byte{}, tt.src...), seeded(t, 1, 10*(RecoveryCodeCount-1))...)
			codes, err := NewRecoveryCodes(bytes.NewReader(src))
			if err != nil {
				t.Fatalf("NewRecoveryCodes: %v", err)
			}
			if codes[0] != tt.want {
				t.Errorf("first code = %q, want %q", codes[0], tt.want)
			}
		})
	}
}

func TestNewRecoveryCodesRedrawsDuplicates(t *testing.T) {
	first := seeded(t, 2, 10)
	src := append(append(append([]byte{}, first...), first...), seeded(t, 3, 10*(RecoveryCodeCount-1))...)
	codes, err := NewRecoveryCodes(bytes.NewReader(src))
	if err != nil {
		t.Fatalf("NewRecoveryCodes: %v", err)
	}
	if codes[0] == codes[1] {
		t.Errorf("codes 0 and 1 are both %q, want a redraw", codes[0])
	}
}

func TestNewRecoveryCodesBrokenRandom(t *testing.T) {
	constant := make([]byte, 10*(RecoveryCodeCount+maxDraws))
	if _, err := NewRecoveryCodes(bytes.NewReader(constant)); !errors.Is(err, errBiasedRandom) {
		t.Errorf("constant source: error = %v, want %v", err, errBiasedRandom)
	}
	if _, err := NewRecoveryCodes(bytes.NewReader(make([]byte, 15))); err == nil {
		t.Errorf("short source: got no error")
	}
}

// seeded returns n deterministic pseudo-random bytes.
func seeded(t *testing.T, seed byte, n int) []byte {
	t.Helper()
	var key [32]byte
	key[0] = seed
	buf := make([]byte, n)
	if _, err := mathrand.NewChaCha8(key).Read(buf); err != nil {
		t.Fatalf("reading seeded bytes: %v", err)
	}
	return buf
}

func TestNormalizeRecoveryCode(t *testing.T) {
	const canon = "ABCDEFGHJKMNPQRS"
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"canonical", canon, canon, true},
		{"lower", "abcdefghjkmnpqrs", canon, true},
		{"dashes", "ABCD-EFGH-JKMN-PQRS", canon, true},
		{"spaces", " abcd efgh  jkmn pqrs ", canon, true},
		{"lookalikes", "IiLlOo0123456789", "1111000123456789", true},
		{"u", "ABCDEFGHJKMNPQRU", "", false},
		{"short", canon[:15], "", false},
		{"long", canon + "T", "", false},
		{"tab", "ABCD\tEFGHJKMNPQRS", "", false},
		{"underscore", "ABCD_EFGHJKMNPQRS", "", false},
		{"non-ascii", "ABCDEFGHJKMNPQRÉ", "", false},
		{"fullwidth-digit", "ABCDEFGHJKMNPQR１", "", false},
		{"empty", "", "", false},
		{"only-separators", "-- --", "", false},
		{"64-bytes", canon + strings.Repeat(" ", 64-len(canon)), canon, true},
		{"65-bytes", canon + strings.Repeat(" ", 65-len(canon)), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormalizeRecoveryCode(tt.in)
			if ok != tt.ok {
				t.Errorf("ok = %v, want %v", ok, tt.ok)
			}
			if got != tt.want {
				t.Errorf("code = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzNormalizeRecoveryCode(f *testing.F) {
	for _, seed := range []string{
		"ABCDEFGHJKMNPQRS", "abcd-efgh-jkmn-pqrs", "IiLlOo0123456789",
		"ABCDEFGHJKMNPQRU", "ABCDEFGHJKMNPQRÉ", "", strings.Repeat("-", 70),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := NormalizeRecoveryCode(in)
		if !ok {
			if got != "" {
				t.Errorf("NormalizeRecoveryCode(%q) = (%q, false), want empty code", in, got)
			}
			return
		}
		if len(in) > 64 {
			t.Errorf("NormalizeRecoveryCode accepted %d bytes, want at most 64", len(in))
		}
		if len(got) != RecoveryCodeLength || strings.Trim(got, CrockfordAlphabet) != "" {
			t.Errorf("NormalizeRecoveryCode(%q) = %q, not %d characters of %s",
				in, got, RecoveryCodeLength, CrockfordAlphabet)
		}
		if again, ok := NormalizeRecoveryCode(got); !ok || again != got {
			t.Errorf("NormalizeRecoveryCode(%q) = (%q, %v), want (%q, true)", got, again, ok, got)
		}
	})
}
