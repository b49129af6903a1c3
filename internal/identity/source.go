package identity

import (
	"context"
	"errors"
	"net/http"
)

// Identity is the user behind a credential.
type Identity struct {
	// UserID is the canonical user id: a JSON number in plain decimal (no
	// exponent, no fraction), a string as it is. See CanonicalUserID.
	UserID string
	// Email is the user's address, or empty when the source gives none.
	Email string
	// SessionID is the JWT session claim when one is configured, else empty.
	SessionID string
}

// Result is the outcome of a lookup.
type Result struct {
	// Identity is the logged-in user, or nil when the request is not logged
	// in.
	Identity *Identity
	// Rejected lists the carriers that failed verification. The caller
	// removes them (RemoveCarrier) before forwarding, so the app gets an
	// anonymous request rather than a credential this module rejected.
	Rejected []Presented
}

// ErrUnavailable reports that the identity source failed, so the request's
// identity is unknown and the caller must fail closed. It is returned
// wrapped, with a reason fit for a log line and without any credential.
// Callers map it to 502 IDENTITY_UNAVAILABLE.
var ErrUnavailable = errors.New("identity source unavailable")

// Source resolves the identity of a request's credentials.
//
// Resolve returns ErrAmbiguous when the credentials name different users, an
// error wrapping ErrUnavailable when the source failed, and otherwise a
// Result whose Identity is nil for a request that is not logged in.
// Implementations are safe for concurrent use.
type Source interface {
	Resolve(ctx context.Context, r *http.Request, creds Credentials) (Result, error)
}
