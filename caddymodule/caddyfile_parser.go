package caddymodule

import (
	"fmt"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-twofactor/caddy-twofactor/internal/guard"
)

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
