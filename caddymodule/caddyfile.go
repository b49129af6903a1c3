package caddymodule

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-twofactor/caddy-twofactor/internal/guard"
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

// subdirective describes one line of a block: its argument count (max -1
// for no limit), whether it may repeat or open a block, and how its
// arguments set the configuration.
type subdirective struct {
	usage    string
	min, max int
	repeat   bool
	block    bool
	parse    parseFunc
}

// parseFunc checks the arguments of one subdirective, already counted, and
// stores them. The cursor is on the last argument, so errors name its line.
type parseFunc func(d *caddyfile.Dispenser, args []string) error

// single describes a subdirective that takes one argument and may appear
// once.
func single(usage string, parse parseFunc) subdirective {
	return subdirective{usage: usage, min: 1, max: 1, parse: parse}
}

// list describes a subdirective that takes one or more arguments and may
// repeat, each line adding to the list.
func list(usage string, parse parseFunc) subdirective {
	return subdirective{usage: usage, min: 1, max: -1, repeat: true, parse: parse}
}

// caddyfileParser fills one Handler from the tokens of one directive.
type caddyfileParser struct {
	h *Handler
	// namedMatcher resolves the @name token under the cursor. It is nil
	// outside a Caddyfile site block.
	namedMatcher func() (caddy.ModuleMap, error)
	// seen maps each single-use subdirective, prefixed by its block, to
	// the line where it appeared.
	seen map[string]int
	// identity is the token of the identity line, once read.
	identity *caddyfile.Token
}

func newCaddyfileParser(h *Handler) *caddyfileParser {
	return &caddyfileParser{h: h, seen: map[string]int{}}
}

func (p *caddyfileParser) parse(d *caddyfile.Dispenser) error {
	if !d.Next() { // consume the directive name
		return d.Err("expected the twofactor directive")
	}
	start := d.Token()
	if d.NextArg() {
		return d.Errf("twofactor takes no arguments besides a matcher: move %q into its block",
			d.Val())
	}
	if err := p.parseBlock(d, "", p.topSubdirectives()); err != nil {
		return err
	}
	if p.identity == nil {
		return errorAt(start, "twofactor: missing identity source: add `identity introspect <url>`, "+
			"`identity jwt { ... }` or `identity placeholder <user placeholder>` to its block")
	}
	return nil
}

// parseBlock reads the block that follows the current token, one
// subdirective per line, with table naming the valid ones. where is the
// block's name in messages, empty for the directive's own block.
func (p *caddyfileParser) parseBlock(d *caddyfile.Dispenser, where string,
	table map[string]subdirective,
) error {
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		sub, ok := table[name]
		if !ok {
			return p.unknownErr(d, where, name, table)
		}
		if !sub.repeat {
			key := where + " " + name
			if line, dup := p.seen[key]; dup {
				return d.Errf("%s is already set at line %d: keep one", name, line)
			}
			p.seen[key] = d.Line()
		}

		args := d.RemainingArgs()
		if len(args) < sub.min || (sub.max >= 0 && len(args) > sub.max) {
			return d.Errf("wrong argument count for %s: expected `%s`", name, sub.usage)
		}
		if err := sub.parse(d, args); err != nil {
			return err
		}
		if !sub.block && blockFollows(d) {
			return d.Errf("%s takes no block: expected `%s`", name, sub.usage)
		}
	}
	return nil
}

// unknownErr names the unknown subdirective and the likely fix: the
// closest valid spelling, the block where the name belongs, or the list of
// valid names.
func (p *caddyfileParser) unknownErr(d *caddyfile.Dispenser, where, name string,
	table map[string]subdirective,
) error {
	prefix := ""
	if where != "" {
		prefix = where + ": "
	}
	names := make([]string, 0, len(table))
	for n := range table {
		names = append(names, n)
	}
	slices.Sort(names)
	if best, ok := closestName(name, names); ok {
		return d.Errf("%sunknown subdirective %q: did you mean %q?", prefix, name, best)
	}

	others := []struct {
		where string
		table map[string]subdirective
	}{
		{"twofactor", p.topSubdirectives()},
		{"identity introspect", introspectSubdirectives(new(IntrospectConfig))},
		{"identity jwt", jwtSubdirectives(new(JWTConfig))},
		{"smtp", smtpSubdirectives(new(SMTPConfig))},
		{"guard", guardSubdirectives(guard.ResetPassword, new(GuardConfig))},
		{"refresh_route", map[string]subdirective{"token_field": {}}},
	}
	for _, other := range others {
		if _, ok := other.table[name]; ok {
			return d.Errf("%sunknown subdirective %q: it belongs in the %s block",
				prefix, name, other.where)
		}
	}
	return d.Errf("%sunknown subdirective %q: expected one of %s",
		prefix, name, strings.Join(names, ", "))
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

func setString(target *string) parseFunc {
	return func(_ *caddyfile.Dispenser, args []string) error {
		*target = args[0]
		return nil
	}
}

func appendStrings(target *[]string) parseFunc {
	return func(_ *caddyfile.Dispenser, args []string) error {
		*target = append(*target, args...)
		return nil
	}
}

// checkSecretValue rejects a literal secret shorter than 32 bytes, the
// minimum that Provision enforces. A value with a placeholder is checked
// only when Provision replaces it. The message never repeats the value.
func checkSecretValue(d *caddyfile.Dispenser, name, value string) error {
	if !strings.Contains(value, "{") && len(value) < 32 {
		return d.Errf("%s is too short: the key is %d bytes, expected at least 32. Read it from a "+
			"placeholder such as {env.TWOFACTOR_SECRET} or {file./path}", name, len(value))
	}
	return nil
}

func setEnum(target *string, name string, valid ...string) parseFunc {
	return func(d *caddyfile.Dispenser, args []string) error {
		if !slices.Contains(valid, args[0]) {
			return d.Errf("invalid %s value %q: expected %s", name, args[0], strings.Join(valid, " or "))
		}
		*target = args[0]
		return nil
	}
}

// setDuration returns a parseFunc for the duration of subdirective name,
// which must be positive, or zero when zeroAllowed is set.
func setDuration(target *caddy.Duration, name string, zeroAllowed bool) parseFunc {
	return func(d *caddyfile.Dispenser, args []string) error {
		dur, err := caddy.ParseDuration(args[0])
		if err != nil {
			return d.Errf("invalid %s %q: expected a duration such as 30s, 15m or 12h", name, args[0])
		}
		if dur < 0 || (dur == 0 && !zeroAllowed) {
			return d.Errf("invalid %s %q: expected a positive duration", name, args[0])
		}
		*target = caddy.Duration(dur)
		return nil
	}
}

// blockFollows reports whether a block opens on the line of the current
// token, after its arguments. It leaves the cursor where it was, so an
// error names the line at fault.
func blockFollows(d *caddyfile.Dispenser) bool {
	file, line := d.File(), d.Line()
	if !d.Next() {
		return false
	}
	opens := d.Val() == "{" && d.File() == file && d.Line() == line
	d.Prev()
	return opens
}

// errorAt formats a parse error at tok in the form of Dispenser.Errf, for
// checks that end after the cursor has left the line at fault.
func errorAt(tok caddyfile.Token, msg string) error {
	return fmt.Errorf("%s, at %s:%d", msg, tok.File, tok.Line)
}

// closestName returns the name in names nearest to word: one at edit
// distance of at most 2 (or a third of the word's length), or one that
// starts the word, such as bypass for bypass_paths.
func closestName(word string, names []string) (string, bool) {
	best, bestDist := "", -1
	for _, name := range names {
		dist := editDistance(word, name)
		if bestDist < 0 || dist < bestDist {
			best, bestDist = name, dist
		}
	}
	if bestDist >= 0 && (bestDist <= 2 || 3*bestDist <= len(word)) {
		return best, true
	}
	for _, name := range names {
		if len(name) >= 4 && strings.HasPrefix(word, name) {
			return name, true
		}
	}
	return "", false
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Handler)(nil)
)
