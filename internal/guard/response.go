package guard

import (
	"net/http"
	"regexp"
	"slices"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

// maxResponseBody is the maximum of a response body a guard keeps to judge
// it: 64 KiB. A body rule matches only that much.
const maxResponseBody = api.MaxBodySize

// Response is the app's response as a guard saw it.
type Response struct {
	Status int
	// Header holds the response headers as they were when the status was
	// written.
	Header http.Header
	// Body is the start of the body, at most 64 KiB, kept only when a rule
	// or a token field reads it.
	Body []byte
}

// Rule recognises an app response by its status, its Location header or its
// body. Every condition that is set must hold, and a Rule with none set
// matches nothing.
type Rule struct {
	// Status lists the statuses that match. A value from 1 to 5 stands for
	// a whole class: 2 matches 200 to 299.
	Status []int
	// Location must match the Location header. A response without one does
	// not match.
	Location *regexp.Regexp
	// Body must match the start of the body (at most 64 KiB).
	Body *regexp.Regexp
}

// Match reports whether the response matches the rule.
func (r Rule) Match(a *Response) bool {
	if len(r.Status) == 0 && r.Location == nil && r.Body == nil {
		return false
	}
	if len(r.Status) > 0 && !slices.Contains(r.Status, a.Status) &&
		!slices.Contains(r.Status, a.Status/100) {
		return false
	}
	if r.Location != nil {
		location := a.Header.Get("Location")
		if location == "" || !r.Location.MatchString(location) {
			return false
		}
	}
	return r.Body == nil || r.Body.Match(a.Body)
}

// watcher passes a response through unchanged, at once, and notes its
// status, its headers and, when keepBody is set, the start of its body.
type watcher struct {
	http.ResponseWriter
	keepBody bool
	status   int
	header   http.Header
	body     []byte
}

func newWatcher(w http.ResponseWriter, keepBody bool) *watcher {
	return &watcher{ResponseWriter: w, keepBody: keepBody}
}

// WriteHeader notes the first final status and the headers sent with it.
func (w *watcher) WriteHeader(status int) {
	if w.status == 0 && status >= 200 {
		w.status = status
		w.header = w.ResponseWriter.Header().Clone()
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write notes the start of the body when it is kept.
func (w *watcher) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.keepBody && len(w.body) < maxResponseBody {
		w.body = append(w.body, p[:min(len(p), maxResponseBody-len(w.body))]...)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the writer below, so flushes
// and deadlines work as without the watcher.
func (w *watcher) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// response returns what the watcher saw. A handler that wrote nothing
// responded 200.
func (w *watcher) response() *Response {
	if w.status == 0 {
		return &Response{Status: http.StatusOK, Header: w.ResponseWriter.Header().Clone()}
	}
	return &Response{Status: w.status, Header: w.header, Body: w.body}
}

// buffer is the ResponseWriter of a synthetic request: the response goes to
// the guard only, its body cut at 64 KiB.
type buffer struct {
	header http.Header
	status int
	body   []byte
}

func newBuffer() *buffer { return &buffer{header: http.Header{}} }

// Header returns the response headers.
func (b *buffer) Header() http.Header { return b.header }

// WriteHeader notes the first final status.
func (b *buffer) WriteHeader(status int) {
	if b.status == 0 && status >= 200 {
		b.status = status
	}
}

// Write keeps the start of the body and discards the rest.
func (b *buffer) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if len(b.body) < maxResponseBody {
		b.body = append(b.body, p[:min(len(p), maxResponseBody-len(b.body))]...)
	}
	return len(p), nil
}

// Flush does nothing: the guard reads the response when the handler returns.
func (b *buffer) Flush() {}

func (b *buffer) response() *Response {
	status := b.status
	if status == 0 {
		status = http.StatusOK
	}
	return &Response{Status: status, Header: b.header, Body: b.body}
}
