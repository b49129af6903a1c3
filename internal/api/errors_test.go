package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestWriteErrorEnvelope(t *testing.T) {
	tests := []struct {
		status  int
		message string
	}{
		{http.StatusBadRequest, "totp must be a string of 6 digits"},
		{http.StatusUnauthorized, CodeTOTPInvalid},
		{http.StatusForbidden, CodeCSRFRejected},
		{http.StatusNotFound, CodeNotFound},
		{http.StatusConflict, CodeTOTPUninitialized},
		{http.StatusRequestEntityTooLarge, CodePayloadTooLarge},
		{http.StatusTooEarly, CodeTooEarly},
		{http.StatusInternalServerError, CodeTOTPCorrupt},
		{http.StatusBadGateway, CodeIdentityUnavailable},
		{http.StatusServiceUnavailable, CodeStoreUnavailable},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteError(w, NewError(tt.status, tt.message))

			body := wantError(t, w, tt.status, tt.message)
			if body.RetryAfter != nil {
				t.Errorf("retryAfter = %d on a %d, want none", *body.RetryAfter, tt.status)
			}
			if got := w.Header().Get("Retry-After"); got != "" {
				t.Errorf("Retry-After = %q on a %d, want none", got, tt.status)
			}
			checkJSONHeaders(t, w)
		})
	}
}

func checkJSONHeaders(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	want := map[string]string{
		"Cache-Control":          "no-store",
		"Content-Type":           "application/json; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
		"Content-Length":         strconv.Itoa(w.Body.Len()),
	}
	for name, value := range want {
		if got := w.Header().Get(name); got != value {
			t.Errorf("%s = %q, want %q", name, got, value)
		}
	}
}

func TestWriteErrorFieldNames(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, NewError(http.StatusConflict, CodeTOTPUninitialized))
	var raw map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	for _, name := range []string{"statusCode", "error", "message"} {
		if _, ok := raw[name]; !ok {
			t.Errorf("envelope lacks %q: %s", name, w.Body.String())
		}
	}
	for _, name := range []string{"retryAfter", "methods", "partialToken"} {
		if _, ok := raw[name]; ok {
			t.Errorf("envelope of a 409 has %q: %s", name, w.Body.String())
		}
	}
}

func TestWriteErrorRetryAfter(t *testing.T) {
	tests := []struct {
		wait time.Duration
		want int64
	}{
		{time.Nanosecond, 1},
		{999 * time.Millisecond, 1},
		{time.Second, 1},
		{time.Second + time.Nanosecond, 2},
		{1500 * time.Millisecond, 2},
		{900 * time.Second, 900},
		{23*time.Hour + 59*time.Minute + 59*time.Second + time.Millisecond, 86400},
	}
	for _, tt := range tests {
		t.Run(tt.wait.String(), func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteError(w, TooMany(CodeTooManyTOTPChecks, tt.wait))

			body := wantError(t, w, http.StatusTooManyRequests, CodeTooManyTOTPChecks)
			if body.RetryAfter == nil || *body.RetryAfter != tt.want {
				t.Errorf("retryAfter = %v, want %d", body.RetryAfter, tt.want)
			}
			if got := w.Header().Get("Retry-After"); got != strconv.FormatInt(tt.want, 10) {
				t.Errorf("Retry-After = %q, want %d", got, tt.want)
			}
			checkJSONHeaders(t, w)
		})
	}
}

func TestWriteErrorMethods(t *testing.T) {
	w := httptest.NewRecorder()
	e := NewError(http.StatusUnauthorized, Code2FARequired)
	e.Methods = []string{"totp", "recoveryCode"}
	WriteError(w, e)

	body := wantError(t, w, http.StatusUnauthorized, Code2FARequired)
	if len(body.Methods) != 2 || body.Methods[0] != "totp" || body.Methods[1] != "recoveryCode" {
		t.Errorf("methods = %v, want [totp recoveryCode]", body.Methods)
	}
	if body.PartialToken != "" {
		t.Errorf("partialToken = %q, want none", body.PartialToken)
	}
}

func TestWriteJSONNull(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, nil)
	if w.Code != http.StatusOK {
		t.Errorf("status = %d, want 200", w.Code)
	}
	if got := w.Body.String(); got != "null\n" {
		t.Errorf("body = %q, want null", got)
	}
	checkJSONHeaders(t, w)
}

func TestWriteJSONUnencodable(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, map[string]any{"f": func() {}})
	wantError(t, w, http.StatusInternalServerError, CodeInternal)
	checkJSONHeaders(t, w)
}

func TestReasonFallback(t *testing.T) {
	if got := Reason(http.StatusTeapot); got != http.StatusText(http.StatusTeapot) {
		t.Errorf("Reason(418) = %q, want %q", got, http.StatusText(http.StatusTeapot))
	}
	if got := Reason(http.StatusTooManyRequests); got != "Too many requests" {
		t.Errorf("Reason(429) = %q, want Too many requests", got)
	}
}

func TestErrorString(t *testing.T) {
	e := NewError(http.StatusConflict, CodeTOTPUninitialized)
	if got := e.Error(); got != "409 TOTP_UNINITIALIZED" {
		t.Errorf("Error() = %q, want 409 TOTP_UNINITIALIZED", got)
	}
	if b := BadRequest("x must be y"); b.Status != http.StatusBadRequest || b.Message != "x must be y" {
		t.Errorf("BadRequest = %+v, want 400 with the sentence", b)
	}
}
