package guard

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

// Limits of the reset mail route, per instance.
const (
	resetMailInterval  = 60 * time.Second // per address
	resetMailsPerHour  = 10               // per client IPv4 address or IPv6 /64
	resetMailRateSpan  = time.Hour
	resetMailKeyPrefix = "reset mail "
)

// serveResetSend forwards a reset mail request unless the address got one
// within the last minute or the client sent ten within the hour. Unknown
// addresses count alike, so the response tells nothing about accounts.
func (g *Guards) serveResetSend(w http.ResponseWriter, r *http.Request, next Next, req Request, b *body) error {
	address, e := b.required(req.Route.EmailField)
	if e != nil {
		api.WriteError(w, e)
		return nil
	}
	g.sendsOnce.Do(func() { g.sends = throttle.NewLimiter(sendLimiterKeys) })
	now := g.Now()
	addressKey := resetMailKeyPrefix + "address " + api.FoldAddress(address)
	if wait := g.sends.Allow(addressKey, now, resetMailInterval, 0, 0); wait > 0 {
		g.logThrottled(req, "reset mail to an address within a minute")
		api.WriteError(w, api.TooMany(CodeTooManyResetMailAttempts, wait))
		return nil
	}
	clientKey := resetMailKeyPrefix + "client " + clientKey(req.Resolution.Caller.ClientIP)
	if wait := g.sends.Allow(clientKey, now, 0, resetMailsPerHour, resetMailRateSpan); wait > 0 {
		g.sends.Cancel(addressKey, now)
		g.logThrottled(req, "reset mails per client within an hour")
		api.WriteError(w, api.TooMany(CodeTooManyResetMailAttempts, wait))
		return nil
	}
	b.install(r, nil)
	return next(w, r)
}

// clientKey returns the throttle key of a client address: the IPv4
// address, or the IPv6 /64.
func clientKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	return throttle.ClientKey(addr)
}

// serveResetValidate counts a reset code check on the address's counter:
// the slot is taken before the app judges the code and given back on the
// app's success.
func (g *Guards) serveResetValidate(w http.ResponseWriter, r *http.Request, next Next, req Request, b *body) error {
	rt := req.Route
	address, e := b.required(rt.EmailField)
	if e == nil {
		_, e = b.required(rt.CodeField)
	}
	if e != nil {
		api.WriteError(w, e)
		return nil
	}
	at, e, err := g.takeAddressSlot(address)
	if err != nil {
		g.writeStoreError(w, err, "taking a reset code slot failed")
		return nil
	}
	if e != nil {
		g.logThrottled(req, "reset code checks of an address")
		api.WriteError(w, e)
		return nil
	}
	b.install(r, nil)
	resp, err := forward(w, r, next, rt)
	if err == nil && rt.succeeded(resp) {
		if err := g.refundAddress(address, at); err != nil {
			g.Logger.Error("giving back a reset code slot failed", zap.Error(err))
		}
	}
	return err
}

// codeCheck is the app's judgement of a reset code.
type codeCheck int

const (
	codeInvalid codeCheck = iota // the response matched the failure rule
	codeValid                    // the response matched the success rule only
	codeUnknown                  // the response matched neither
)

// checkResetCode has the app's validate route check whether code is the
// reset code of address. The synthetic request carries no credential and
// goes through next like any request to the app. form picks the body
// encoding the app gets, the one the client used.
func (g *Guards) checkResetCode(r *http.Request, next Next, form bool, address, code string) (codeCheck, error) {
	v := g.route(ResetValidate)
	sub := r.Clone(r.Context())
	sub.Method = http.MethodPost
	sub.URL.Path, sub.URL.RawPath, sub.URL.RawQuery = v.Paths[0], "", ""
	sub.RequestURI = v.Paths[0]
	for _, name := range []string{"Cookie", "Authorization", "Accept-Encoding", "Content-Encoding",
		"Content-Length", "Transfer-Encoding", "Expect", "X-Sudo-Token"} {
		sub.Header.Del(name)
	}

	var raw []byte
	if form {
		raw = []byte(url.Values{v.EmailField: {address}, v.CodeField: {code}}.Encode())
		sub.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		raw, _ = json.Marshal(map[string]string{v.EmailField: address, v.CodeField: code})
		sub.Header.Set("Content-Type", "application/json")
	}
	setBody(sub, raw)

	out := newBuffer()
	if err := next(out, sub); err != nil {
		return codeUnknown, err
	}
	resp := out.response()
	switch {
	case v.succeeded(resp):
		return codeValid, nil
	case v.Failure.Match(resp):
		return codeInvalid, nil
	}
	// A client can provoke this with a body the app refuses, so it is a
	// warning, logged at most once a minute.
	now := g.Now()
	last := g.unknownLogged.Load()
	if now.UnixNano()-last >= int64(time.Minute) && g.unknownLogged.CompareAndSwap(last, now.UnixNano()) {
		g.Logger.Warn("the app's response to a reset code check matched neither success nor failure: "+
			"a malformed request, or the success and failure rules of guard reset_validate need a fix",
			zap.Int("status", resp.Status), zap.String("path", v.Paths[0]))
	}
	return codeUnknown, nil
}

// serveResetPassword guards a password reset with a code: the address's
// guess slot, the code checked through the app's
// validate route, and for an account with 2FA on a second factor in the
// body. After the app's success every verified session of the user ends.
func (g *Guards) serveResetPassword(w http.ResponseWriter, r *http.Request, next Next, req Request, b *body) error {
	rt := req.Route
	address, e := b.required(rt.EmailField)
	var code string
	if e == nil {
		code, e = b.required(rt.CodeField)
	}
	totp, hasTOTP := b.get(rt.TOTPField)
	recovery, hasRecovery := b.get(rt.RecoveryCodeField)
	if e == nil && hasTOTP && hasRecovery {
		e = api.BadRequest("send " + rt.TOTPField + " or " + rt.RecoveryCodeField + ", not both")
	}
	if e != nil {
		api.WriteError(w, e)
		return nil
	}
	at, e, err := g.takeAddressSlot(address)
	if err != nil {
		g.writeStoreError(w, err, "taking a reset code slot failed")
		return nil
	}
	if e != nil {
		g.logThrottled(req, "reset code checks of an address")
		api.WriteError(w, e)
		return nil
	}

	check, err := g.checkResetCode(r, next, b.form, address, code)
	if err != nil {
		return err
	}
	// The second factor is for the module, whatever the code, so it is
	// removed before the app gets the request.
	b.install(r, b.without(rt.TOTPField, rt.RecoveryCodeField))
	switch check {
	case codeUnknown:
		api.WriteError(w, api.NewError(http.StatusBadGateway, CodeBadGateway))
		return nil
	case codeInvalid:
		// The app gives its usual response, the same for every address.
		return g.forwardInvalidReset(w, r, next, req, address)
	}
	if err := g.refundAddress(address, at); err != nil {
		g.Logger.Error("giving back a reset code slot failed", zap.Error(err))
	}

	userID, u, err := g.userByEmail(address)
	if err != nil {
		g.writeStoreError(w, err, "looking up the user of a reset address failed")
		return nil
	}
	if u != nil && u.Enabled() {
		if e := g.checkResetFactor(r, req, u, address, totp, hasTOTP, recovery, hasRecovery); e != nil {
			api.WriteError(w, e)
			return nil
		}
	}

	resp, err := forward(w, r, next, rt)
	if err == nil && userID != "" && rt.succeeded(resp) {
		g.revokeAll(userID, req, "password reset")
	}
	return err
}

// checkResetFactor requires and checks the second factor of a reset for a
// user with 2FA on: a TOTP code or a recovery code, each on a counter of
// its own.
func (g *Guards) checkResetFactor(r *http.Request, req Request, u *account.User, address,
	totp string, hasTOTP bool, recovery string, hasRecovery bool,
) *api.Error {
	caller := &api.Caller{UserID: u.ID, Email: address, ClientIP: req.Resolution.Caller.ClientIP}
	switch {
	case hasTOTP:
		return g.API.CheckResetFactor(r, caller, account.MethodTOTP, totp)
	case hasRecovery:
		return g.API.CheckResetFactor(r, caller, account.MethodRecoveryCode, recovery)
	}
	e := api.NewError(http.StatusUnauthorized, api.Code2FARequired)
	e.Methods = resetMethods(u)
	g.Logger.Info("password reset stopped: second factor required", zap.String("user", u.ID),
		zap.String("client_ip", caller.ClientIP))
	return e
}

// resetMethods lists the methods a reset accepts for u: TOTP and recovery
// codes. An emailed code proves nothing the reset code does not.
func resetMethods(u *account.User) []string {
	methods := []string{}
	if u.TOTP != nil {
		methods = append(methods, account.MethodTOTP)
	}
	if u.Recovery != nil && len(u.Recovery.MACs) > 0 {
		methods = append(methods, account.MethodRecoveryCode)
	}
	return methods
}

// forwardInvalidReset forwards a reset whose code the validate route
// refused. Should the app accept it all the same, the validate rules are
// wrong: that is logged, and the user's sessions end as after any reset.
func (g *Guards) forwardInvalidReset(w http.ResponseWriter, r *http.Request, next Next, req Request, address string) error {
	resp, err := forward(w, r, next, req.Route)
	if err != nil || !req.Route.succeeded(resp) {
		return err
	}
	g.Logger.Error("the app accepted a password reset whose code its validate route refused: "+
		"check the rules of guards reset_validate and reset_password",
		zap.String("client_ip", req.Resolution.Caller.ClientIP))
	userID, _, lookupErr := g.userByEmail(address)
	if lookupErr == nil && userID != "" {
		g.revokeAll(userID, req, "password reset")
	}
	return nil
}

// revokeAll ends every verified session and sudo token of a user.
func (g *Guards) revokeAll(userID string, req Request, why string) {
	err := g.Sessions.UpdateUser(userID, func(tx store.Tx) error {
		return g.Sessions.RevokeUser(tx, userID, "")
	})
	if err != nil {
		g.Logger.Error("revoking sessions failed", zap.Error(err), zap.String("user", userID),
			zap.String("after", why))
		return
	}
	g.Logger.Info("every session revoked", zap.String("user", userID), zap.String("after", why),
		zap.String("client_ip", req.Resolution.Caller.ClientIP))
}

// logThrottled logs a guard's 429.
func (g *Guards) logThrottled(req Request, limit string) {
	c := req.Resolution.Caller
	g.Logger.Info("guarded request throttled", zap.String("route", string(req.Route.Kind)),
		zap.String("limit", limit), zap.String("user", c.UserID), zap.String("client_ip", c.ClientIP))
}
