package crypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// referenceMAC computes what MAC must return with a fresh HMAC, so reused
// HMAC states can be compared with it.
func referenceMAC(key []byte, purpose string, parts ...string) string {
	h := hmac.New(sha256.New, key)
	for _, field := range append([]string{purpose}, parts...) {
		var size [8]byte
		binary.BigEndian.PutUint64(size[:], uint64(len(field)))
		h.Write(size[:])
		h.Write([]byte(field))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func TestMACReusedStatesParallel(t *testing.T) {
	k, err := Derive([]byte(strings.Repeat("mac test secret ", 2)))
	if err != nil {
		t.Fatalf("Derive: %v", err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				part := fmt.Sprintf("user-%d-%d", g, i)
				got := k.MAC("session", part, "value")
				if want := referenceMAC(k.mac, "session", part, "value"); got != want {
					t.Errorf("MAC(session, %s) = %s, want %s", part, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestMACLongInput(t *testing.T) {
	k, err := Derive([]byte(strings.Repeat("mac test secret ", 2)))
	if err != nil {
		t.Fatalf("Derive: %v", err)
	}
	for _, size := range []int{0, maxPooledMACInput, 4 * maxPooledMACInput, 10} {
		part := strings.Repeat("x", size)
		if got, want := k.MAC("long", part), referenceMAC(k.mac, "long", part); got != want {
			t.Errorf("MAC of a %d-byte part = %s, want %s", size, got, want)
		}
	}
}
