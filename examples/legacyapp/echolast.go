package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
)

// maxRecordedPaths bounds the requests lastRequests keeps, one per path.
const maxRecordedPaths = 1000

// lastRequest is a request as the app received it, body included, as
// GET /_echo/last returns it.
type lastRequest struct {
	Method  string      `json:"method"`
	Path    string      `json:"path"`
	Headers http.Header `json:"headers"`
	Body    string      `json:"body"`
}

// lastRequests keeps, with -echo, the last request to every path, so tests
// can see what a proxy forwarded in a body. It is safe for concurrent use.
type lastRequests struct {
	mu     sync.Mutex
	byPath map[string]lastRequest
}

// record wraps next so that every request but those to /_echo is kept,
// with up to maxBodyBytes of its body. next still reads the whole body.
func (l *lastRequests) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_echo") {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}

		l.mu.Lock()
		if l.byPath == nil || len(l.byPath) >= maxRecordedPaths {
			l.byPath = map[string]lastRequest{}
		}
		l.byPath[r.URL.Path] = lastRequest{Method: r.Method, Path: r.URL.Path,
			Headers: r.Header.Clone(), Body: string(body)}
		l.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// handleEchoLast returns the last request to the path in the query's
// path parameter, or 404 when none came.
func (l *lastRequests) handleEchoLast(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	last, ok := l.byPath[r.URL.Query().Get("path")]
	l.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "no request to that path yet")
		return
	}
	writeJSON(w, http.StatusOK, last)
}
