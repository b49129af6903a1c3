package caddymodule

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// parseIdentity reads one identity line and, for introspect and jwt, its
// block. A second identity line is an error, because the handler takes
// exactly one source.
func (p *caddyfileParser) parseIdentity(d *caddyfile.Dispenser, args []string) error {
	if p.identity != nil {
		return d.Errf("a second identity source is not allowed: identity is already set at "+
			"line %d, and the handler takes exactly one", p.identity.Line)
	}
	tok := d.Token()
	p.identity = &tok
	ident := &p.h.Identity

	switch kind, rest := args[0], args[1:]; kind {
	case "introspect":
		if len(rest) != 1 {
			return d.Err("identity introspect: missing URL, expected " +
				"`identity introspect <url> { ... }`")
		}
		u, err := url.Parse(rest[0])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return d.Errf("invalid identity introspect URL %q: expected an absolute http or "+
				"https URL", rest[0])
		}
		ident.Introspect = &IntrospectConfig{URL: rest[0]}
		return p.parseBlock(d, "identity introspect", introspectSubdirectives(ident.Introspect))
	case "jwt":
		if len(rest) != 0 {
			return d.Err("identity jwt takes no arguments: put its settings in a block, " +
				"`identity jwt { hmac_secret {env.JWT_SECRET} }`")
		}
		ident.JWT = &JWTConfig{}
		if err := p.parseBlock(d, "identity jwt", jwtSubdirectives(ident.JWT)); err != nil {
			return err
		}
		switch {
		case ident.JWT.HMACSecret == "" && ident.JWT.PublicKeyFile == "":
			return errorAt(tok, "identity jwt: missing key: set hmac_secret or public_key_file")
		case ident.JWT.HMACSecret != "" && ident.JWT.PublicKeyFile != "":
			return errorAt(tok, "identity jwt: set hmac_secret or public_key_file, not both")
		}
		return nil
	case "placeholder":
		return p.parsePlaceholder(d, rest)
	default:
		hint := ""
		if best, ok := closestName(kind, []string{"introspect", "jwt", "placeholder"}); ok {
			hint = fmt.Sprintf("did you mean %q? ", best)
		}
		return d.Errf("unknown identity source %q: %sexpected introspect, jwt or placeholder",
			kind, hint)
	}
}

func (p *caddyfileParser) parsePlaceholder(d *caddyfile.Dispenser, args []string) error {
	if len(args) < 1 || len(args) > 2 {
		return d.Err("identity placeholder takes a user placeholder and an optional email " +
			"placeholder, e.g. `identity placeholder {http.auth.user.id}`")
	}
	for _, value := range args {
		if !strings.HasPrefix(value, "{") || !strings.HasSuffix(value, "}") {
			return d.Errf("invalid identity placeholder %q: expected a placeholder such as "+
				"{http.auth.user.id}", value)
		}
	}
	cfg := &PlaceholderConfig{User: args[0]}
	if len(args) == 2 {
		cfg.Email = args[1]
	}
	p.h.Identity.Placeholder = cfg
	if blockFollows(d) {
		return d.Err("identity placeholder takes no block")
	}
	return nil
}

func introspectSubdirectives(c *IntrospectConfig) map[string]subdirective {
	return map[string]subdirective{
		"user_field":       single("user_field <dotted.path>", setString(&c.UserField)),
		"email_field":      single("email_field <dotted.path>", setString(&c.EmailField)),
		"anonymous_status": list("anonymous_status <code>...", c.parseAnonymousStatus),
		"anonymous_id":     list("anonymous_id <value>...", appendStrings(&c.AnonymousID)),
		"cache":            single("cache <duration>", c.parseCache),
		"timeout":          single("timeout <duration>", setDuration(&c.Timeout, "timeout", false)),
	}
}

// parseAnonymousStatus is a Caddyfile parseFunc for anonymous_status.
func (c *IntrospectConfig) parseAnonymousStatus(d *caddyfile.Dispenser, args []string) error {
	for _, arg := range args {
		code, err := strconv.Atoi(arg)
		if err != nil || len(arg) != 3 || code < 100 || code > 599 {
			return d.Errf("invalid anonymous_status %q: expected 3-digit HTTP status codes "+
				"such as 401", arg)
		}
		c.AnonymousStatus = append(c.AnonymousStatus, code)
	}
	return nil
}

// parseCache is a Caddyfile parseFunc for cache. It stores "cache 0" as
// -1, the JSON value that disables the cache, because 0 in JSON means the
// default.
func (c *IntrospectConfig) parseCache(d *caddyfile.Dispenser, args []string) error {
	if err := setDuration(&c.Cache, "cache", true)(d, args); err != nil {
		return err
	}
	if c.Cache == 0 {
		c.Cache = -1
	}
	return nil
}

func jwtSubdirectives(c *JWTConfig) map[string]subdirective {
	return map[string]subdirective{
		"hmac_secret":     single("hmac_secret <secret>", setString(&c.HMACSecret)),
		"public_key_file": single("public_key_file <pem>", setString(&c.PublicKeyFile)),
		"issuer":          single("issuer <iss>", setString(&c.Issuer)),
		"audience":        single("audience <aud>", setString(&c.Audience)),
		"user_claim":      single("user_claim <name>", setString(&c.UserClaim)),
		"email_claim":     single("email_claim <name>", setString(&c.EmailClaim)),
		"session_claim":   single("session_claim <name>", setString(&c.SessionClaim)),
	}
}
