package identity

import (
	"errors"
	"net/http"
	"net/textproto"
	"sort"
	"strings"
)

// CarrierKind is the part of a request that holds a carrier.
type CarrierKind int

const (
	// CarrierCookie is a cookie, matched by its exact name.
	CarrierCookie CarrierKind = iota + 1
	// CarrierHeader is a request header, matched by name case-insensitively.
	CarrierHeader
)

// String returns "cookie" or "header".
func (k CarrierKind) String() string {
	switch k {
	case CarrierCookie:
		return "cookie"
	case CarrierHeader:
		return "header"
	default:
		return "unknown"
	}
}

// Carrier is one thing the app authenticates a request by.
type Carrier struct {
	// Kind is CarrierCookie or CarrierHeader.
	Kind CarrierKind
	// Name is the cookie name (compared exactly, as Go's cookie parser does)
	// or the header name (canonical form, e.g. "Authorization").
	Name string
	// Scheme is the optional authentication scheme of a header carrier,
	// e.g. "Bearer" or "Basic", matched case-insensitively. When set, only
	// header values with this scheme belong to the carrier.
	Scheme string
}

// String names the carrier for logs. It never contains a credential.
func (c Carrier) String() string {
	s := c.Kind.String() + " " + c.Name
	if c.Scheme != "" {
		s += " " + c.Scheme
	}
	return s
}

// Presented is one carrier value found in a request.
type Presented struct {
	// Carrier is the configured carrier the value was found in.
	Carrier Carrier
	// Value is the credential. For a header carrier with a scheme, it is the
	// part after the scheme. For a cookie, it is the value without
	// surrounding double quotes, as Go's cookie parser returns it.
	Value string
}

// String names the carrier only, so that printing a Presented with %v or %s
// never writes the credential to a log.
func (p Presented) String() string { return p.Carrier.String() }

// GoString hides the credential from %#v for the same reason as String.
func (p Presented) GoString() string { return "identity.Presented{" + p.Carrier.String() + "}" }

// Credentials is what Extract found.
type Credentials struct {
	// Presented lists the configured carriers found, in configuration order.
	Presented []Presented
	// Any reports whether the request has any Cookie or Authorization
	// header at all, configured or not, module token or not.
	Any bool
}

// ErrAmbiguous reports a request whose credential the app could read
// differently from this module: a configured carrier present twice, two
// Authorization headers, or carriers that name different users. Callers map
// it to 400 AMBIGUOUS_CREDENTIAL.
var ErrAmbiguous = errors.New("ambiguous credential")

// Prefixes of the tokens this module issues. A bearer token with one of them
// is a module token, never an app credential.
const (
	// SudoTokenPrefix starts a sudo token: proof of a fresh second factor.
	SudoTokenPrefix = "sudo_"
	// PartialTokenPrefix starts a partial token: a login held until the
	// second factor.
	PartialTokenPrefix = "partial_"
)

const (
	headerCookie        = "Cookie"
	headerAuthorization = "Authorization"
	schemeBearer        = "Bearer"
)

// Extract finds the configured carriers in r.
//
// It returns ErrAmbiguous when a configured cookie appears twice (also across
// several Cookie headers), when r has two Authorization headers (configured
// or not), or when a configured header has two values. Module tokens
// (Authorization: Bearer sudo_… or partial_…) are skipped, since they are not
// app credentials. Empty values are not presented. Carriers listed twice in
// the configuration are presented once.
func Extract(r *http.Request, carriers []Carrier) (Credentials, error) {
	var creds Credentials
	if r == nil {
		return creds, nil
	}

	cookieLines := headerValues(r.Header, headerCookie)
	authValues := headerValues(r.Header, headerAuthorization)
	creds.Any = len(cookieLines) > 0 || len(authValues) > 0
	if len(authValues) > 1 {
		return Credentials{}, ErrAmbiguous
	}

	seen := make(map[Carrier]bool, len(carriers))
	for _, c := range carriers {
		key := carrierKey(c)
		if seen[key] {
			continue
		}
		seen[key] = true

		var value string
		var found bool
		var err error
		switch c.Kind {
		case CarrierCookie:
			value, found, err = findCookie(cookieLines, c.Name)
		case CarrierHeader:
			value, found, err = findHeader(r.Header, c)
		}
		if err != nil {
			return Credentials{}, err
		}
		if found && value != "" {
			creds.Presented = append(creds.Presented, Presented{Carrier: c, Value: value})
		}
	}
	return creds, nil
}

// IsModuleToken reports whether an Authorization header value is a bearer
// token issued by this module (a sudo or partial token).
func IsModuleToken(authorization string) bool {
	scheme, token := splitScheme(authorization)
	if !strings.EqualFold(scheme, schemeBearer) {
		return false
	}
	return strings.HasPrefix(token, SudoTokenPrefix) ||
		strings.HasPrefix(token, PartialTokenPrefix)
}

// carrierKey is the identity of a carrier for de-duplication: header names
// and schemes compare case-insensitively, cookie names exactly.
func carrierKey(c Carrier) Carrier {
	if c.Kind == CarrierHeader {
		c.Name = textproto.CanonicalMIMEHeaderKey(c.Name)
		c.Scheme = strings.ToLower(c.Scheme)
	}
	return c
}

// headerValues returns every value of the header name, also under keys that
// differ from the canonical form only in case. Go's server canonicalises
// header keys, but code running before this package may have set a
// non-canonical key, and the proxy would still send it to the app.
func headerValues(h http.Header, name string) []string {
	var keys []string
	for k := range h {
		if strings.EqualFold(k, name) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 1 {
		return h[keys[0]]
	}
	sort.Strings(keys)

	var values []string
	for _, k := range keys {
		values = append(values, h[k]...)
	}
	return values
}

// findHeader returns the value of header carrier c. A header carrier with
// more than one value is ambiguous, whatever its scheme.
func findHeader(h http.Header, c Carrier) (string, bool, error) {
	values := headerValues(h, c.Name)
	if len(values) == 0 {
		return "", false, nil
	}
	if len(values) > 1 {
		return "", false, ErrAmbiguous
	}

	value := values[0]
	if strings.EqualFold(c.Name, headerAuthorization) && IsModuleToken(value) {
		return "", false, nil
	}
	if c.Scheme == "" {
		return textproto.TrimString(value), true, nil
	}

	scheme, token := splitScheme(value)
	if !strings.EqualFold(scheme, c.Scheme) {
		return "", false, nil
	}
	return token, true, nil
}

// splitScheme splits an Authorization-style value into its scheme and the
// rest, trimmed. RFC 9110 section 11.4 separates them by one or more spaces;
// a tab is accepted too.
func splitScheme(value string) (scheme, rest string) {
	value = textproto.TrimString(value)
	i := strings.IndexAny(value, " \t")
	if i < 0 {
		return value, ""
	}
	return value[:i], textproto.TrimString(value[i+1:])
}
