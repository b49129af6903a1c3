package gate

import "github.com/caddy-twofactor/caddy-twofactor/internal/api"

// AttachSudo checks a sudo token that came outside the headers Resolve
// reads (the built-in pages keep it in a cookie) and attaches it to caller
// by Resolve's rules. It returns 401 SUDO_TOKEN_INVALID for a token that is
// unknown, expired, or bound to another user or session.
func (g *Gate) AttachSudo(caller *api.Caller, token string) *api.Error {
	return g.attachSudo(caller, token)
}
