package ui

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
)

// resolvePartial returns the caller of a held login, and ok true, when the
// request presents a partial token in the partial cookie or as a bearer
// token. The held login's credential is then the only identity, so no
// other login of the browser is verified in its place. A partial cookie
// that no longer opens a held login (released, expired or revoked) is
// cleared and ignored, and ok is false.
func (p *Pages) resolvePartial(w http.ResponseWriter, r *http.Request,
) (caller *api.Caller, ok bool, e *api.Error) {
	token, bearer := p.Gate.PartialToken(r)
	if token == "" {
		return nil, false, nil
	}
	res, e := p.Gate.ResolvePartial(r.Context(), r, token)
	switch {
	case e == nil:
		return res.Caller, true, nil
	case bearer || e.Status != http.StatusUnauthorized:
		return nil, true, e
	}
	p.API.Logger.Debug("partial cookie rejected", zap.String("message", e.Message),
		zap.String("client_ip", p.Gate.ClientIP(r)))
	gate.ClearPartialCookie(w, p.isHTTPS(r), p.Path)
	return nil, false, nil
}
