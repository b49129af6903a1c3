package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// guardStack is a stack whose app mails its codes to a file in the test's
// folder, for the tests of the guarded password and email routes.
type guardStack struct {
	*stack
	codesFile string
}

// newGuardStack starts a stack whose app writes its mailed codes to a file.
func newGuardStack(t *testing.T, cfg stackConfig) *guardStack {
	t.Helper()
	codes := filepath.Join(t.TempDir(), "codes.jsonl")
	cfg.AppFlags = append(append([]string{}, cfg.AppFlags...), "-reset-codes-file", codes)
	return &guardStack{stack: newStack(t, cfg), codesFile: codes}
}

// mailedCode returns the last code of a kind ("reset" or
// "email-transfer") that the app mailed to address.
func (s *guardStack) mailedCode(kind, address string) string {
	s.t.Helper()
	f, err := os.Open(s.codesFile)
	if err != nil {
		s.t.Fatalf("opening the app's codes file: %v", err)
	}
	defer f.Close()
	code := ""
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		var line struct{ Kind, Email, Code string }
		if err := json.Unmarshal(scanner.Bytes(), &line); err != nil {
			s.t.Fatalf("decoding the codes file line %q: %v", scanner.Text(), err)
		}
		if line.Kind == kind && line.Email == strings.ToLower(address) {
			code = line.Code
		}
	}
	if code == "" {
		s.t.Fatalf("the app mailed no %s code to %s", kind, address)
	}
	s.secrets.add(kind+" code", code)
	return code
}

// appRequest is a request as the app received it, from GET /_echo/last.
type appRequest struct {
	Method  string      `json:"method"`
	Path    string      `json:"path"`
	Headers http.Header `json:"headers"`
	Body    string      `json:"body"`
}

// lastAppRequest returns the last request the app received on path, asked
// of the app directly, or nil when none came.
func (s *guardStack) lastAppRequest(path string) *appRequest {
	s.t.Helper()
	hc := &http.Client{Transport: s.transport}
	resp, err := hc.Get("http://" + s.appAddr + "/_echo/last?path=" + url.QueryEscape(path))
	if err != nil {
		s.t.Fatalf("asking the app for its last request to %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	var got appRequest
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &got) != nil {
		s.t.Fatalf("GET /_echo/last?path=%s: %d %s", path, resp.StatusCode, raw)
	}
	return &got
}

// wantNoSecondFactor fails unless the app's last request on path lacks
// every second factor, sudo token and partial token.
func (s *guardStack) wantNoSecondFactor(t *testing.T, path string, secrets ...string) {
	t.Helper()
	got := s.lastAppRequest(path)
	if got == nil {
		t.Fatalf("the app received no request on %s", path)
	}
	text := strings.ToLower(got.Body)
	for _, field := range []string{`"totp"`, `"recoverycode"`, "totp=", "recoverycode="} {
		if strings.Contains(text, field) {
			t.Errorf("the app received a second-factor field on %s: %s", path, got.Body)
		}
	}
	for name, values := range got.Headers {
		for _, v := range values {
			if strings.Contains(v, "sudo_") || strings.Contains(v, "partial_") {
				t.Errorf("the app received a module token in %s on %s", name, path)
			}
			for _, secret := range secrets {
				if strings.Contains(v, secret) {
					t.Errorf("the app received a secret in %s on %s", name, path)
				}
			}
		}
	}
	if len(got.Headers.Values("X-Sudo-Token")) > 0 {
		t.Errorf("the app received X-Sudo-Token on %s", path)
	}
}

// putJSON sends a JSON PUT as a same-origin script does.
func (c *client) putJSON(path, body string, headers ...string) *response {
	c.t.Helper()
	return c.send(http.MethodPut, path, body, append([]string{
		"Content-Type", "application/json", "Origin", c.s.base, "Accept", "application/json",
	}, headers...)...)
}

// postForm sends a form as a browser does.
func (c *client) postForm(path string, form url.Values) *response {
	c.t.Helper()
	return c.send(http.MethodPost, path, form.Encode(),
		"Content-Type", "application/x-www-form-urlencoded", "Origin", c.s.base)
}

// jsonFields returns a JSON object of string fields, in the order given.
func jsonFields(pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, fmt.Sprintf("%q:%q", pairs[i], pairs[i+1]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// methodsOf returns the methods of a 2FA_REQUIRED response.
func methodsOf(r *response) string {
	list, _ := r.object()["methods"].([]any)
	var names []string
	for _, m := range list {
		s, _ := m.(string)
		names = append(names, s)
	}
	return strings.Join(names, ",")
}
