package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxJWTLeeway is the maximum clock skew allowed when checking exp, nbf and
// iat. More would keep a stolen, expired token usable for longer.
const MaxJWTLeeway = 60 * time.Second

// Default claim names.
const (
	// DefaultUserClaim is the claim holding the user id.
	DefaultUserClaim = "sub"
	// DefaultEmailClaim is the claim holding the email address.
	DefaultEmailClaim = "email"
)

// JWTConfig configures the JWT identity source. Exactly one of HMACSecret and
// PublicKeyPEM is set; the key type fixes the accepted signing algorithms.
type JWTConfig struct {
	// HMACSecret is the shared secret of HS256, HS384 and HS512 tokens.
	HMACSecret []byte
	// PublicKeyPEM is a PEM-encoded public key ("PUBLIC KEY" in PKIX form,
	// "RSA PUBLIC KEY" in PKCS #1 form, or a "CERTIFICATE"). An RSA key
	// accepts RS256/384/512 and PS256/384/512; an ECDSA key accepts the one
	// ES algorithm of its curve (P-256: ES256, P-384: ES384, P-521: ES512);
	// an Ed25519 key accepts EdDSA.
	PublicKeyPEM []byte
	// Issuer is the required iss claim. Empty: not checked.
	Issuer string
	// Audience must be one of the aud claim's values. Empty: not checked.
	Audience string
	// UserClaim names the claim holding the user id, a string or an
	// integer number. Default: "sub".
	UserClaim string
	// EmailClaim names the claim holding the email address; a missing or
	// non-string claim gives an empty email. Default: "email".
	EmailClaim string
	// SessionClaim names the claim holding the session id (e.g. "sid").
	// When set, a token without it is invalid. Empty: no session id.
	SessionClaim string
	// Leeway is the clock skew allowed on exp, nbf and iat. Default: 0;
	// at most MaxJWTLeeway.
	Leeway time.Duration
	// Now returns the current time. Default: time.Now. Tests set it.
	Now func() time.Time
}

// JWT resolves identities from JSON Web Tokens verified by this module. It is
// safe for concurrent use.
type JWT struct {
	parser       *jwt.Parser
	key          any
	userClaim    string
	emailClaim   string
	sessionClaim string
}

// NewJWT checks cfg and returns a JWT source. The exp claim is always
// required and the "none" algorithm is always rejected.
func NewJWT(cfg JWTConfig) (*JWT, error) {
	if cfg.Leeway < 0 || cfg.Leeway > MaxJWTLeeway {
		return nil, fmt.Errorf("jwt leeway %v: must be between 0 and %v", cfg.Leeway, MaxJWTLeeway)
	}

	key, methods, err := verificationKey(cfg)
	if err != nil {
		return nil, err
	}

	options := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithJSONNumber(),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.Leeway),
	}
	if cfg.Now != nil {
		options = append(options, jwt.WithTimeFunc(cfg.Now))
	}
	if cfg.Issuer != "" {
		options = append(options, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		options = append(options, jwt.WithAudience(cfg.Audience))
	}

	j := &JWT{
		parser:       jwt.NewParser(options...),
		key:          key,
		userClaim:    cfg.UserClaim,
		emailClaim:   cfg.EmailClaim,
		sessionClaim: cfg.SessionClaim,
	}
	if j.userClaim == "" {
		j.userClaim = DefaultUserClaim
	}
	if j.emailClaim == "" {
		j.emailClaim = DefaultEmailClaim
	}
	return j, nil
}

// verificationKey returns the key of cfg and the algorithms it accepts.
func verificationKey(cfg JWTConfig) (any, []string, error) {
	switch {
	case len(cfg.HMACSecret) > 0 && len(cfg.PublicKeyPEM) > 0:
		return nil, nil, errors.New("jwt: set either an HMAC secret or a public key, not both")
	case len(cfg.HMACSecret) > 0:
		return cfg.HMACSecret, []string{"HS256", "HS384", "HS512"}, nil
	case len(cfg.PublicKeyPEM) > 0:
		key, err := parsePublicKey(cfg.PublicKeyPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("jwt: reading public key: %w", err)
		}
		methods, err := methodsForKey(key)
		if err != nil {
			return nil, nil, fmt.Errorf("jwt: %w", err)
		}
		return key, methods, nil
	default:
		return nil, nil, errors.New("jwt: an HMAC secret or a public key is required")
	}
}

// Resolve verifies every presented carrier as a JWT. Carriers that fail go in
// Result.Rejected. Valid tokens that name different users, or different
// sessions when a session claim is configured, return ErrAmbiguous. With no
// valid token the Identity is nil. It never returns ErrUnavailable.
func (j *JWT) Resolve(_ context.Context, _ *http.Request, creds Credentials) (Result, error) {
	var result Result
	for _, p := range creds.Presented {
		id, err := j.Verify(p.Value)
		if err != nil {
			result.Rejected = append(result.Rejected, p)
			continue
		}
		if result.Identity == nil {
			result.Identity = id
			continue
		}
		if id.UserID != result.Identity.UserID || id.SessionID != result.Identity.SessionID {
			return Result{}, ErrAmbiguous
		}
	}
	return result, nil
}

// Verify checks the signature and claims of token and returns its identity.
// The error describes why the token is invalid and never contains the token.
func (j *JWT) Verify(token string) (*Identity, error) {
	claims := jwt.MapClaims{}
	_, err := j.parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) {
		return j.key, nil
	})
	if err != nil {
		return nil, fmt.Errorf("verifying jwt: %w", err)
	}

	userID, ok := CanonicalUserID(claims[j.userClaim])
	if !ok {
		return nil, fmt.Errorf("verifying jwt: claim %q is missing or not a valid user id", j.userClaim)
	}
	id := &Identity{UserID: userID}
	if email, ok := claims[j.emailClaim].(string); ok {
		id.Email = email
	}
	if j.sessionClaim != "" {
		sessionID, ok := CanonicalUserID(claims[j.sessionClaim])
		if !ok {
			return nil, fmt.Errorf("verifying jwt: claim %q is missing or not a valid session id",
				j.sessionClaim)
		}
		id.SessionID = sessionID
	}
	return id, nil
}

var _ Source = (*JWT)(nil)
