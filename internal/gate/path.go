package gate

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidPath is the error behind every path that Canonicalize rejects.
// Canonicalize wraps it with a sentence that names the problem but never
// echoes the path. The gate maps it to status 400.
var ErrInvalidPath = errors.New("invalid request path")

// CanonicalPath is a request path in canonical form: one leading "/", no
// empty segment except a trailing one, no "." or ".." segment, unreserved
// characters never percent-encoded.
type CanonicalPath struct {
	// Path is the decoded path that decisions are made on. Every escape is
	// decoded once, so a "%2F" admitted by allowEncodedSlash is a "/" here.
	Path string

	// RawPath is the escaped path to forward, equal in meaning to Path:
	// decoding its escapes once gives Path. Escapes are written with
	// uppercase hex digits, and raw bytes that RFC 3986 does not allow in a
	// path segment are escaped.
	RawPath string
}

// Canonicalize returns the canonical form of a request's escaped path
// (r.URL.EscapedPath(), or the path part of r.RequestURI), in three steps.
// First, percent-escapes of unreserved characters (ALPHA, DIGIT, "-", ".",
// "_", "~") are decoded, so "%2e" is "." and "%41" is "A". Then empty
// segments ("//") are removed. Last, dot segments are resolved as in RFC 3986
// section 5.2.4, where ".." at the root stays at "/". A trailing slash is
// kept. Other escapes, such as "%20" or "%3B", stay escaped in RawPath and
// are decoded in Path.
//
// Escapes are decoded exactly once, as an app that follows RFC 3986 decodes
// them, so "%252e" is the three characters "%2e" and not a dot. The
// forwarded RawPath keeps that "%25", so an app that decodes twice would see
// a dot that the gate did not.
//
// The empty path is "/". Go's server (1.26) leaves the path empty for an
// absolute-form URI without a path ("http://host") and for CONNECT. The
// path of "OPTIONS *" is "*" and is rejected, but Go's server handles that
// request itself unless Server.DisableGeneralOptionsHandler is set.
//
// It returns an error wrapping ErrInvalidPath for a path that does not start
// with "/", an invalid escape ("%zz", "%2"), an encoded slash ("%2F") unless
// allowEncodedSlash, a backslash raw or encoded ("%5C"), a raw "?" or "#"
// (the caller passed a URI instead of a path), a control byte raw or encoded
// (NUL and "%00" included), an overlong UTF-8 sequence such as "%C0%AE"
// (lenient decoders read it as "."), and a dot segment that carries
// parameters (".;x", "..;x", also "%2e%2e;x" and "..%3Bx"), because Java
// servlet containers such as Tomcat cut the parameters and then resolve the
// dot segment.
//
// With allowEncodedSlash, Path splits segments at the decoded "%2F" too, and
// the path is rejected when that splitting gives an empty, "." or ".."
// segment, so the app resolves the same path whether or not it decodes
// "%2F".
func Canonicalize(escapedPath string, allowEncodedSlash bool) (CanonicalPath, error) {
	if escapedPath == "" {
		return CanonicalPath{Path: "/", RawPath: "/"}, nil
	}
	if escapedPath[0] != '/' {
		return CanonicalPath{}, invalidPath("the path does not start with \"/\"")
	}
	if isPlainPath(escapedPath) {
		return CanonicalPath{Path: escapedPath, RawPath: escapedPath}, nil
	}
	return parseCanonical(escapedPath, allowEncodedSlash)
}

// parseCanonical is Canonicalize for a path that starts with "/", segment
// by segment.
func parseCanonical(escapedPath string, allowEncodedSlash bool) (CanonicalPath, error) {
	rawSegments := strings.Split(escapedPath[1:], "/")
	segments := make([]segment, 0, len(rawSegments))
	for _, raw := range rawSegments {
		s, err := normalizeSegment(raw, allowEncodedSlash)
		if err != nil {
			return CanonicalPath{}, err
		}
		segments = append(segments, s)
	}

	resolved, trailingSlash := removeDotSegments(segments)
	canonical := joinSegments(resolved, trailingSlash)

	// NOTE: with allowEncodedSlash, MatchPrefix sees "/a%2Fb" as the two
	// segments of Path "/a/b", while an app that keeps "%2F" encoded routes
	// one segment "a%2Fb". A bypass prefix "/a" then covers a path that the
	// app does not place under "/a".
	if allowEncodedSlash && strings.Contains(canonical.RawPath, "%2F") {
		if err := checkDecodedSegments(canonical.Path); err != nil {
			return CanonicalPath{}, err
		}
	}
	return canonical, nil
}

// MatchPrefix reports whether a canonical path falls under prefix, segment
// by segment. Each segment is cut at its first ";", because Java servlet
// containers such as Tomcat and Jetty remove what follows (path parameters)
// before routing. Segments compare case-insensitively (strings.EqualFold,
// which uses Unicode simple folding). Segments that are empty after the cut
// are skipped, so a trailing slash on either side is ignored and "/a/;x/b"
// matches "/a/b", as Tomcat routes it.
// "/user/2fa" matches "/user/2fa", "/User/2FA/", "/user/2fa;x/totp" and
// "/user/2fa/totp", but not "/user/2faX". Every path matches the prefix "/".
func MatchPrefix(path, prefix string) bool {
	for {
		var want, got string
		want, prefix = nextSegmentName(prefix)
		if want == "" {
			return true
		}
		got, path = nextSegmentName(path)
		if got == "" || !equalSegment(got, want) {
			return false
		}
	}
}

// MatchExact is MatchPrefix for a whole path: the path must have as many
// segments as route, compared the same way. Guarded routes use it.
func MatchExact(path, route string) bool {
	for {
		var want, got string
		want, route = nextSegmentName(route)
		got, path = nextSegmentName(path)
		if want == "" || got == "" {
			return want == got
		}
		if !equalSegment(got, want) {
			return false
		}
	}
}

// nextSegmentName returns the first segment of s that is not empty after
// cutting it at ";", cut there, and the rest of s after that segment. It
// returns "" when no such segment is left.
func nextSegmentName(s string) (name, rest string) {
	for s != "" {
		var seg string
		seg, s, _ = strings.Cut(s, "/")
		name, _, _ = strings.Cut(seg, ";")
		if name != "" {
			return name, s
		}
	}
	return "", ""
}

// segment is one path segment in its escaped (raw) and decoded forms.
type segment struct {
	raw, decoded string
}

// invalidPath wraps ErrInvalidPath with a sentence naming the problem.
func invalidPath(problem string) error {
	return fmt.Errorf("%w: %s", ErrInvalidPath, problem)
}

// normalizeSegment decodes the unreserved escapes of one escaped segment,
// uppercases the hex digits of the other escapes, escapes raw bytes that a
// segment may not contain, and rejects what Canonicalize documents.
func normalizeSegment(escaped string, allowEncodedSlash bool) (segment, error) {
	var raw, decoded strings.Builder
	raw.Grow(len(escaped))
	decoded.Grow(len(escaped))

	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		if c == '%' {
			if i+2 >= len(escaped) || !isHex(escaped[i+1]) || !isHex(escaped[i+2]) {
				return segment{}, invalidPath("the path contains an invalid percent-escape")
			}
			b := unhex(escaped[i+1])<<4 | unhex(escaped[i+2])
			i += 2
			if err := checkEscapedByte(b, allowEncodedSlash); err != nil {
				return segment{}, err
			}
			if isUnreserved(b) {
				raw.WriteByte(b)
			} else {
				writeEscape(&raw, b)
			}
			decoded.WriteByte(b)
			continue
		}

		if err := checkRawByte(c); err != nil {
			return segment{}, err
		}
		if isSegmentByte(c) {
			raw.WriteByte(c)
		} else {
			writeEscape(&raw, c)
		}
		decoded.WriteByte(c)
	}

	s := segment{raw: raw.String(), decoded: decoded.String()}
	if isDotWithParameters(s.decoded) {
		return segment{}, invalidPath("a \".\" or \"..\" path segment carries parameters after \";\"")
	}
	if hasEscape(s.decoded) {
		return segment{}, invalidPath("the path is percent-encoded twice")
	}
	if hasOverlongUTF8(s.decoded) {
		return segment{}, invalidPath("the path contains an overlong UTF-8 sequence")
	}
	return s, nil
}

// checkEscapedByte rejects a byte that reached the path as a percent-escape.
func checkEscapedByte(b byte, allowEncodedSlash bool) error {
	switch {
	case b == '/' && !allowEncodedSlash:
		return invalidPath("the path contains an encoded slash (%2F)")
	case b == '\\':
		return invalidPath("the path contains an encoded backslash (%5C)")
	case isControl(b):
		return invalidPath("the path contains an encoded control character")
	}
	return nil
}

// checkRawByte rejects a byte that appears unescaped in the path.
func checkRawByte(c byte) error {
	switch {
	case c == '\\':
		return invalidPath("the path contains a backslash")
	case c == '?' || c == '#':
		return invalidPath("the path contains a raw \"?\" or \"#\"")
	case isControl(c):
		return invalidPath("the path contains a control character")
	}
	return nil
}

// isDotWithParameters reports whether a decoded segment is "." or ".."
// followed by ";" and parameters, as in "..;x" or "..;".
func isDotWithParameters(decoded string) bool {
	name, _, found := strings.Cut(decoded, ";")
	return found && (name == "." || name == "..")
}

// removeDotSegments drops empty and "." segments and resolves ".." against
// the segment before it (RFC 3986 section 5.2.4). It reports a trailing
// slash when the last input segment is empty, "." or "..", as "/a/" and
// "/a/b/.." both end in a directory.
func removeDotSegments(segments []segment) ([]segment, bool) {
	out := make([]segment, 0, len(segments))
	trailingSlash := false
	for _, s := range segments {
		trailingSlash = true
		switch s.decoded {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
			trailingSlash = false
		}
	}
	return out, trailingSlash
}

// joinSegments builds both forms of the path from resolved segments.
func joinSegments(segments []segment, trailingSlash bool) CanonicalPath {
	var path, rawPath strings.Builder
	for _, s := range segments {
		path.WriteByte('/')
		path.WriteString(s.decoded)
		rawPath.WriteByte('/')
		rawPath.WriteString(s.raw)
	}
	if len(segments) == 0 || trailingSlash {
		path.WriteByte('/')
		rawPath.WriteByte('/')
	}
	return CanonicalPath{Path: path.String(), RawPath: rawPath.String()}
}

// checkDecodedSegments rejects a decoded path whose segments, split at every
// "/" including decoded "%2F", contain an empty segment before the end or a
// dot segment with or without parameters.
func checkDecodedSegments(decodedPath string) error {
	parts := strings.Split(decodedPath[1:], "/")
	for i, part := range parts {
		name, _, _ := strings.Cut(part, ";")
		if part == "" && i < len(parts)-1 {
			return invalidPath("an encoded slash (%2F) makes an empty path segment")
		}
		if name == "." || name == ".." {
			return invalidPath("an encoded slash (%2F) makes a \".\" or \"..\" path segment")
		}
	}
	return nil
}

// hasOverlongUTF8 reports a lead byte followed by a continuation byte that
// together can only start an overlong encoding (RFC 3629 section 3 forbids
// them): C0 or C1 with any continuation, E0 with 80-9F, F0 with 80-8F.
// In Latin-1 these pairs are a letter followed by a C1 control, or "À" or
// "Á" followed by a sign from A0 to BF, so Latin-1 paths are rarely hit.
func hasOverlongUTF8(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		next := s[i+1]
		switch s[i] {
		case 0xC0, 0xC1:
			if next >= 0x80 && next <= 0xBF {
				return true
			}
		case 0xE0:
			if next >= 0x80 && next <= 0x9F {
				return true
			}
		case 0xF0:
			if next >= 0x80 && next <= 0x8F {
				return true
			}
		}
	}
	return false
}

// isPlainPath reports whether an escaped path that starts with "/" is
// canonical as it is: unreserved characters and "/" only, no empty segment
// but a trailing one, and no "." or ".." segment. Most request paths are,
// and Canonicalize returns them without parsing them into segments.
func isPlainPath(p string) bool {
	start := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			if !isUnreserved(p[i]) {
				return false
			}
			continue
		}
		segment := p[start:i]
		if segment == "." || segment == ".." || (segment == "" && i < len(p)) {
			return false
		}
		start = i + 1
	}
	return true
}

// isUnreserved reports the unreserved characters of RFC 3986 section 2.3.
func isUnreserved(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '-' || c == '.' || c == '_' || c == '~'
}

// isSegmentByte reports the bytes RFC 3986 section 3.3 allows unescaped in a
// path segment (pchar without "%"): unreserved, sub-delims, ":" and "@".
func isSegmentByte(c byte) bool {
	return isUnreserved(c) || strings.IndexByte("!$&'()*+,;=:@", c) >= 0
}

// isControl reports the C0 control bytes and DEL.
func isControl(c byte) bool {
	return c < 0x20 || c == 0x7F
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// writeEscape writes b as a percent-escape with uppercase hex digits, the
// normal form of RFC 3986 section 6.2.2.1.
func writeEscape(w *strings.Builder, b byte) {
	const hexDigits = "0123456789ABCDEF"
	w.WriteByte('%')
	w.WriteByte(hexDigits[b>>4])
	w.WriteByte(hexDigits[b&0x0F])
}

// hasEscape reports whether a decoded segment still holds a percent-escape.
// An app that decodes twice would read "%252e" as "." and "%252f" as "/",
// and no ordinary client encodes a path twice.
func hasEscape(decoded string) bool {
	for i := 0; i+2 < len(decoded); i++ {
		if decoded[i] == '%' && isHex(decoded[i+1]) && isHex(decoded[i+2]) {
			return true
		}
	}
	return false
}

// dottedI folds the Turkish dotted and dotless i to i. Unicode case
// folding leaves them apart from i, but some apps' case-insensitive
// routing (.NET's invariant upper-casing, for one) maps them onto I, so a
// route spelled with them must match as the ASCII route would.
var dottedI = strings.NewReplacer("\u0131", "i", "\u0130", "i")

// equalSegment compares two path segments case-insensitively, folding
// the Turkish i as well.
func equalSegment(got, want string) bool {
	if strings.EqualFold(got, want) {
		return true
	}
	if !strings.ContainsAny(got, "\u0131\u0130") {
		return false
	}
	return strings.EqualFold(dottedI.Replace(got), want)
}
