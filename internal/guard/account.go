package guard

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// serveOldPassword guards a password change with the old password: a sudo
// token when 2FA is on, and a guess slot of the user's password counter,
// given back on the app's success. After that success every other
// verified session of the user ends; the caller's stays.
func (g *Guards) serveOldPassword(w http.ResponseWriter, r *http.Request, next Next, req Request, b *body) error {
	b.install(r, nil)
	caller := req.Resolution.Caller
	if req.Resolution.Identity == nil {
		return next(w, r) // the app refuses anonymous changes itself
	}
	u, err := g.loadUser(caller.UserID)
	if err != nil {
		g.writeStoreError(w, err, "reading user failed")
		return nil
	}
	if e := requireSudo(u, caller); e != nil {
		api.WriteError(w, e)
		return nil
	}
	at, e, err := g.takeUserSlot(caller.UserID, PasswordCounter, CodeTooManyFailedPasswordChecks)
	if err != nil {
		g.writeStoreError(w, err, "taking a password check slot failed")
		return nil
	}
	if e != nil {
		g.logThrottled(req, "password checks of a user")
		api.WriteError(w, e)
		return nil
	}

	resp, err := forward(w, r, next, req.Route)
	if err != nil || !req.Route.succeeded(resp) {
		return err
	}
	err = g.refundUser(caller.UserID, PasswordCounter, at, func(tx store.Tx) error {
		return g.Sessions.RevokeUser(tx, caller.UserID, caller.SessionKey)
	})
	if err != nil {
		g.Logger.Error("revoking other sessions after a password change failed", zap.Error(err),
			zap.String("user", caller.UserID))
		return nil
	}
	g.Logger.Info("password changed: other sessions revoked", zap.String("user", caller.UserID),
		zap.String("client_ip", caller.ClientIP))
	return nil
}

// serveEmailInitiate guards the start of an account-email change: a sudo
// token when 2FA is on, and one start per user per minute.
func (g *Guards) serveEmailInitiate(w http.ResponseWriter, r *http.Request, next Next, req Request, b *body) error {
	b.install(r, nil)
	caller := req.Resolution.Caller
	if req.Resolution.Identity == nil {
		return next(w, r)
	}
	u, err := g.loadUser(caller.UserID)
	if err != nil {
		g.writeStoreError(w, err, "reading user failed")
		return nil
	}
	if e := requireSudo(u, caller); e != nil {
		api.WriteError(w, e)
		return nil
	}
	e, err := g.takeTransfer(caller.UserID)
	if err != nil {
		g.writeStoreError(w, err, "recording an email change failed")
		return nil
	}
	if e != nil {
		g.logThrottled(req, "email changes of a user")
		api.WriteError(w, e)
		return nil
	}
	resp, err := forward(w, r, next, req.Route)
	if err != nil || !req.Route.succeeded(resp) {
		return err
	}
	// The new address names this user at once, unless another user has it.
	// A password reset of it must then require this user's second factor
	// before any request reports the address. But starting a change must
	// not let a user claim another user's address.
	if address, ok := b.get(req.Route.EmailField); ok {
		g.indexEmail(caller.UserID, address)
	}
	return nil
}

// indexEmail maps an address that no user has yet to a user in the email
// index. A failure is logged only, because the app has already made the change.
func (g *Guards) indexEmail(userID, address string) {
	err := g.Store.Update(func(tx store.Tx) error {
		return account.IndexEmailIfAbsent(tx, userID, address)
	})
	if err != nil {
		g.Logger.Error("indexing a new account address failed", zap.Error(err), zap.String("user", userID))
	}
}

// serveEmailChange forwards the completion of an account-email change and,
// after the app's success, drops the cached identity, whose email is now
// stale.
func (g *Guards) serveEmailChange(w http.ResponseWriter, r *http.Request, next Next, req Request, b *body) error {
	b.install(r, nil)
	resp, err := forward(w, r, next, req.Route)
	if err == nil && req.Resolution.Identity != nil && req.Route.succeeded(resp) {
		g.forget(r, req)
		g.Logger.Info("account email changed", zap.String("user", req.Resolution.Caller.UserID),
			zap.String("client_ip", req.Resolution.Caller.ClientIP))
	}
	return err
}
