package gate

import (
	"net"
	"net/http"
	"strings"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

// ChangesState reports whether a method changes state: anything but GET,
// HEAD and OPTIONS.
func ChangesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// IsEarlyData reports a request that arrived as TLS early data (0-RTT):
// its handshake had not completed, so it may be a replay.
func IsEarlyData(r *http.Request) bool {
	return r.TLS != nil && !r.TLS.HandshakeComplete
}

// CheckAPIRequest applies the request rules of docs/api.md to a
// module API route: 425 for early data, 400 without a JSON content type,
// and 403 CSRF_REJECTED for a request with cookies from another origin.
func (g *Gate) CheckAPIRequest(r *http.Request, allowedOrigins []string) *api.Error {
	if !ChangesState(r.Method) {
		return nil
	}
	if IsEarlyData(r) {
		return api.NewError(http.StatusTooEarly, api.CodeTooEarly)
	}
	if !api.IsJSON(r.Header.Get("Content-Type")) {
		return api.BadRequest("Content-Type must be application/json")
	}
	if r.Header.Get("Cookie") != "" && !g.SameOrigin(r, allowedOrigins) {
		return api.NewError(http.StatusForbidden, api.CodeCSRFRejected)
	}
	return nil
}

// SameOrigin reports whether a request comes from the site itself or an
// allowed origin: an Origin header naming the site's scheme and host or one
// of allowedOrigins, or, without Origin, Sec-Fetch-Site: same-origin.
func (g *Gate) SameOrigin(r *http.Request, allowedOrigins []string) bool {
	if len(r.Header.Values("Origin")) > 1 {
		return false // browsers send one; two may be read differently
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	return strings.EqualFold(origin, g.SiteOrigin(r)) || originAllowed(origin, allowedOrigins)
}

// SiteOrigin returns the origin the client addressed: scheme and Host.
func (g *Gate) SiteOrigin(r *http.Request) string {
	scheme := "http"
	if g.isHTTPS(r) {
		scheme = "https"
	}
	host := strings.ToLower(r.Host)
	if h, port, err := net.SplitHostPort(host); err == nil &&
		((scheme == "http" && port == "80") || (scheme == "https" && port == "443")) {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	return scheme + "://" + host
}

// corsMaxAge is how long browsers may cache a preflight response, in seconds.
const corsMaxAge = "600"

// CORS sets the CORS headers of a module route when the request's Origin
// is one of allowedOrigins, and for a preflight (OPTIONS with
// Access-Control-Request-Method) writes 204 and returns true. Other
// origins get no CORS headers, so browsers keep the responses from them.
func CORS(w http.ResponseWriter, r *http.Request, allowedOrigins []string) (handled bool) {
	origin := r.Header.Get("Origin")
	if origin == "" || !originAllowed(origin, allowedOrigins) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, "+SudoHeader)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return true
}

func originAllowed(origin string, allowedOrigins []string) bool {
	for _, allowed := range allowedOrigins {
		if strings.EqualFold(origin, strings.TrimSuffix(allowed, "/")) {
			return true
		}
	}
	return false
}
