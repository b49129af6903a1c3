package gate

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

// ChangesState reports whether a method changes state (API.md section 2).
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

// CheckAPIRequest applies the request rules of API.md section 2 to a
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
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	if strings.EqualFold(origin, g.SiteOrigin(r)) {
		return true
	}
	for _, allowed := range allowedOrigins {
		if strings.EqualFold(origin, strings.TrimSuffix(allowed, "/")) {
			return true
		}
	}
	return false
}

// SiteOrigin returns the origin the client addressed: scheme and Host.
func (g *Gate) SiteOrigin(r *http.Request) string {
	scheme := "http"
	if g.isHTTPS(r) {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: strings.ToLower(r.Host)}
	host := u.Hostname()
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		u.Host = host
	}
	return u.String()
}
