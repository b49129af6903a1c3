package identity

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Placeholder resolves identities from values that an earlier handler (such
// as Caddy's basic_auth or forward_auth) set on the request. This module
// trusts that handler, which must drop any client-sent copy of what it sets.
// It is safe for concurrent use when the lookup function is.
type Placeholder struct {
	lookup func(*http.Request) (user, email string)
}

// NewPlaceholder returns a source that calls lookup for the user id and email
// of a request.
func NewPlaceholder(lookup func(*http.Request) (user, email string)) *Placeholder {
	return &Placeholder{lookup: lookup}
}

// Resolve returns the user that lookup reports. An empty user, or one still
// looking like an unreplaced placeholder ("{http.auth.user.id}"), means the
// request is not logged in. Such an email is read as empty. A Placeholder
// without a lookup function fails closed with ErrUnavailable.
func (p *Placeholder) Resolve(_ context.Context, r *http.Request, _ Credentials) (Result, error) {
	if p == nil || p.lookup == nil {
		return Result{}, fmt.Errorf("%w: placeholder source has no lookup function", ErrUnavailable)
	}

	user, email := p.lookup(r)
	if isUnset(user) {
		return Result{}, nil
	}
	if isUnset(email) {
		email = ""
	}
	return Result{Identity: &Identity{UserID: user, Email: email}}, nil
}

// isUnset reports whether a placeholder value is empty or was left
// unreplaced, which Caddy's replacer does for unknown placeholders when asked
// to keep them.
func isUnset(value string) bool {
	return value == "" || (strings.HasPrefix(value, "{") && strings.HasSuffix(value, "}"))
}

var _ Source = (*Placeholder)(nil)
