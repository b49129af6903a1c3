package gate

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// SafeNext returns next when it is a local path: it starts with exactly one
// "/", which is followed by neither "/" nor "\", and it contains no
// backslash and no control byte anywhere. The same must hold after one
// percent-decoding, so "/%2f%2fevil.example", "/%5cevil" and an invalid
// escape are rejected too. Anything else returns "/". Browsers read "//host"
// and "/\host" as another host, and they drop tabs and newlines from a URL,
// so "/\t/host" would become "//host".
func SafeNext(next string) string {
	if !isLocalPath(next) {
		return "/"
	}
	decoded, err := url.PathUnescape(next)
	if err != nil || !isLocalPath(decoded) {
		return "/"
	}
	return next
}

// isLocalPath checks one form of a next parameter, as SafeNext describes.
func isLocalPath(s string) bool {
	if s == "" || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || isControl(s[i]) {
			return false
		}
	}
	return true
}

// IsBrowserNavigation reports whether r is a GET or HEAD that a browser sent
// to load a page. Such a request gets a 303 to a built-in page in place of a
// JSON error. See WantsHTML for the headers it reads.
func IsBrowserNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return WantsHTML(r)
}

// WantsHTML reports whether r has "Sec-Fetch-Mode: navigate" or an Accept
// header that lists text/html with a quality above zero. Wildcards such as
// "*/*" and "text/*" do not count, because API clients send them. Unlike
// IsBrowserNavigation it ignores the method, so the login hold can use it
// for a POST from a login form.
func WantsHTML(r *http.Request) bool {
	for _, mode := range r.Header.Values("Sec-Fetch-Mode") {
		if strings.EqualFold(strings.TrimSpace(mode), "navigate") {
			return true
		}
	}
	for _, accept := range r.Header.Values("Accept") {
		for accept != "" {
			var mediaRange string
			mediaRange, accept, _ = strings.Cut(accept, ",")
			if acceptsHTML(mediaRange) {
				return true
			}
		}
	}
	return false
}

// acceptsHTML reports whether one media range of an Accept header is
// text/html without "q=0".
func acceptsHTML(mediaRange string) bool {
	mediaType, params, _ := strings.Cut(mediaRange, ";")
	if !strings.EqualFold(strings.TrimSpace(mediaType), "text/html") {
		return false
	}
	for params != "" {
		var param string
		param, params, _ = strings.Cut(params, ";")
		key, value, _ := strings.Cut(param, "=")
		if strings.EqualFold(strings.TrimSpace(key), "q") {
			quality, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			return err == nil && quality > 0
		}
	}
	return true
}

// ChallengeRedirect returns the Location of a 303 to the challenge page:
// uiPath + "/challenge?next=" and the original path and query, query-escaped.
// See PageRedirect for how the original is found.
func ChallengeRedirect(r *http.Request, uiPath string) string {
	return PageRedirect(r, uiPath, "challenge")
}

// PageRedirect returns the Location of a 303 to the built-in page named page
// under uiPath (for example "/user/2fa/ui"), with the original path and
// query in the next parameter. The original comes from r.RequestURI, not
// r.URL, because handle_path and uri strip_prefix rewrite r.URL before the
// module runs. A request URI that SafeNext rejects, such as "*", an
// absolute-form URI or an empty one (a request built for a client), gives
// next "/".
func PageRedirect(r *http.Request, uiPath, page string) string {
	return pageRedirect(r.RequestURI, uiPath, page)
}

func pageRedirect(requestURI, uiPath, page string) string {
	next := SafeNext(requestURI)
	return strings.TrimRight(uiPath, "/") + "/" + page + "?next=" + url.QueryEscape(next)
}
