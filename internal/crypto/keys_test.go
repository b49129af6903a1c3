package crypto

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
)

func testKeys(t *testing.T, fill byte) *Keys {
	t.Helper()
	k, err := Derive(bytes.Repeat([]byte{fill}, MinSecretSize))
	if err != nil {
		t.Fatalf("Derive: %v", err)
	}
	return k
}

func TestDeriveShortSecret(t *testing.T) {
	_, err := Derive(make([]byte, MinSecretSize-1))
	if err == nil {
		t.Fatal("Derive accepted a 31-byte secret")
	}
	if !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("error %q does not name the minimum", err)
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := testKeys(t, 1)
	sealed, err := k.Seal([]byte("totp secret"), []byte("user 1"))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	plaintext, err := k.Open(sealed, []byte("user 1"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if string(plaintext) != "totp secret" {
		t.Errorf("Open = %q, want %q", plaintext, "totp secret")
	}
}

func TestOpenRejects(t *testing.T) {
	k := testKeys(t, 1)
	sealed, err := k.Seal([]byte("totp secret"), []byte("user 1"))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	cases := map[string]struct {
		keys       *Keys
		sealed     []byte
		additional string
	}{
		"other user":  {k, sealed, "user 2"},
		"other key":   {testKeys(t, 2), sealed, "user 1"},
		"tampered":    {k, tampered, "user 1"},
		"truncated":   {k, sealed[:5], "user 1"},
		"empty input": {k, nil, "user 1"},
	}
	for name, c := range cases {
		if _, err := c.keys.Open(c.sealed, []byte(c.additional)); err != ErrOpen {
			t.Errorf("%s: Open error = %v, want ErrOpen", name, err)
		}
	}
}

func TestMACSeparatesFields(t *testing.T) {
	k := testKeys(t, 1)
	if k.MAC("p", "ab", "c") == k.MAC("p", "a", "bc") {
		t.Error("MAC(ab, c) equals MAC(a, bc)")
	}
	if k.MAC("session", "1") == k.MAC("sudo", "1") {
		t.Error("MAC does not depend on the purpose")
	}
	if k.MAC("p", "x") != k.MAC("p", "x") {
		t.Error("MAC is not deterministic")
	}
}

func TestKeyringRotation(t *testing.T) {
	old, current := testKeys(t, 1), testKeys(t, 2)
	ring := &Keyring{Current: current, Previous: []*Keys{old}}
	sealed, err := old.Seal([]byte("x"), nil)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if _, err := ring.Open(sealed, nil); err != nil {
		t.Errorf("Keyring.Open of data sealed by a previous key: %v", err)
	}
	if !ring.MatchMAC(old.MAC("code", "A"), "code", "A") {
		t.Error("MatchMAC rejects a MAC made by a previous key")
	}
	if ring.MatchMAC(old.MAC("code", "A"), "code", "B") {
		t.Error("MatchMAC accepts a MAC of other input")
	}
	if (&Keyring{Current: current}).MatchMAC(old.MAC("code", "A"), "code", "A") {
		t.Error("MatchMAC accepts a MAC of a key outside the ring")
	}
}

func TestNewToken(t *testing.T) {
	a, err := NewToken(rand.Reader, "sudo_")
	if err != nil {
		t.Fatalf("NewToken: %v", err)
	}
	b, _ := NewToken(rand.Reader, "sudo_")
	if !strings.HasPrefix(a, "sudo_") {
		t.Errorf("token %q lacks its prefix", a)
	}
	if got, want := len(a), len("sudo_")+43; got != want {
		t.Errorf("token length = %d, want %d", got, want)
	}
	if a == b {
		t.Error("two tokens are equal")
	}
}
