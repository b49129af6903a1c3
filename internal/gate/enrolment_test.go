package gate

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

// totpCode computes an RFC 6238 code (HMAC-SHA1, 30 s steps, 6 digits)
// independently of the code under test.
func totpCode(secret []byte, at time.Time) string {
	var counter [8]byte
	binary.BigEndian.PutUint64(counter[:], uint64(at.Unix()/30))
	mac := hmac.New(sha1.New, secret)
	mac.Write(counter[:])
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	value := uint32(sum[offset]&0x7f)<<24 | uint32(sum[offset+1])<<16 |
		uint32(sum[offset+2])<<8 | uint32(sum[offset+3])
	return fmt.Sprintf("%06d", value%1_000_000)
}

// serveAPI serves one API request for a resolved caller.
func (f *gateFixture) serveAPI(method, subpath string, c *api.Caller, body string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(method, api.Prefix+subpath, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	f.server.ServeAPI(w, r, subpath, c)
	if w.Code != http.StatusOK {
		f.t.Fatalf("%s %s: status %d, body %s", method, subpath, w.Code, w.Body.String())
	}
	return w
}

func TestGateAfterEnrolment(t *testing.T) {
	// Enrol through the API with the caller the gate resolved, then come
	// back with the module cookie the enable set.
	f := newGateFixture(t)
	res := f.resolve(request(http.MethodPost, "/user/2fa/totp/setup", "sid=sid-alice"))
	if res.Caller.SessionKey != "" || res.Caller.Rekey == nil {
		t.Fatalf("caller without the module cookie: key %q, rekey set %v, want no key and a rekey",
			res.Caller.SessionKey, res.Caller.Rekey != nil)
	}
	var setup struct {
		URL string `json:"url"`
	}
	w := f.serveAPI(http.MethodPost, "/totp/setup", res.Caller, "{}")
	if err := json.Unmarshal(w.Body.Bytes(), &setup); err != nil {
		t.Fatalf("decoding setup: %v", err)
	}
	keyURL, err := url.Parse(setup.URL)
	if err != nil {
		t.Fatalf("parsing the key URL: %v", err)
	}
	if !strings.Contains(keyURL.Path, "alice@example.com") {
		t.Errorf("key URL %q does not name the identity's email", setup.URL)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(keyURL.Query().Get("secret"))
	if err != nil {
		t.Fatalf("decoding the secret: %v", err)
	}

	w = f.serveAPI(http.MethodPost, "/totp/enable", res.Caller, `{"totp":"`+totpCode(secret, t0)+`"}`)
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "twofactor" {
		t.Fatalf("enable set cookies %v, want one twofactor cookie", cookies)
	}
	moduleCookie := "twofactor=" + cookies[0].Value

	d := f.check(request(http.MethodGet, "/docs", "sid=sid-alice; "+moduleCookie))
	if d.UserID != "alice" || d.Method != account.MethodTOTP {
		t.Errorf("with the module cookie: decision %+v, want alice verified by totp", d)
	}
	d = f.check(request(http.MethodGet, "/docs", "sid=sid-alice"))
	wantDecisionError(t, d, http.StatusUnauthorized, api.Code2FARequired)
	d = f.check(request(http.MethodGet, "/docs", "sid=sid-alice-2; "+moduleCookie))
	wantDecisionError(t, d, http.StatusUnauthorized, api.Code2FARequired)

	// A sudo token minted in that session is accepted beside its cookies,
	// and the rotated module cookie it set keeps the session verified.
	f.clock.Advance(30 * time.Second)
	again := f.resolve(request(http.MethodPost, "/user/2fa/totp/authenticate", "sid=sid-alice; "+moduleCookie))
	w = f.serveAPI(http.MethodPost, "/totp/authenticate", again.Caller, `{"totp":"`+totpCode(secret, f.clock.Now())+`"}`)
	var answer struct {
		SudoToken string `json:"sudoToken"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
		t.Fatalf("decoding authenticate: %v", err)
	}
	rotated := w.Result().Cookies()
	if len(rotated) != 1 || rotated[0].Value == cookies[0].Value {
		t.Fatalf("authenticate set cookies %v, want a new twofactor cookie", rotated)
	}
	r := request(http.MethodDelete, "/user/2fa/totp", "sid=sid-alice; twofactor="+rotated[0].Value)
	r.Header.Set("Authorization", "Bearer "+answer.SudoToken)
	if res := f.resolve(r); res.Caller.Sudo == nil {
		t.Error("the sudo token is not accepted beside its session's cookies")
	}
	d = f.check(request(http.MethodGet, "/docs", "sid=sid-alice; "+moduleCookie))
	wantDecisionError(t, d, http.StatusUnauthorized, api.Code2FARequired)
	d = f.check(request(http.MethodGet, "/docs", "sid=sid-alice; twofactor="+rotated[0].Value))
	if d.UserID != "alice" {
		t.Errorf("with the rotated module cookie: decision %+v, want alice verified", d)
	}
}
