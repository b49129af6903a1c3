package crypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// referenceMAC computes what MAC must return with a fresh HMAC, so reused
// HMAC states can be compared with it.
func referenceMAC(key []byte, purpose string, parts ...string) string {
	h := hmac.New(sha256.New, key)
	writeField(h, purpose)
	for _, part := range parts {
		writeField(h, part)
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
