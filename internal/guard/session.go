package guard

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// serveRefresh follows a refresh route: when a verified session gets the
// app's success, the new credential in the response gets that session's
// verification, so rotating credentials stay verified.
func (g *Guards) serveRefresh(w http.ResponseWriter, r *http.Request, next Next, req Request) error {
	caller := req.Resolution.Caller
	if req.VerifiedMethod == "" || caller.SessionKey == "" || req.Resolution.Identity == nil {
		return next(w, r)
	}
	resp, err := forward(w, r, next, req.Route)
	if err != nil || !req.Route.succeeded(resp) {
		return err
	}
	sub, found := g.credentialRequest(r, req, resp)
	if !found {
		g.Logger.Warn("refresh route: the app's response contains no new credential",
			zap.String("user", caller.UserID), zap.String("path", r.URL.Path))
		return nil
	}
	res, e := g.Resolver.Resolve(r.Context(), sub)
	if e != nil || res.Identity == nil || res.Caller.UserID != caller.UserID || res.Caller.SessionKey == "" {
		g.Logger.Warn("refresh route: the new credential does not resolve to the same user; "+
			"it is not verified", zap.String("user", caller.UserID))
		return nil
	}

	var carried bool
	err = g.Sessions.UpdateUser(caller.UserID, func(tx store.Tx) error {
		var err error
		carried, err = g.Sessions.Carry(tx, caller.UserID, caller.SessionKey, res.Caller.SessionKey)
		return err
	})
	switch {
	case err != nil:
		g.Logger.Error("verifying a refreshed credential failed", zap.Error(err),
			zap.String("user", caller.UserID))
	case carried:
		g.Logger.Info("refreshed credential verified", zap.String("user", caller.UserID),
			zap.String("method", req.VerifiedMethod), zap.String("client_ip", caller.ClientIP))
	}
	return nil
}

// credentialRequest builds a request that stands for the client's next
// one: the original headers, module cookie included, with the carriers
// the response renewed set to their new values and without any sudo token.
// It reports whether the response renewed any carrier.
func (g *Guards) credentialRequest(r *http.Request, req Request, a *Response) (*http.Request, bool) {
	sub := r.Clone(r.Context())
	sub.Method = http.MethodGet
	if req.Original != nil {
		sub.Header = req.Original.Clone()
	}
	setBody(sub, nil)
	sub.Header.Del(gate.SudoHeader)
	for _, value := range sub.Header.Values("Authorization") {
		if identity.IsModuleToken(value) {
			sub.Header.Del("Authorization")
			break
		}
	}

	found := false
	setCookies := (&http.Response{Header: a.Header}).Cookies()
	for _, c := range g.Carriers {
		if c.Kind != identity.CarrierCookie {
			continue
		}
		for _, ck := range setCookies {
			if ck.Name != c.Name {
				continue
			}
			identity.RemoveCarrier(sub.Header, c)
			if ck.Value != "" && ck.MaxAge >= 0 && (ck.Expires.IsZero() || ck.Expires.After(g.Now())) {
				lines := append(sub.Header.Values("Cookie"), ck.Name+"="+ck.Value)
				sub.Header.Set("Cookie", strings.Join(lines, "; "))
				found = true
			}
		}
	}
	if token := jsonString(a.Body, req.Route.TokenField); token != "" {
		for _, c := range g.Carriers {
			if c.Kind == identity.CarrierHeader {
				identity.RemoveCarrier(sub.Header, c)
				if c.Scheme != "" {
					token = c.Scheme + " " + token
				}
				sub.Header.Set(c.Name, token)
				found = true
				break
			}
		}
	}
	return sub, found
}

// jsonString returns the string at a dotted path of a JSON document, or ""
// when the path is empty or leads to no string.
func jsonString(doc []byte, path string) string {
	if path == "" || len(bytes.TrimSpace(doc)) == 0 {
		return ""
	}
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return ""
	}
	for part := range strings.SplitSeq(path, ".") {
		object, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = object[part]
	}
	s, _ := v.(string)
	return s
}

// serveLogout follows a logout route: after the app's success, the
// caller's session is no longer verified and the identity source drops its
// cached identity of the credential.
func (g *Guards) serveLogout(w http.ResponseWriter, r *http.Request, next Next, req Request) error {
	resp, err := forward(w, r, next, req.Route)
	if err != nil || !req.Route.succeeded(resp) {
		return err
	}
	g.forget(r, req)
	caller := req.Resolution.Caller
	if req.Resolution.Identity == nil || caller.SessionKey == "" {
		return nil
	}
	err = g.Sessions.UpdateUser(caller.UserID, func(tx store.Tx) error {
		return g.Sessions.Revoke(tx, caller.UserID, caller.SessionKey)
	})
	if err != nil {
		g.Logger.Error("revoking the session after a logout failed", zap.Error(err),
			zap.String("user", caller.UserID))
		return nil
	}
	g.Logger.Info("session revoked after logout", zap.String("user", caller.UserID),
		zap.String("client_ip", caller.ClientIP))
	return nil
}
