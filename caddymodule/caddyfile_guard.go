package caddymodule

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-twofactor/caddy-twofactor/internal/guard"
)

// guardUsage is the syntax of the guard subdirective, for messages.
const guardUsage = "guard <name> off | guard <name> [<path>...] [{ ... }]"

// parseGuard reads `guard <name> off` or `guard <name> [<path>...]` and
// the guard's block.
func (p *caddyfileParser) parseGuard(d *caddyfile.Dispenser, args []string) error {
	kind := guard.Kind(args[0])
	cfg, ok := p.guardSlot(kind)
	if !ok {
		names := make([]string, len(guard.Kinds))
		for i, k := range guard.Kinds {
			names[i] = string(k)
		}
		hint := ""
		if best, ok := closestName(args[0], names); ok {
			hint = fmt.Sprintf("did you mean %q? ", best)
		}
		return d.Errf("unknown guard %q: %sexpected one of %s", args[0], hint, strings.Join(names, ", "))
	}
	key := "guard " + args[0]
	if line, dup := p.seen[key]; dup {
		return d.Errf("guard %s is already configured at line %d: keep one", args[0], line)
	}
	p.seen[key] = d.Line()

	*cfg = &GuardConfig{}
	rest := args[1:]
	if len(rest) == 1 && rest[0] == "off" {
		(*cfg).Off = true
		if blockFollows(d) {
			return d.Errf("guard %s off takes no block", args[0])
		}
		return nil
	}
	for _, path := range rest {
		if !strings.HasPrefix(path, "/") {
			return d.Errf("invalid guard %s path %q: expected `%s`, with paths starting with /",
				args[0], path, guardUsage)
		}
	}
	(*cfg).Paths = rest
	return p.parseBlock(d, key, guardSubdirectives(kind, *cfg))
}

// guardSlot returns where the config of a guard goes.
func (p *caddyfileParser) guardSlot(kind guard.Kind) (**GuardConfig, bool) {
	g := &p.h.Guards
	slots := map[guard.Kind]**GuardConfig{
		guard.ResetSend: &g.ResetSend, guard.ResetValidate: &g.ResetValidate,
		guard.ResetPassword: &g.ResetPassword, guard.OldPassword: &g.OldPassword,
		guard.EmailInitiate: &g.EmailInitiate, guard.EmailChange: &g.EmailChange,
	}
	slot, ok := slots[kind]
	return slot, ok
}

// guardSubdirectives returns the block lines a guard of kind accepts.
func guardSubdirectives(kind guard.Kind, c *GuardConfig) map[string]subdirective {
	table := map[string]subdirective{}
	fields := map[string]*string{
		"email_field": &c.EmailField, "code_field": &c.CodeField,
		"totp_field": &c.TOTPField, "recovery_code_field": &c.RecoveryCodeField,
	}
	for _, name := range guardFields[kind] {
		table[name] = single(name+" <name>", setString(fields[name]))
	}
	if judgedGuards[kind] {
		table["success"] = ruleSubdirective("success", &c.Success)
		table["failure"] = ruleSubdirective("failure", &c.Failure)
	}
	return table
}

// ruleSubdirective reads `success|failure status <code>...`, `... location
// <regexp>` or `... body <regexp>`. The lines of one rule combine: every
// condition set must hold.
func ruleSubdirective(which string, target **ResponseRuleConfig) subdirective {
	usage := which + " status <code>... | " + which + " location <regexp> | " + which + " body <regexp>"
	return subdirective{usage: usage, min: 2, max: -1, repeat: true,
		parse: func(d *caddyfile.Dispenser, args []string) error {
			if *target == nil {
				*target = &ResponseRuleConfig{}
			}
			return parseRule(d, which, usage, *target, args)
		}}
}

func parseRule(d *caddyfile.Dispenser, which, usage string, rule *ResponseRuleConfig, args []string) error {
	form, values := args[0], args[1:]
	switch form {
	case "status":
		if len(rule.Status) > 0 {
			return d.Errf("%s status is already set: list every status on one line", which)
		}
		for _, v := range values {
			if _, ok := parseStatus(v); !ok {
				return d.Errf("invalid %s status %q: expected a status such as 200 or a class "+
					"such as 2xx", which, v)
			}
		}
		rule.Status = values
	case "location", "body":
		if len(values) != 1 {
			return d.Errf("%s %s takes one regular expression: quote it if it holds spaces",
				which, form)
		}
		if _, err := regexp.Compile(values[0]); err != nil {
			return d.Errf("invalid %s %s regular expression: %v", which, form, err)
		}
		target := &rule.Location
		if form == "body" {
			target = &rule.Body
		}
		if *target != "" {
			return d.Errf("%s %s is already set: keep one", which, form)
		}
		*target = values[0]
	default:
		return d.Errf("invalid %s form %q: expected `%s`", which, form, usage)
	}
	return nil
}

// parseGuardsOff reads `guards off`.
func (p *caddyfileParser) parseGuardsOff(d *caddyfile.Dispenser, args []string) error {
	if args[0] != "off" {
		return d.Errf("invalid guards value %q: expected `guards off`, or `guard <name> ...` "+
			"to configure one guard", args[0])
	}
	p.h.Guards.Off = true
	return nil
}

// parseMethodRoute returns the parseFunc of `refresh_route <method>
// <path> [{ ... }]` or `logout <method> <path> [{ ... }]`.
func (p *caddyfileParser) parseMethodRoute(kind guard.Kind) parseFunc {
	return func(d *caddyfile.Dispenser, args []string) error {
		name := string(kind)
		method, path := args[0], args[1]
		if !validMethod(method) {
			return d.Errf("invalid %s method %q: expected an HTTP method in capitals, such as POST",
				name, method)
		}
		if !strings.HasPrefix(path, "/") {
			return d.Errf("invalid %s path %q: expected a path starting with /", name, path)
		}
		cfg := RouteConfig{Method: method, Path: path}
		table := map[string]subdirective{
			"success": ruleSubdirective("success", &cfg.Success),
			"failure": ruleSubdirective("failure", &cfg.Failure),
		}
		if kind == guard.Refresh {
			table["token_field"] = single("token_field <dotted.path>", setString(&cfg.TokenField))
		}
		if err := p.parseBlock(d, name+" "+method+" "+path, table); err != nil {
			return err
		}
		if kind == guard.Refresh {
			p.h.RefreshRoutes = append(p.h.RefreshRoutes, cfg)
		} else {
			p.h.LogoutRoutes = append(p.h.LogoutRoutes, cfg)
		}
		return nil
	}
}

// guardTopSubdirectives are the guard lines of the twofactor block.
func (p *caddyfileParser) guardTopSubdirectives() map[string]subdirective {
	return map[string]subdirective{
		"guard": {usage: guardUsage, min: 1, max: -1, repeat: true, block: true,
			parse: p.parseGuard},
		"guards": single("guards off", p.parseGuardsOff),
		"refresh_route": {usage: "refresh_route <method> <path> [{ token_field <dotted.path> }]",
			min: 2, max: 2, repeat: true, block: true, parse: p.parseMethodRoute(guard.Refresh)},
		"logout": {usage: "logout <method> <path> [{ success ... }]",
			min: 2, max: 2, repeat: true, block: true, parse: p.parseMethodRoute(guard.Logout)},
	}
}
