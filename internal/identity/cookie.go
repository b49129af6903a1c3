package identity

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"
)

// findCookie returns the value of the cookie name in the Cookie header lines.
// It splits pairs and trims names the way net/http's readCookies does (Go
// 1.26), and compares names exactly, as Go does, so it finds every pair that
// a Go app would read as that cookie. It is stricter than Go in two ways, so
// that an app with a laxer parser cannot read a credential this module
// missed. A pair whose value Go would drop as invalid still counts, with its
// raw value. And there is no limit on the number of pairs, because beyond
// its limit Go drops every cookie while an app in another language may not.
// A name found twice returns ErrAmbiguous.
//
// NOTE: names that an app's parser rewrites are not matched. PHP, for one,
// turns "." and " " in $_COOKIE names into "_", so "my.sid=B" is a second
// "my_sid" to a PHP app but another cookie here.
func findCookie(lines []string, name string) (string, bool, error) {
	var value string
	found := false
	if name == "" {
		return "", false, nil
	}
	for _, line := range lines {
		for _, part := range strings.Split(line, ";") {
			pairName, raw := splitCookiePair(part)
			if pairName != name {
				continue
			}
			if found {
				return "", false, ErrAmbiguous
			}
			found = true
			value = cookieValue(raw)
		}
	}
	return value, found, nil
}

// splitCookiePair splits one "name=value" pair of a Cookie header. A pair
// without "=" is a name with an empty value, as in Go.
func splitCookiePair(part string) (name, value string) {
	part = textproto.TrimString(part)
	name, value, _ = strings.Cut(part, "=")
	return textproto.TrimString(name), value
}

// cookieValue removes the double quotes around a cookie value, as Go's
// parser does, and otherwise returns the value unchanged.
func cookieValue(raw string) string {
	if len(raw) > 1 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		return raw[1 : len(raw)-1]
	}
	return raw
}

// RemoveCarrier deletes every occurrence of carrier c from h, so that a
// credential that failed verification does not reach the app.
//
// A cookie carrier is removed from every Cookie header by the same pair
// matching as Extract; a Cookie header left empty is deleted. A header
// carrier's header is deleted whole (under any case of its name), whatever
// its scheme, because the app may not compare schemes the way this module
// does.
func RemoveCarrier(h http.Header, c Carrier) {
	switch c.Kind {
	case CarrierCookie:
		if c.Name != "" {
			RemoveCookies(h, c.Name)
		}
	case CarrierHeader:
		for k := range h {
			if strings.EqualFold(k, c.Name) {
				delete(h, k)
			}
		}
	}
}

// RemoveCookies deletes the pairs named by any of names from every Cookie
// header of h, as RemoveCarrier does for a cookie carrier, in one pass over
// the header. A Cookie header that mentions none of the names is left as
// it is, without being parsed.
func RemoveCookies(h http.Header, names ...string) {
	for k, lines := range h {
		if !strings.EqualFold(k, headerCookie) || !mentionsAny(lines, names) {
			continue
		}

		var kept []string
		for _, line := range lines {
			if rewritten := withoutCookies(line, names); rewritten != "" {
				kept = append(kept, rewritten)
			}
		}
		if len(kept) == 0 {
			delete(h, k)
		} else {
			h[k] = kept
		}
	}
}

// mentionsAny reports whether a non-empty name occurs anywhere in lines.
// A line without a name as a substring has no pair of that name, so it
// needs no parsing.
func mentionsAny(lines, names []string) bool {
	for _, line := range lines {
		for _, name := range names {
			if name != "" && strings.Contains(line, name) {
				return true
			}
		}
	}
	return false
}

// withoutCookies returns the Cookie header line without the pairs named by
// any of names, joined by "; ". Other pairs are kept byte for byte, apart
// from trimming.
func withoutCookies(line string, names []string) string {
	if !mentionsAny([]string{line}, names) {
		return line
	}
	parts := strings.Split(line, ";")
	kept := parts[:0]
	removed := false
	for _, part := range parts {
		pairName, _ := splitCookiePair(part)
		if pairName != "" && slices.Contains(names, pairName) {
			removed = true
			continue
		}
		if trimmed := textproto.TrimString(part); trimmed != "" {
			kept = append(kept, trimmed)
		}
	}
	if !removed {
		return line
	}
	return strings.Join(kept, "; ")
}
