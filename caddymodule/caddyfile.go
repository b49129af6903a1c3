package caddymodule

import (
	"maps"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("twofactor", parseCaddyfile)
	// After encode, and so after basic_auth, forward_auth and
	// request_header, whose results an identity source may read. Before
	// handle, handle_path and route, so no site block routes around the gate.
	httpcaddyfile.RegisterDirectiveOrder("twofactor", httpcaddyfile.After, "encode")
}

// parseCaddyfile builds the handler from a twofactor directive. Unlike
// UnmarshalCaddyfile it can resolve `bypass @name`, because the helper
// holds the site block's named matchers.
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	handler := new(Handler)
	p := newCaddyfileParser(handler)
	p.namedMatcher = func() (caddy.ModuleMap, error) {
		// The parser has read the @name token already: step back so that
		// MatcherToken reads it again.
		h.Prev()
		set, _, err := h.MatcherToken()
		return set, err
	}
	if err := p.parse(h.Dispenser); err != nil {
		return nil, err
	}
	return handler, nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	twofactor [<matcher>] {
//	    db <path>
//	    realm <name>
//	    secret_key <value>                   # {env.X} or {file./path}; at least 32 bytes
//	    previous_keys <value>...
//	    credential cookie <name>...          # repeatable
//	    credential header <name> [<scheme>]  # e.g. credential header Authorization Bearer
//	    pass_header <name>...
//	    identity introspect <url> {
//	        user_field <dotted.path>
//	        email_field <dotted.path>
//	        anonymous_status <code>...
//	        anonymous_id <value>...
//	        cache <duration>                 # 0 disables; JSON -1
//	        timeout <duration>
//	    }
//	    identity jwt {
//	        hmac_secret <secret> | public_key_file <pem>
//	        issuer <iss>
//	        audience <aud>
//	        user_claim <name>
//	        email_claim <name>
//	        session_claim <name>
//	    }
//	    identity placeholder <user placeholder> [<email placeholder>]
//	    enforce optional | required
//	    mode enforce | report
//	    bypass <path prefix>... | bypass @<named matcher>
//	    allowed_origins <origin>...
//	    allow_encoded_slash
//	    issuer <TOTP issuer name>
//	    session_ttl <duration>
//	    session_idle <duration>
//	    sudo_ttl <duration>
//	    totp_skew <steps>
//	    smtp <host:port> {
//	        username <user>
//	        password <password>              # e.g. {env.SMTP_PASSWORD}
//	        from <address>                   # "Name <addr@host>" allowed
//	        tls starttls | tls | none        # default starttls; none only for loopback
//	        timeout <duration>               # default 10s
//	        ca_file <pem file>               # roots for a private CA
//	    }
//	    mail_templates <folder>
//	    ui_path <path>
//	    guard reset_send [<path>...] {       # /user/password/reset/send /v1/auth/forgot-password
//	        email_field <name>               # default email
//	    }
//	    guard reset_validate [<path>] {      # /user/password/reset/validate
//	        email_field <name>
//	        code_field <name>                # default code
//	        success <rule>                   # default status 2xx
//	        failure <rule>                   # default status 401
//	    }
//	    guard reset_password [<path>] {      # /user/password/otp
//	        email_field <name>
//	        code_field <name>
//	        totp_field <name>                # default totp
//	        recovery_code_field <name>       # default recoveryCode
//	        success <rule>
//	        failure <rule>
//	    }
//	    guard old_password [<path>] {        # /user/password/old-password
//	        success <rule>
//	        failure <rule>
//	    }
//	    guard email_initiate [<path>]        # /user/email/initiate
//	    guard email_change [<path>] {        # /user/email
//	        success <rule>
//	        failure <rule>
//	    }
//	    guard <name> off
//	    guards off                           # every guard off
//	    refresh_route <method> <path> {      # repeatable
//	        token_field <dotted.path>        # new token in the JSON answer
//	        success <rule>
//	        failure <rule>
//	    }
//	    logout <method> <path> {             # repeatable; success default: status 2xx 3xx
//	        success <rule>
//	        failure <rule>
//	    }
//	    login_hold <method> <path> {         # repeatable; holds a login until the second factor
//	        token_field <dotted.path>        # access token in the JSON response
//	        refresh_field <dotted.path>      # default refreshToken
//	        success_status <code>...         # default 2xx, or a 3xx that sets a carrier cookie
//	    }
//	}
//
// A <rule> is `status <code or class>...` (200, 2xx), `location <regexp>`
// or `body <regexp>`; several lines of one rule must all hold, and an
// answer that matches the failure rule is never a success. Every guard is
// on with its default paths unless turned off; paths given on a guard line
// replace its defaults.
//
// Exactly one identity line is required. Subdirectives marked "..." or
// "repeatable" add to the list each time they appear. Any other
// subdirective may appear once. Durations take Caddy's units, including d
// for days. A matcher on the directive limits the handler, its 2FA API and
// pages included, to the requests it matches. All other requests reach the
// app unchecked, so prefer bypass. `bypass @name` works only through the
// twofactor directive of a site block, whose named matchers this method
// does not see.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return newCaddyfileParser(h).parse(d)
}

func (p *caddyfileParser) topSubdirectives() map[string]subdirective {
	h := p.h
	table := map[string]subdirective{
		"db":            single("db <path>", setString(&h.DB)),
		"realm":         single("realm <name>", setString(&h.Realm)),
		"secret_key":    single("secret_key <value>", p.parseSecretKey),
		"previous_keys": list("previous_keys <value>...", p.parsePreviousKeys),
		"credential": list("credential cookie <name>... | credential header <name> [<scheme>]",
			p.parseCredential),
		"pass_header": list("pass_header <name>...", appendStrings(&h.PassHeaders)),
		"identity": {usage: "identity introspect <url> { ... } | identity jwt { ... } | " +
			"identity placeholder <user placeholder> [<email placeholder>]",
			min: 1, max: 3, repeat: true, block: true, parse: p.parseIdentity},
		"enforce": single("enforce optional | required",
			setEnum(&h.Enforce, "enforce", "optional", "required")),
		"mode":            single("mode enforce | report", setEnum(&h.Mode, "mode", "enforce", "report")),
		"bypass":          list("bypass <path prefix>... | bypass @<named matcher>", p.parseBypass),
		"allowed_origins": list("allowed_origins <origin>...", p.parseOrigins),
		"allow_encoded_slash": {usage: "allow_encoded_slash",
			parse: func(*caddyfile.Dispenser, []string) error {
				h.AllowEncodedSlash = true
				return nil
			}},
		"issuer": single("issuer <TOTP issuer name>", setString(&h.Issuer)),
		"session_ttl": single("session_ttl <duration>",
			setDuration(&h.SessionTTL, "session_ttl", false)),
		"session_idle": single("session_idle <duration>",
			setDuration(&h.SessionIdle, "session_idle", false)),
		"sudo_ttl":  single("sudo_ttl <duration>", setDuration(&h.SudoTTL, "sudo_ttl", false)),
		"totp_skew": single("totp_skew <steps>", p.parseTOTPSkew),
		"ui_path":   single("ui_path <path>", p.parseUIPath),
		"smtp": {usage: "smtp <host:port> { from <address> ... }", min: 1, max: 1, block: true,
			parse: p.parseSMTP},
		"mail_templates": single("mail_templates <folder>", setString(&h.MailTemplates)),
	}
	maps.Copy(table, p.guardTopSubdirectives())
	maps.Copy(table, p.loginHoldTopSubdirectives())
	return table
}

func (p *caddyfileParser) parseSecretKey(d *caddyfile.Dispenser, args []string) error {
	p.h.SecretKey = args[0]
	return checkSecretValue(d, "secret_key", args[0])
}

func (p *caddyfileParser) parsePreviousKeys(d *caddyfile.Dispenser, args []string) error {
	for _, key := range args {
		if err := checkSecretValue(d, "previous_keys", key); err != nil {
			return err
		}
	}
	p.h.PreviousKeys = append(p.h.PreviousKeys, args...)
	return nil
}

func (p *caddyfileParser) parseCredential(d *caddyfile.Dispenser, args []string) error {
	switch kind, rest := args[0], args[1:]; {
	case kind == "cookie" && len(rest) > 0:
		for _, name := range rest {
			p.h.Credentials = append(p.h.Credentials, CredentialConfig{Kind: "cookie", Name: name})
		}
	case kind == "header" && len(rest) == 1:
		p.h.Credentials = append(p.h.Credentials, CredentialConfig{Kind: "header", Name: rest[0]})
	case kind == "header" && len(rest) == 2:
		p.h.Credentials = append(p.h.Credentials,
			CredentialConfig{Kind: "header", Name: rest[0], Scheme: rest[1]})
	case kind == "cookie":
		return d.Err("credential cookie: missing cookie name, e.g. `credential cookie session`")
	case kind == "header":
		return d.Err("credential header takes a header name and at most one scheme, " +
			"e.g. `credential header Authorization Bearer`")
	default:
		return d.Errf("invalid credential kind %q: expected `credential cookie <name>...` or "+
			"`credential header <name> [<scheme>]`", kind)
	}
	return nil
}

func (p *caddyfileParser) parseBypass(d *caddyfile.Dispenser, args []string) error {
	if strings.HasPrefix(args[0], "@") {
		if len(args) > 1 {
			return d.Errf("bypass takes one named matcher per line: put %q on its own bypass line",
				args[1])
		}
		if p.namedMatcher == nil {
			return d.Errf("bypass %s: named matchers are available only to the twofactor "+
				"directive in a Caddyfile site block", args[0])
		}
		set, err := p.namedMatcher()
		if err != nil {
			return d.Errf("bypass %s: %v: define it in the same site block, e.g. `%s path /health`",
				args[0], err, args[0])
		}
		p.h.BypassMatchersRaw = append(p.h.BypassMatchersRaw, set)
		return nil
	}
	for _, prefix := range args {
		if strings.HasPrefix(prefix, "@") {
			return d.Errf("bypass takes path prefixes or one named matcher, not both: "+
				"put %s on its own bypass line", prefix)
		}
		if !strings.HasPrefix(prefix, "/") {
			return d.Errf("invalid bypass %q: expected a path prefix starting with / or a named "+
				"matcher such as @health", prefix)
		}
	}
	p.h.BypassPaths = append(p.h.BypassPaths, args...)
	return nil
}

func (p *caddyfileParser) parseOrigins(d *caddyfile.Dispenser, args []string) error {
	for _, origin := range args {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return d.Errf("invalid allowed_origins value %q: expected an origin of scheme and "+
				"host only, such as https://app.example.com", origin)
		}
	}
	p.h.AllowedOrigins = append(p.h.AllowedOrigins, args...)
	return nil
}

func (p *caddyfileParser) parseTOTPSkew(d *caddyfile.Dispenser, args []string) error {
	steps, err := strconv.Atoi(args[0])
	if err != nil || steps < 0 || steps > maxTOTPSkew {
		return d.Errf("invalid totp_skew %q: expected an integer from 0 to %d "+
			"(30 s time steps either side of now)", args[0], maxTOTPSkew)
	}
	p.h.TOTPSkew = &steps
	return nil
}

func (p *caddyfileParser) parseUIPath(d *caddyfile.Dispenser, args []string) error {
	path := args[0]
	if len(path) < 2 || path[0] != '/' || path[len(path)-1] == '/' {
		return d.Errf("invalid ui_path %q: expected an absolute path without a trailing slash, "+
			"such as %s", path, DefaultUIPath)
	}
	p.h.UIPath = path
	return nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Handler)(nil)
)
