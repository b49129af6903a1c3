package otp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	pqotp "github.com/pquerna/otp"
)

// rfcSecret is the SHA1 seed of the RFC 6238 test vectors.
var rfcSecret = []byte("12345678901234567890")

// collisionSecret gives the same code, 822056, at time steps 100 and 101
// (found by search), so tests can see which of two matches wins.
var collisionSecret = []byte("collision-se04681499")

// referenceCode computes a 6-digit code with RFC 4226 written out here, so
// CheckTOTP is checked against an implementation other than its own.
func referenceCode(secret []byte, step int64) string {
	var counter [8]byte
	binary.BigEndian.PutUint64(counter[:], uint64(step))
	mac := hmac.New(sha1.New, secret)
	mac.Write(counter[:])
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	value := binary.BigEndian.Uint32(sum[offset:]) & 0x7fffffff
	return fmt.Sprintf("%06d", value%1_000_000)
}

func TestCheckTOTPRFC6238Vectors(t *testing.T) {
	// RFC 6238 appendix B, SHA1, last six of the eight digits.
	tests := []struct {
		unix int64
		code string
		step int64
	}{
		{59, "287082", 1},
		{1111111109, "081804", 37037036},
		{1111111111, "050471", 37037037},
		{1234567890, "005924", 41152263},
		{2000000000, "279037", 66666666},
		{20000000000, "353130", 666666666},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.unix), func(t *testing.T) {
			step, result := CheckTOTP(rfcSecret, tt.code, time.Unix(tt.unix, 0), 0, -1)
			if result != TOTPValid {
				t.Errorf("result = %v, want %v", result, TOTPValid)
			}
			if step != tt.step {
				t.Errorf("step = %d, want %d", step, tt.step)
			}
		})
	}
}

func TestCheckTOTPSkew(t *testing.T) {
	now := time.Unix(1_700_000_015, 0)
	current := TimeStep(now)
	tests := []struct {
		name   string
		offset int64
		skew   uint
		want   TOTPResult
	}{
		{"now/skew0", 0, 0, TOTPValid},
		{"prev/skew0", -1, 0, TOTPInvalid},
		{"next/skew0", 1, 0, TOTPInvalid},
		{"prev/skew1", -1, 1, TOTPValid},
		{"next/skew1", 1, 1, TOTPValid},
		{"prev2/skew1", -2, 1, TOTPInvalid},
		{"next2/skew1", 2, 1, TOTPInvalid},
		{"prev2/skew2", -2, 2, TOTPValid},
		{"maxskew/capped", MaxSkew, 1 << 40, TOTPValid},
		{"beyond-maxskew/capped", MaxSkew + 1, 1 << 40, TOTPInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := referenceCode(collisionFree(t, current, tt.offset), current+tt.offset)
			step, result := CheckTOTP(collisionFree(t, current, tt.offset), code, now, tt.skew, -1)
			if result != tt.want {
				t.Fatalf("result = %v, want %v", result, tt.want)
			}
			if tt.want == TOTPValid && step != current+tt.offset {
				t.Errorf("step = %d, want %d", step, current+tt.offset)
			}
		})
	}
}

// collisionFree returns rfcSecret after checking that its code at
// current+offset occurs at no other step within MaxSkew+1 of current, so a
// skew test cannot pass by an accidental match at another step.
func collisionFree(t *testing.T, current, offset int64) []byte {
	t.Helper()
	want := referenceCode(rfcSecret, current+offset)
	for d := int64(-MaxSkew - 2); d <= MaxSkew+2; d++ {
		if d != offset && referenceCode(rfcSecret, current+d) == want {
			t.Fatalf("test secret repeats its code at offsets %d and %d", offset, d)
		}
	}
	return rfcSecret
}

func TestCheckTOTPReplay(t *testing.T) {
	now := time.Unix(101*30+5, 0) // step 101
	code := referenceCode(collisionSecret, 100)
	if other := referenceCode(collisionSecret, 101); other != code {
		t.Fatalf("collision secret: codes %s and %s differ", code, other)
	}
	if other := referenceCode(collisionSecret, 102); other == code {
		t.Fatalf("collision secret: step 102 also gives %s", code)
	}

	tests := []struct {
		name     string
		lastStep int64
		wantStep int64
		want     TOTPResult
	}{
		{"never-used", -1, 101, TOTPValid},
		{"both-fresh", 99, 101, TOTPValid},
		{"one-fresh", 100, 101, TOTPValid},
		{"both-used", 101, 101, TOTPAlreadyUsed},
		{"later-step-used", 102, 101, TOTPAlreadyUsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, result := CheckTOTP(collisionSecret, code, now, 1, tt.lastStep)
			if result != tt.want {
				t.Errorf("result = %v, want %v", result, tt.want)
			}
			if step != tt.wantStep {
				t.Errorf("step = %d, want %d", step, tt.wantStep)
			}
		})
	}
}

func TestCheckTOTPReplaySingleStep(t *testing.T) {
	now := time.Unix(1_700_000_015, 0)
	current := TimeStep(now)
	code := referenceCode(collisionFree(t, current, 0), current)

	step, result := CheckTOTP(rfcSecret, code, now, 1, -1)
	if result != TOTPValid || step != current {
		t.Fatalf("first use = (%d, %v), want (%d, %v)", step, result, current, TOTPValid)
	}
	step, result = CheckTOTP(rfcSecret, code, now, 1, step)
	if result != TOTPAlreadyUsed || step != current {
		t.Errorf("replay = (%d, %v), want (%d, %v)", step, result, current, TOTPAlreadyUsed)
	}
}

func TestCheckTOTPRejects(t *testing.T) {
	now := time.Unix(1_700_000_015, 0)
	good := referenceCode(rfcSecret, TimeStep(now))
	wrong := fmt.Sprintf("%06d", (mustAtoi(t, good)+1)%1_000_000)
	tests := []struct {
		name string
		code string
	}{
		{"wrong", wrong},
		{"empty", ""},
		{"five-digits", good[:5]},
		{"seven-digits", good + "0"},
		{"letter", good[:5] + "a"},
		{"space", " " + good[:5]},
		{"trailing-space", good + " "},
		{"sign", "+" + good[1:]},
		{"fullwidth", "１２３４５６"},
		{"arabic-indic", "٠١٢٣٤٥"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, result := CheckTOTP(rfcSecret, tt.code, now, 1, -1)
			if result != TOTPInvalid {
				t.Errorf("result = %v, want %v", result, TOTPInvalid)
			}
			if step != 0 {
				t.Errorf("step = %d, want 0", step)
			}
		})
	}
}

func TestCheckTOTPBefore1970(t *testing.T) {
	// Steps -12 through 8 are candidates; no code exists for the negative ones.
	now := time.Unix(-45, 0)
	for _, code := range []string{referenceCode(rfcSecret, 0), "000000"} {
		step, result := CheckTOTP(rfcSecret, code, now, MaxSkew, -1)
		if step < 0 {
			t.Errorf("code %s: step = %d (%v), want no negative step", code, step, result)
		}
	}
	step, result := CheckTOTP(rfcSecret, referenceCode(rfcSecret, 0), now, MaxSkew, -1)
	if result != TOTPValid || step != 0 {
		t.Errorf("code of step 0 = (%d, %v), want (0, %v)", step, result, TOTPValid)
	}
}

func TestTimeStep(t *testing.T) {
	tests := []struct {
		unix int64
		want int64
	}{
		{0, 0}, {29, 0}, {30, 1}, {59, 1}, {-1, -1}, {-30, -1}, {-31, -2},
	}
	for _, tt := range tests {
		if got := TimeStep(time.Unix(tt.unix, 0)); got != tt.want {
			t.Errorf("TimeStep(%d) = %d, want %d", tt.unix, got, tt.want)
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return n
}

func TestIsSixDigits(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"000000", true},
		{"123456", true},
		{"12345", false},
		{"1234567", false},
		{"12345a", false},
		{"-12345", false},
		{" 12345", false},
		{"１２３４５６", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsSixDigits(tt.in); got != tt.want {
			t.Errorf("IsSixDigits(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNewTOTPSecret(t *testing.T) {
	src := bytes.Repeat([]byte{7}, SecretSize)
	secret, err := NewTOTPSecret(bytes.NewReader(src))
	if err != nil {
		t.Fatalf("NewTOTPSecret: %v", err)
	}
	if !bytes.Equal(secret, src) {
		t.Errorf("secret = %x, want %x", secret, src)
	}

	_, err = NewTOTPSecret(bytes.NewReader(src[:SecretSize-1]))
	if err == nil {
		t.Errorf("short random source: got no error")
	}
}

func TestTOTPKeyURL(t *testing.T) {
	secret := []byte("12345678901234567890")
	raw := TOTPKeyURL("Example Co", "alice@example.com", secret)

	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", raw, err)
	}
	checks := []struct {
		name, got, want string
	}{
		{"scheme", u.Scheme, "otpauth"},
		{"host", u.Host, "totp"},
		{"path", u.Path, "/Example Co:alice@example.com"},
		{"secret", u.Query().Get("secret"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"},
		{"issuer", u.Query().Get("issuer"), "Example Co"},
		{"algorithm", u.Query().Get("algorithm"), "SHA1"},
		{"digits", u.Query().Get("digits"), "6"},
		{"period", u.Query().Get("period"), "30"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if strings.Contains(raw, "+") {
		t.Errorf("URL %q encodes a space as +, want %%20", raw)
	}

	decoded, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(u.Query().Get("secret"))
	if err != nil || !bytes.Equal(decoded, secret) {
		t.Errorf("secret decodes to (%q, %v), want %q", decoded, err, secret)
	}
}

func TestTOTPKeyURLLabel(t *testing.T) {
	tests := []struct {
		name, issuer, account   string
		wantRawPath, wantIssuer string
		wantKeyIssuer, wantAcct string
	}{
		{"plain", "Example", "bob", "/Example:bob", "Example", "Example", "bob"},
		// Apps read the issuer from the query; the label only displays.
		{"colon", "A:B", "x:y", "/A%3AB:x%3Ay", "A:B", "A:B", ""},
		{"no-issuer", "", "bob", "/bob", "", "", "bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := TOTPKeyURL(tt.issuer, tt.account, []byte{1, 2, 3})
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatalf("url.Parse(%q): %v", raw, err)
			}
			if got := u.EscapedPath(); got != tt.wantRawPath {
				t.Errorf("escaped path = %q, want %q", got, tt.wantRawPath)
			}
			if got := u.Query().Get("issuer"); got != tt.wantIssuer {
				t.Errorf("issuer = %q, want %q", got, tt.wantIssuer)
			}

			key, err := pqotp.NewKeyFromURL(raw)
			if err != nil {
				t.Fatalf("NewKeyFromURL: %v", err)
			}
			if got := key.Issuer(); got != tt.wantKeyIssuer {
				t.Errorf("key issuer = %q, want %q", got, tt.wantKeyIssuer)
			}
			if got := key.AccountName(); tt.wantAcct != "" && got != tt.wantAcct {
				t.Errorf("key account = %q, want %q", got, tt.wantAcct)
			}
		})
	}
}

func TestQRCodeDataURL(t *testing.T) {
	keyURL := TOTPKeyURL("Example", "alice@example.com", rfcSecret)
	dataURL, err := QRCodeDataURL(keyURL)
	if err != nil {
		t.Fatalf("QRCodeDataURL: %v", err)
	}

	const prefix = "data:image/png;base64,"
	payload, ok := strings.CutPrefix(dataURL, prefix)
	if !ok {
		t.Fatalf("data URL starts %q, want %q", dataURL[:min(len(dataURL), 30)], prefix)
	}
	raw, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		t.Fatalf("decoding base64: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("decoding PNG: %v", err)
	}
	if got := img.Bounds().Size(); got.X != QRCodeSize || got.Y != QRCodeSize {
		t.Errorf("image size = %v, want %dx%d", got, QRCodeSize, QRCodeSize)
	}
}

func TestQRCodeDataURLTooLong(t *testing.T) {
	keyURL := TOTPKeyURL("Example", strings.Repeat("a", 4000), rfcSecret)
	if _, err := QRCodeDataURL(keyURL); err == nil {
		t.Errorf("4000-byte account: got no error")
	}
}

func TestTOTPResultString(t *testing.T) {
	var zero TOTPResult
	if zero != TOTPInvalid {
		t.Errorf("zero TOTPResult = %v, want %v", zero, TOTPInvalid)
	}
	if got := TOTPAlreadyUsed.String(); got != "already used" {
		t.Errorf("TOTPAlreadyUsed.String() = %q, want %q", got, "already used")
	}
}

func FuzzIsSixDigits(f *testing.F) {
	for _, seed := range []string{"123456", "12345", "1234567", "12345a", "１２３４５６", "", " 12345"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := len(s) == 6 && strings.Trim(s, "0123456789") == ""
		if got := IsSixDigits(s); got != want {
			t.Errorf("IsSixDigits(%q) = %v, want %v", s, got, want)
		}
	})
}
