// Package hold keeps an app's login response back until its user passes the
// second factor: it records the response, finds the credential it issued,
// and seals it for the store.
package hold

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Limits of a held login.
const (
	// MaxAnswer is the largest response body the module holds.
	MaxAnswer = 64 << 10
	// maxRecorded bounds what Recorder buffers of an response it may pass on
	// unheld: a larger login response gets 502.
	maxRecorded = 1 << 20
	// TTL is how long a held login waits for its second factor.
	TTL = 5 * time.Minute
)

// Answer is an app's response as recorded.
type Answer struct {
	Status int         `json:"status"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
}

// Recorder is an http.ResponseWriter that records an response instead of
// sending it. It keeps at most 1 MiB of body and notes when there was more.
type Recorder struct {
	header    http.Header
	status    int
	body      bytes.Buffer
	truncated bool
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{header: http.Header{}}
}

// Header implements http.ResponseWriter.
func (r *Recorder) Header() http.Header { return r.header }

// WriteHeader implements http.ResponseWriter; informational responses are
// not recorded.
func (r *Recorder) WriteHeader(status int) {
	if r.status == 0 && status >= 200 {
		r.status = status
	}
}

// Write implements http.ResponseWriter.
func (r *Recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	room := maxRecorded - r.body.Len()
	if len(p) > room {
		r.truncated = true
		r.body.Write(p[:max(room, 0)])
		return len(p), nil
	}
	r.body.Write(p)
	return len(p), nil
}

// Answer returns what was recorded, and false when the body was cut.
func (r *Recorder) Answer() (*Answer, bool) {
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	return &Answer{Status: status, Header: r.header.Clone(), Body: bytes.Clone(r.body.Bytes())}, !r.truncated
}

// WriteTo sends the response to w as the app gave it.
func (a *Answer) WriteTo(w http.ResponseWriter) {
	h := w.Header()
	for name, values := range a.Header {
		h[name] = values
	}
	h.Set("Content-Length", strconv.Itoa(len(a.Body)))
	w.WriteHeader(a.Status)
	w.Write(a.Body)
}

// Marshal encodes the response for sealing.
func (a *Answer) Marshal() ([]byte, error) {
	return json.Marshal(a)
}

// Unmarshal decodes what Marshal encoded.
func Unmarshal(raw []byte) (*Answer, error) {
	var a Answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	return &a, nil
}
