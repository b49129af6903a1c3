package main

import "net/http"

// echoAnswer is the body of GET /_echo: the request as the app received it.
type echoAnswer struct {
	Method string `json:"method"`
	// Path is the decoded path. RawPath is the path as sent, escapes kept.
	Path    string `json:"path"`
	RawPath string `json:"rawPath"`
	// Headers maps each header name, as the server stored it, to its
	// values. Go canonicalises names, except those with "_", which stay as
	// sent.
	Headers http.Header `json:"headers"`
}

// handleEcho returns the request's method, path and headers, so tests can
// see what a proxy in front of the app forwarded. It serves logged-in and
// anonymous requests alike. Only -echo enables it, because it shows the
// request's cookies and tokens to whoever sends them.
func (s *server) handleEcho(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, echoAnswer{
		Method:  r.Method,
		Path:    r.URL.Path,
		RawPath: r.URL.EscapedPath(),
		Headers: r.Header,
	})
}
