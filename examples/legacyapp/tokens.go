package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// newToken returns 32 random bytes in unpadded base64url.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never returns an error since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// accessClaims is the payload of an access token. Subject is the user id in
// decimal and SessionID stays the same across refreshes of one login.
type accessClaims struct {
	Email     string `json:"email"`
	SessionID string `json:"sid"`
	jwt.RegisteredClaims
}

// issueAccessToken signs an HS256 access token for the user in the JSON
// login sid. A fresh jti makes every token distinct, also within one second.
func (s *server) issueAccessToken(p profile, sid string) (string, error) {
	now := s.now()
	claims := accessClaims{
		Email:     p.Email,
		SessionID: sid,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.Itoa(p.ID),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(accessTokenTTL)),
			ID:        newToken(),
		},
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.cfg.JWTSecret)
	if err != nil {
		return "", fmt.Errorf("signing access token: %w", err)
	}
	return signed, nil
}

// parseAccessToken verifies an access token (HS256 only, exp required) and
// returns its claims.
func (s *server) parseAccessToken(raw string) (*accessClaims, error) {
	claims := &accessClaims{}
	_, err := jwt.ParseWithClaims(raw, claims,
		func(*jwt.Token) (any, error) { return s.cfg.JWTSecret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now),
	)
	if err != nil {
		return nil, fmt.Errorf("verifying access token: %w", err)
	}
	if claims.SessionID == "" {
		return nil, errors.New("verifying access token: missing sid claim")
	}
	return claims, nil
}

// bearerToken returns the token of an "Authorization: Bearer" header. The
// scheme is matched case-insensitively, as RFC 9110 section 11.1 requires.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// bearerUser returns the user and claims of a valid bearer access token.
//
// NOTE: access tokens are stateless, like in many apps. Logout and password
// resets stop their refresh, but a token issued before still works until its
// exp, at most accessTokenTTL later.
func (s *server) bearerUser(r *http.Request) (profile, *accessClaims, bool) {
	raw, ok := bearerToken(r)
	if !ok {
		return profile{}, nil, false
	}
	claims, err := s.parseAccessToken(raw)
	if err != nil {
		return profile{}, nil, false
	}
	id, err := strconv.Atoi(claims.Subject)
	if err != nil {
		return profile{}, nil, false
	}
	p, ok := s.state.userByID(id)
	return p, claims, ok
}

// currentUser returns the logged-in user of a request. It looks at the
// session cookie, then the remember-me cookie, then a bearer access token,
// and takes the first that is valid.
func (s *server) currentUser(r *http.Request) (profile, bool) {
	if c, err := r.Cookie(s.cfg.CookieName); err == nil {
		if p, ok := s.state.sessionUser(c.Value); ok {
			return p, true
		}
	}
	if c, err := r.Cookie(rememberCookieName); err == nil {
		if p, ok := s.state.rememberUser(c.Value); ok {
			return p, true
		}
	}
	p, _, ok := s.bearerUser(r)
	return p, ok
}
