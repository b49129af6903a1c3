package gate

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// SudoHeader carries a sudo token on guarded app routes when the app
// credential already holds Authorization.
const SudoHeader = "X-Sudo-Token"

// Resolution is the gate's account of a request's sender.
type Resolution struct {
	Caller   *api.Caller
	Identity *identity.Identity
	// Rejected lists carriers that failed verification; Forward removes them.
	Rejected []identity.Presented
	// partial is set when the request presented a partial token.
	partial bool
}

// Partial reports whether the request presented a partial token.
func (r *Resolution) Partial() bool { return r.partial }

// Resolve finds the credential, identity, session key and sudo token of r.
// A returned *api.Error is the response to send (400, 401 or 502).
func (g *Gate) Resolve(ctx context.Context, r *http.Request) (*Resolution, *api.Error) {
	creds, err := identity.Extract(r, g.Carriers)
	if errors.Is(err, identity.ErrAmbiguous) {
		return nil, api.NewError(http.StatusBadRequest, api.CodeAmbiguousCredential)
	}
	if err != nil {
		return nil, api.BadRequest("the request's credentials could not be read")
	}
	sudo, partial, e := moduleToken(r)
	if e != nil {
		return nil, e
	}

	caller := &api.Caller{
		// The placeholder source's credential is invisible to the module:
		// only the source can tell, so it is always asked.
		HasCredential: len(creds.Presented) > 0 || (g.AnyCredential && hasOwnCredential(r)) ||
			g.ModuleCookieAlways,
		HTTPS:    g.isHTTPS(r),
		ClientIP: g.ClientIP(r),
	}
	res := &Resolution{Caller: caller, partial: partial != ""}
	if caller.HasCredential {
		result, err := g.Source.Resolve(ctx, g.withoutModuleParts(r), creds)
		switch {
		case errors.Is(err, identity.ErrAmbiguous):
			return nil, api.NewError(http.StatusBadRequest, api.CodeAmbiguousCredential)
		case err != nil:
			g.Logger.Error("identity source failed", zap.Error(err),
				zap.String("client_ip", caller.ClientIP))
			return nil, api.NewError(http.StatusBadGateway, api.CodeIdentityUnavailable)
		}
		res.Identity, res.Rejected = result.Identity, result.Rejected
	}
	if res.Identity != nil {
		caller.UserID, caller.Email = res.Identity.UserID, res.Identity.Email
		g.sessionKeys(r, caller, res.Identity, accepted(creds.Presented, res.Rejected))
		g.indexEmail(res.Identity)
	}
	if sudo != "" {
		if e := g.attachSudo(caller, sudo); e != nil {
			return nil, e
		}
	}
	return res, nil
}

// indexEmail keeps the email index current. A failure is logged and
// changes nothing for the request: the index serves the password reset
// guard, not this request.
func (g *Gate) indexEmail(id *identity.Identity) {
	if g.Emails == nil {
		return
	}
	if id.Email == "" {
		if g.Emails.FirstMissing() {
			g.Logger.Warn("the identity source gave a user without an email address, so the "+
				"password reset guard cannot find such users by address",
				zap.String("user", id.UserID))
		}
		return
	}
	if err := g.Emails.Observe(id.UserID, id.Email); err != nil {
		g.Logger.Error("updating the email index failed", zap.Error(err),
			zap.String("user", id.UserID))
	}
}

// moduleToken finds a sudo or partial token in Authorization or
// X-Sudo-Token. Two different sudo tokens are ambiguous.
func moduleToken(r *http.Request) (sudo, partial string, e *api.Error) {
	for _, value := range r.Header.Values("Authorization") {
		scheme, token, _ := strings.Cut(strings.TrimSpace(value), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			continue
		}
		token = strings.TrimSpace(token)
		switch {
		case strings.HasPrefix(token, api.SudoPrefix):
			sudo = token
		case strings.HasPrefix(token, api.PartialPrefix):
			partial = token
		}
	}
	headers := r.Header.Values(SudoHeader)
	if len(headers) > 1 {
		return "", "", api.NewError(http.StatusBadRequest, api.CodeAmbiguousCredential)
	}
	if len(headers) == 1 {
		value := strings.TrimSpace(headers[0])
		if sudo != "" && sudo != value {
			return "", "", api.NewError(http.StatusBadRequest, api.CodeAmbiguousCredential)
		}
		sudo = value
	}
	return sudo, partial, nil
}

// attachSudo checks a presented sudo token. Alone, it identifies its own
// session and user; beside a credential it must belong to the same user and
// session.
func (g *Gate) attachSudo(caller *api.Caller, token string) *api.Error {
	invalid := api.NewError(http.StatusUnauthorized, api.CodeSudoTokenInvalid)
	if !strings.HasPrefix(token, api.SudoPrefix) {
		return invalid
	}
	var record *account.SudoToken
	err := g.Store.View(func(tx store.Tx) error {
		var err error
		record, err = account.GetSudoToken(tx, api.SudoMAC(g.Keys, token))
		return err
	})
	if err != nil {
		g.Logger.Error("reading sudo token failed", zap.Error(err))
		return api.NewError(http.StatusServiceUnavailable, api.CodeStoreUnavailable)
	}
	if record == nil {
		return invalid
	}
	if caller.UserID == "" {
		caller.UserID = record.UserID
		caller.SessionKey = record.SessionKey
		caller.Rekey = nil
		caller.HasCredential = true
	} else if caller.UserID != record.UserID || caller.SessionKey == "" ||
		caller.SessionKey != record.SessionKey {
		return invalid
	}
	caller.Sudo = record
	return nil
}

// accepted returns the presented carriers that were not rejected.
func accepted(presented, rejected []identity.Presented) []identity.Presented {
	var out []identity.Presented
	for _, p := range presented {
		bad := false
		for _, r := range rejected {
			if r.Carrier == p.Carrier {
				bad = true
			}
		}
		if !bad {
			out = append(out, p)
		}
	}
	return out
}

// hasOwnCredential reports a Cookie or Authorization header other than the
// module's own cookie and tokens: with introspection, any of them is a
// credential.
func hasOwnCredential(r *http.Request) bool {
	for _, value := range r.Header.Values("Authorization") {
		if !identity.IsModuleToken(value) {
			return true
		}
	}
	for _, c := range r.Cookies() {
		if !api.IsModuleCookie(c.Name) {
			return true
		}
	}
	return false
}
