package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// wantStatus fails the test unless r has the status.
func wantStatus(t *testing.T, r *response, status int) {
	t.Helper()
	if r.status != status {
		t.Errorf("%v: status = %d, want %d", r, r.status, status)
	}
}

// wantError fails the test unless r is a module error response with status
// and message, in the JSON envelope and with Cache-Control: no-store.
func wantError(t *testing.T, r *response, status int, message string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%v: status = %d, want %d %s", r, r.status, status, message)
		return
	}
	obj := r.object()
	if obj == nil {
		t.Errorf("%v: body is not a JSON object", r)
		return
	}
	if got, _ := obj["statusCode"].(float64); int(got) != status {
		t.Errorf("%v: statusCode = %v, want %d", r, obj["statusCode"], status)
	}
	if message != "" && r.message() != message {
		t.Errorf("%v: message = %q, want %q", r, r.message(), message)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%v: Cache-Control = %q, want no-store", r, cc)
	}
}

// echo is the body of the example app's GET /_echo response.
type echo struct {
	Method  string      `json:"method"`
	Path    string      `json:"path"`
	RawPath string      `json:"rawPath"`
	Headers http.Header `json:"headers"`
}

// echoOf decodes the response of GET /_echo, and fails the test unless the
// request reached the app.
func echoOf(t *testing.T, r *response) echo {
	t.Helper()
	var e echo
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &e) != nil || e.Method == "" {
		t.Fatalf("%v: want the app's 200 echo response", r)
	}
	return e
}

// headerValues returns the values of every header whose name matches name
// with case folded and "_" read as "-", as CGI and PHP read names.
func (e echo) headerValues(name string) []string {
	want := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	var out []string
	for key, values := range e.Headers {
		if strings.ToLower(strings.ReplaceAll(key, "_", "-")) == want {
			out = append(out, values...)
		}
	}
	return out
}
