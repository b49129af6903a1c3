package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var jwtNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// testKeys are generated once per test binary, because RSA key generation
// is slow.
type testKeys struct {
	hmac  []byte
	rsa   *rsa.PrivateKey
	p256  *ecdsa.PrivateKey
	p384  *ecdsa.PrivateKey
	ed    ed25519.PrivateKey
	other []byte // another HMAC secret
}

var (
	keysOnce  sync.Once
	keysValue testKeys
)

func keys(t testing.TB) testKeys {
	t.Helper()
	keysOnce.Do(func() {
		var k testKeys
		k.hmac = []byte(strings.Repeat("k", 32))
		k.other = []byte(strings.Repeat("o", 32))
		k.rsa, _ = rsa.GenerateKey(rand.Reader, 2048)
		k.p256, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		k.p384, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
		keysValue = k
	})
	if keysValue.rsa == nil || keysValue.p256 == nil || keysValue.p384 == nil || keysValue.ed == nil {
		t.Fatal("generating test keys failed")
	}
	return keysValue
}

func publicPEM(t testing.TB, public any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		t.Fatalf("marshalling public key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func sign(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	token, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("signing %s token: %v", method.Alg(), err)
	}
	return token
}

// claims returns valid claims for user "alice", with overrides applied; an
// override of nil deletes the claim.
func claims(overrides jwt.MapClaims) jwt.MapClaims {
	c := jwt.MapClaims{
		"sub":   "alice",
		"email": "alice@example.com",
		"exp":   jwtNow.Add(time.Hour).Unix(),
	}
	for name, value := range overrides {
		if value == nil {
			delete(c, name)
		} else {
			c[name] = value
		}
	}
	return c
}

func newJWT(t testing.TB, cfg JWTConfig) *JWT {
	t.Helper()
	cfg.Now = func() time.Time { return jwtNow }
	source, err := NewJWT(cfg)
	if err != nil {
		t.Fatalf("NewJWT: %v", err)
	}
	return source
}

func TestJWTAlgorithms(t *testing.T) {
	k := keys(t)
	hmacCfg := JWTConfig{HMACSecret: k.hmac}
	rsaCfg := JWTConfig{PublicKeyPEM: publicPEM(t, &k.rsa.PublicKey)}
	p256Cfg := JWTConfig{PublicKeyPEM: publicPEM(t, &k.p256.PublicKey)}
	edCfg := JWTConfig{PublicKeyPEM: publicPEM(t, k.ed.Public())}
	noneToken := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil))

	tests := []struct {
		name   string
		cfg    JWTConfig
		token  string
		wantOK bool
	}{
		{"HS256", hmacCfg, sign(t, jwt.SigningMethodHS256, k.hmac, claims(nil)), true},
		{"HS384", hmacCfg, sign(t, jwt.SigningMethodHS384, k.hmac, claims(nil)), true},
		{"HS512", hmacCfg, sign(t, jwt.SigningMethodHS512, k.hmac, claims(nil)), true},
		{"HS256 other secret", hmacCfg, sign(t, jwt.SigningMethodHS256, k.other, claims(nil)), false},
		{"RS256", rsaCfg, sign(t, jwt.SigningMethodRS256, k.rsa, claims(nil)), true},
		{"RS512", rsaCfg, sign(t, jwt.SigningMethodRS512, k.rsa, claims(nil)), true},
		{"PS256", rsaCfg, sign(t, jwt.SigningMethodPS256, k.rsa, claims(nil)), true},
		{"ES256", p256Cfg, sign(t, jwt.SigningMethodES256, k.p256, claims(nil)), true},
		{"ES384 for P-256 key", p256Cfg, sign(t, jwt.SigningMethodES384, k.p384, claims(nil)), false},
		{"EdDSA", edCfg, sign(t, jwt.SigningMethodEdDSA, k.ed, claims(nil)), true},
		{"RS256 for HMAC secret", hmacCfg, sign(t, jwt.SigningMethodRS256, k.rsa, claims(nil)), false},
		{"ES256 for RSA key", rsaCfg, sign(t, jwt.SigningMethodES256, k.p256, claims(nil)), false},
		{"EdDSA for P-256 key", p256Cfg, sign(t, jwt.SigningMethodEdDSA, k.ed, claims(nil)), false},
		{
			// Algorithm confusion: an HMAC signature keyed with the public
			// key's PEM bytes, which are public.
			"HS256 keyed with RSA public key", rsaCfg,
			sign(t, jwt.SigningMethodHS256, rsaCfg.PublicKeyPEM, claims(nil)), false,
		},
		{"none for HMAC secret", hmacCfg, noneToken, false},
		{"none for RSA key", rsaCfg, noneToken, false},
		{"none for Ed25519 key", edCfg, noneToken, false},
		{"not a token", hmacCfg, "not-a-jwt", false},
		{"empty", hmacCfg, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := newJWT(t, tt.cfg).Verify(tt.token)
			if ok := err == nil; ok != tt.wantOK {
				t.Fatalf("Verify error = %v, want ok %v", err, tt.wantOK)
			}
			if tt.wantOK && id.UserID != "alice" {
				t.Errorf("UserID = %q, want %q", id.UserID, "alice")
			}
		})
	}
}

func TestJWTClaims(t *testing.T) {
	k := keys(t)
	hs := func(overrides jwt.MapClaims) string {
		return sign(t, jwt.SigningMethodHS256, k.hmac, claims(overrides))
	}
	base := JWTConfig{HMACSecret: k.hmac}
	withIssuer := JWTConfig{HMACSecret: k.hmac, Issuer: "https://app.example", Audience: "twofactor"}
	withLeeway := JWTConfig{HMACSecret: k.hmac, Leeway: 30 * time.Second}
	custom := JWTConfig{HMACSecret: k.hmac, UserClaim: "uid", EmailClaim: "mail", SessionClaim: "sid"}
	past := func(d time.Duration) int64 { return jwtNow.Add(-d).Unix() }

	tests := []struct {
		name   string
		cfg    JWTConfig
		token  string
		want   *Identity
		wantOK bool
	}{
		{"valid", base, hs(nil), &Identity{UserID: "alice", Email: "alice@example.com"}, true},
		{"no email", base, hs(jwt.MapClaims{"email": nil}), &Identity{UserID: "alice"}, true},
		{"email not a string", base, hs(jwt.MapClaims{"email": 5}), &Identity{UserID: "alice"}, true},
		{"expired", base, hs(jwt.MapClaims{"exp": past(time.Second)}), nil, false},
		{"missing exp", base, hs(jwt.MapClaims{"exp": nil}), nil, false},
		{"exp not a number", base, hs(jwt.MapClaims{"exp": "soon"}), nil, false},
		{"not yet valid", base, hs(jwt.MapClaims{"nbf": jwtNow.Add(time.Minute).Unix()}), nil, false},
		{"expired within leeway", withLeeway, hs(jwt.MapClaims{"exp": past(20 * time.Second)}),
			&Identity{UserID: "alice", Email: "alice@example.com"}, true},
		{"expired beyond leeway", withLeeway, hs(jwt.MapClaims{"exp": past(40 * time.Second)}), nil, false},
		{"issuer and audience", withIssuer,
			hs(jwt.MapClaims{"iss": "https://app.example", "aud": []string{"other", "twofactor"}}),
			&Identity{UserID: "alice", Email: "alice@example.com"}, true},
		{"bad issuer", withIssuer,
			hs(jwt.MapClaims{"iss": "https://evil.example", "aud": "twofactor"}), nil, false},
		{"missing issuer", withIssuer, hs(jwt.MapClaims{"aud": "twofactor"}), nil, false},
		{"bad audience", withIssuer,
			hs(jwt.MapClaims{"iss": "https://app.example", "aud": "other"}), nil, false},
		{"missing audience", withIssuer, hs(jwt.MapClaims{"iss": "https://app.example"}), nil, false},
		{"numeric sub", base, hs(jwt.MapClaims{"sub": 42, "email": nil}), &Identity{UserID: "42"}, true},
		{"numeric sub 1.0", base, hs(jwt.MapClaims{"sub": json.Number("1.0"), "email": nil}),
			&Identity{UserID: "1"}, true},
		{"numeric sub 1e3", base, hs(jwt.MapClaims{"sub": json.Number("1e3"), "email": nil}),
			&Identity{UserID: "1000"}, true},
		{"numeric sub beyond float64", base,
			hs(jwt.MapClaims{"sub": json.Number("12345678901234567891"), "email": nil}),
			&Identity{UserID: "12345678901234567891"}, true},
		{"fractional sub", base, hs(jwt.MapClaims{"sub": 1.5}), nil, false},
		{"negative zero sub", base, hs(jwt.MapClaims{"sub": json.Number("-0")}), nil, false},
		{"bool sub", base, hs(jwt.MapClaims{"sub": true}), nil, false},
		{"object sub", base, hs(jwt.MapClaims{"sub": map[string]any{"id": 1}}), nil, false},
		{"empty sub", base, hs(jwt.MapClaims{"sub": ""}), nil, false},
		{"missing sub", base, hs(jwt.MapClaims{"sub": nil}), nil, false},
		{"custom claims", custom, hs(jwt.MapClaims{"uid": 7, "mail": "m@example.com", "sid": "s1"}),
			&Identity{UserID: "7", Email: "m@example.com", SessionID: "s1"}, true},
		{"numeric session", custom, hs(jwt.MapClaims{"uid": 7, "sid": 99}),
			&Identity{UserID: "7", SessionID: "99"}, true},
		{"missing session", custom, hs(jwt.MapClaims{"uid": 7}), nil, false},
		{"empty session", custom, hs(jwt.MapClaims{"uid": 7, "sid": ""}), nil, false},
		{"sub ignored for custom claim", custom, hs(jwt.MapClaims{"sid": "s1"}), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := newJWT(t, tt.cfg).Verify(tt.token)
			if ok := err == nil; ok != tt.wantOK {
				t.Fatalf("Verify error = %v, want ok %v", err, tt.wantOK)
			}
			if tt.wantOK && *id != *tt.want {
				t.Errorf("Verify = %+v, want %+v", *id, *tt.want)
			}
		})
	}
}

func TestJWTResolve(t *testing.T) {
	k := keys(t)
	source := newJWT(t, JWTConfig{HMACSecret: k.hmac, SessionClaim: "sid"})
	token := func(sub, sid string) string {
		return sign(t, jwt.SigningMethodHS256, k.hmac, claims(jwt.MapClaims{"sub": sub, "sid": sid}))
	}
	bad := sign(t, jwt.SigningMethodHS256, k.other, claims(jwt.MapClaims{"sid": "s1"}))

	tests := []struct {
		name         string
		presented    []Presented
		wantUser     string // empty: no identity
		wantRejected []Presented
		wantErr      error
	}{
		{name: "nothing presented"},
		{
			name:      "one valid",
			presented: []Presented{{bearer, token("alice", "s1")}},
			wantUser:  "alice",
		},
		{
			name:         "one invalid",
			presented:    []Presented{{bearer, bad}},
			wantRejected: []Presented{{bearer, bad}},
		},
		{
			name:         "valid beside invalid",
			presented:    []Presented{{sidCookie, bad}, {bearer, token("alice", "s1")}},
			wantUser:     "alice",
			wantRejected: []Presented{{sidCookie, bad}},
		},
		{
			name:      "same user twice",
			presented: []Presented{{sidCookie, token("alice", "s1")}, {bearer, token("alice", "s1")}},
			wantUser:  "alice",
		},
		{
			name:      "different users",
			presented: []Presented{{sidCookie, token("alice", "s1")}, {bearer, token("bob", "s1")}},
			wantErr:   ErrAmbiguous,
		},
		{
			name:      "different sessions",
			presented: []Presented{{sidCookie, token("alice", "s1")}, {bearer, token("alice", "s2")}},
			wantErr:   ErrAmbiguous,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			result, err := source.Resolve(context.Background(), nil, Credentials{Presented: tt.presented})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Resolve error = %v, want %v", err, tt.wantErr)
			}
			gotUser := ""
			if result.Identity != nil {
				gotUser = result.Identity.UserID
			}
			if gotUser != tt.wantUser {
				t.Errorf("user = %q, want %q", gotUser, tt.wantUser)
			}
			if strings.Join(values(result.Rejected), ",") != strings.Join(values(tt.wantRejected), ",") {
				t.Errorf("Rejected = %v, want %v", result.Rejected, tt.wantRejected)
			}
		})
	}
}

func TestNewJWTErrors(t *testing.T) {
	k := keys(t)
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatalf("generating P-224 key: %v", err)
	}
	privateDER, err := x509.MarshalPKCS8PrivateKey(k.p256)
	if err != nil {
		t.Fatalf("marshalling private key: %v", err)
	}
	privatePEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privateDER})
	corruptPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}})

	tests := []struct {
		name string
		cfg  JWTConfig
	}{
		{"no key", JWTConfig{}},
		{"both keys", JWTConfig{HMACSecret: k.hmac, PublicKeyPEM: publicPEM(t, k.ed.Public())}},
		{"leeway above 60 s", JWTConfig{HMACSecret: k.hmac, Leeway: 61 * time.Second}},
		{"negative leeway", JWTConfig{HMACSecret: k.hmac, Leeway: -time.Second}},
		{"not PEM", JWTConfig{PublicKeyPEM: []byte("not a key")}},
		{"private key", JWTConfig{PublicKeyPEM: privatePEM}},
		{"corrupt key", JWTConfig{PublicKeyPEM: corruptPEM}},
		{"P-224 key", JWTConfig{PublicKeyPEM: publicPEM(t, &p224.PublicKey)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewJWT(tt.cfg); err == nil {
				t.Errorf("NewJWT error = nil, want an error")
			}
		})
	}
}

func TestNewJWTKeyForms(t *testing.T) {
	k := keys(t)
	pkcs1 := pem.EncodeToMemory(&pem.Block{
		Type:  "RSA PUBLIC KEY",
		Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey),
	})
	template := &x509.Certificate{SerialNumber: big.NewInt(1), NotAfter: jwtNow.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, template, template, k.ed.Public(), k.ed)
	if err != nil {
		t.Fatalf("creating certificate: %v", err)
	}
	certificate := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})

	tests := []struct {
		name  string
		pem   []byte
		token string
	}{
		{"PKCS #1 RSA key", pkcs1, sign(t, jwt.SigningMethodRS256, k.rsa, claims(nil))},
		{"Ed25519 certificate", certificate, sign(t, jwt.SigningMethodEdDSA, k.ed, claims(nil))},
		{"P-384 key", publicPEM(t, &k.p384.PublicKey), sign(t, jwt.SigningMethodES384, k.p384, claims(nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := newJWT(t, JWTConfig{PublicKeyPEM: tt.pem}).Verify(tt.token); err != nil {
				t.Errorf("Verify error = %v, want nil", err)
			}
		})
	}
}
