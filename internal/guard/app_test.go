package guard

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// testApp is a small app with the routes the guards protect, responding as
// the example legacy app does. It records every request it gets.
type testApp struct {
	mu       sync.Mutex
	requests []seen
	codes    map[string]string // folded address -> reset code
	secrets  map[string]string // user id -> base32 TOTP secret, for the tests
	// nextToken is the access token that POST /api/refresh returns.
	nextToken string
}

// seen is a request as the app got it.
type seen struct {
	method, path string
	header       http.Header
	body         string
}

func newTestApp() *testApp {
	return &testApp{codes: map[string]string{}, secrets: map[string]string{}}
}

func (a *testApp) setSecret(userID, secret string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.secrets[userID] = secret
}

func (a *testApp) secret(userID string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.secrets[userID]
}

func (a *testApp) setCode(address, code string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.codes[strings.ToLower(address)] = code
}

// got returns the requests the app got for a path.
func (a *testApp) got(path string) []seen {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []seen
	for _, s := range a.requests {
		if s.path == path {
			out = append(out, s)
		}
	}
	return out
}

// fields decodes a JSON or form body the way a lenient app does.
func fields(contentType, body string) map[string]string {
	out := map[string]string{}
	mediaType, _, _ := mime.ParseMediaType(contentType)
	if mediaType == "application/x-www-form-urlencoded" {
		values, _ := url.ParseQuery(body)
		for k := range values {
			out[k] = values.Get(k)
		}
		return out
	}
	var doc map[string]any
	_ = json.Unmarshal([]byte(body), &doc)
	for k, v := range doc {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func (a *testApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.requests = append(a.requests, seen{method: r.Method, path: r.URL.Path, header: r.Header.Clone(),
		body: string(raw)})
	a.mu.Unlock()
	in := fields(r.Header.Get("Content-Type"), string(raw))
	if r.Method == http.MethodGet {
		respond(w, http.StatusOK, `{"page":"form"}`) // the app's own form page
		return
	}

	switch r.URL.Path {
	case "/user/password/reset/send", "/v1/auth/forgot-password", "/user/email/initiate":
		respond(w, http.StatusOK, `{}`)
	case "/user/password/reset/validate", "/user/password/otp":
		a.mu.Lock()
		want, ok := a.codes[strings.ToLower(strings.TrimSpace(in["email"]))]
		a.mu.Unlock()
		if !ok || want != in["code"] {
			respond(w, http.StatusUnauthorized, `{"error":"invalid or expired code"}`)
			return
		}
		respond(w, http.StatusOK, `{"valid":true}`)
	case "/user/password/old-password":
		if in["oldPassword"] != "right" {
			respond(w, http.StatusUnauthorized, `{"error":"wrong password"}`)
			return
		}
		respond(w, http.StatusOK, `{}`)
	case "/user/email":
		if in["code"] != "123456" {
			respond(w, http.StatusUnauthorized, `{"error":"invalid or expired code"}`)
			return
		}
		respond(w, http.StatusOK, `{}`)
	case "/api/refresh":
		a.mu.Lock()
		token := a.nextToken
		a.mu.Unlock()
		if in["refreshToken"] != "good" {
			respond(w, http.StatusUnauthorized, `{"error":"invalid refresh token"}`)
			return
		}
		body, _ := json.Marshal(map[string]any{"accessToken": token, "user": map[string]any{"id": 1}})
		respond(w, http.StatusOK, string(body))
	case "/logout":
		w.WriteHeader(http.StatusNoContent)
	default:
		respond(w, http.StatusNotFound, `{"error":"not found"}`)
	}
}

func respond(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}
