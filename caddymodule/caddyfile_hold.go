package caddymodule

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// loginHoldUsage is the syntax of the login_hold subdirective, for messages.
const loginHoldUsage = "login_hold <method> <path> [{ token_field <dotted.path> " +
	"refresh_field <dotted.path> success_status <code>... }]"

// parseLoginHold reads one login hold:
//
//	login_hold <method> <path> {
//	    token_field <dotted.path>      # access token in the JSON response
//	    refresh_field <dotted.path>    # default refreshToken
//	    success_status <code>...       # default 2xx, or 3xx setting a carrier cookie
//	}
func (p *caddyfileParser) parseLoginHold(d *caddyfile.Dispenser, args []string) error {
	method, path := args[0], args[1]
	if !validMethod(method) {
		return d.Errf("invalid login_hold method %q: expected an HTTP method in capitals, "+
			"such as POST", method)
	}
	if !strings.HasPrefix(path, "/") {
		return d.Errf("invalid login_hold path %q: expected a path starting with /", path)
	}
	for _, other := range p.h.LoginHolds {
		if other.Method == method && strings.EqualFold(other.Path, path) {
			return d.Errf("login_hold %s %s is already configured: keep one", method, path)
		}
	}
	cfg := LoginHoldConfig{Method: method, Path: path}
	where := "login_hold " + method + " " + path
	if err := p.parseBlock(d, where, loginHoldSubdirectives(&cfg)); err != nil {
		return err
	}
	p.h.LoginHolds = append(p.h.LoginHolds, cfg)
	return nil
}

// loginHoldSubdirectives returns the block lines of a login hold.
func loginHoldSubdirectives(c *LoginHoldConfig) map[string]subdirective {
	return map[string]subdirective{
		"token_field":   single("token_field <dotted.path>", setString(&c.TokenField)),
		"refresh_field": single("refresh_field <dotted.path>", setString(&c.RefreshField)),
		"success_status": {usage: "success_status <code>...", min: 1, max: -1,
			parse: c.parseSuccessStatus},
	}
}

// parseSuccessStatus is a Caddyfile parseFunc for success_status.
func (c *LoginHoldConfig) parseSuccessStatus(d *caddyfile.Dispenser, args []string) error {
	for _, arg := range args {
		code, err := strconv.Atoi(arg)
		if err != nil || len(arg) != 3 || code < 100 || code > 599 {
			return d.Errf("invalid success_status %q: expected 3-digit HTTP status codes such "+
				"as 200 or 303", arg)
		}
		c.SuccessStatus = append(c.SuccessStatus, code)
	}
	return nil
}

// loginHoldTopSubdirectives is the login_hold line of the twofactor block.
func (p *caddyfileParser) loginHoldTopSubdirectives() map[string]subdirective {
	return map[string]subdirective{
		"login_hold": {usage: loginHoldUsage, min: 2, max: 2, repeat: true, block: true,
			parse: p.parseLoginHold},
	}
}
