// Package api serves the 2FA JSON API under /user/2fa: TOTP, recovery
// codes, sudo tokens and the error envelope every module response uses.
package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

// Message codes of the API (docs/api.md).
const (
	CodeAmbiguousCredential     = "AMBIGUOUS_CREDENTIAL"
	CodeNoTokenProvided         = "NO_TOKEN_PROVIDED"
	CodeInvalidToken            = "INVALID_TOKEN"
	Code2FARequired             = "2FA_REQUIRED"
	CodeSudoTokenRequired       = "SUDO_TOKEN_REQUIRED"
	CodeSudoTokenInvalid        = "SUDO_TOKEN_INVALID"
	CodeTOTPInvalid             = "TOTP_INVALID"
	CodeTOTPAlreadyUsed         = "TOTP_ALREADY_USED"
	CodeOTPInvalidExpired       = "OTP_INVALID_EXPIRED"
	CodeRecoveryCodeInvalid     = "RECOVERY_CODE_INVALID"
	CodeEnrollmentRequired      = "2FA_ENROLLMENT_REQUIRED"
	CodeCSRFRejected            = "CSRF_REJECTED"
	CodeStrongerFactorRequired  = "STRONGER_FACTOR_REQUIRED"
	CodeTOTPUninitialized       = "TOTP_UNINITIALIZED"
	CodeTOTPAlreadyInactive     = "TOTP_ALREADY_INACTIVE"
	CodeEmailOTPUninitialized   = "EMAIL_OTP_UNINITIALIZED"
	CodeEmailOTPInactive        = "EMAIL_OTP_INACTIVE"
	CodeEmailOTPAlreadyInactive = "EMAIL_OTP_ALREADY_INACTIVE"
	CodeRecoveryUninitialized   = "RECOVERY_CODES_UNINITIALIZED"
	Code2FAIsDisabled           = "2FA_IS_DISABLED"
	CodeTooEarly                = "TOO_EARLY"
	CodeTooManyTOTPChecks       = "TOO_MANY_TOTP_CHECKS"
	CodeTooManyEmailOTPChecks   = "TOO_MANY_EMAIL_OTP_CHECKS"
	CodeTooManyRecoveryChecks   = "TOO_MANY_RECOVERY_CODE_CHECKS"
	CodeTooManyOTPEmails        = "TOO_MANY_OTP_EMAILS"
	CodeTOTPCorrupt             = "TOTP_CORRUPT"
	CodeMailTemplateMissing     = "UNABLE_TO_FIND_MAIL_TEMPLATE"
	CodeIdentityUnavailable     = "IDENTITY_UNAVAILABLE"
	CodeMailDeliveryFailed      = "MAIL_DELIVERY_FAILED"
	CodeStoreUnavailable        = "STORE_UNAVAILABLE"
	CodeInternal                = "INTERNAL_SERVER_ERROR"
	CodeNotFound                = "NOT_FOUND"
	CodeMethodNotAllowed        = "METHOD_NOT_ALLOWED"
	CodePayloadTooLarge         = "PAYLOAD_TOO_LARGE"
)

// reasons are the "error" phrases of the API. Go's
// http.StatusText differs for 429 and 500.
var reasons = map[int]string{
	http.StatusBadRequest:            "Bad Request",
	http.StatusUnauthorized:          "Unauthorized",
	http.StatusForbidden:             "Forbidden",
	http.StatusNotFound:              "Not Found",
	http.StatusMethodNotAllowed:      "Method Not Allowed",
	http.StatusConflict:              "Conflict",
	http.StatusRequestEntityTooLarge: "Payload Too Large",
	http.StatusUnsupportedMediaType:  "Unsupported Media Type",
	http.StatusTooEarly:              "Too Early",
	http.StatusTooManyRequests:       "Too many requests",
	http.StatusInternalServerError:   "Internal server error",
	http.StatusBadGateway:            "Bad Gateway",
	http.StatusServiceUnavailable:    "Service Unavailable",
}

// Error is a response of the module other than 2xx. Message is an
// UPPER_SNAKE code, or for 400 a sentence naming the invalid field.
type Error struct {
	Status  int
	Message string
	// RetryAfter is set on 429 responses.
	RetryAfter time.Duration
	// Methods lists the active methods on 2FA_REQUIRED.
	Methods []string
	// PartialToken is set when a held login returns 2FA_REQUIRED.
	PartialToken string
}

func (e *Error) Error() string { return strconv.Itoa(e.Status) + " " + e.Message }

// NewError returns an Error with status and message.
func NewError(status int, message string) *Error {
	return &Error{Status: status, Message: message}
}

// BadRequest returns a 400 whose message is a sentence naming the field.
func BadRequest(sentence string) *Error {
	return &Error{Status: http.StatusBadRequest, Message: sentence}
}

// TooMany returns a 429 with its wait.
func TooMany(code string, wait time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, Message: code, RetryAfter: wait}
}

// Reason returns the "error" phrase of a status.
func Reason(status int) string {
	if reason, ok := reasons[status]; ok {
		return reason
	}
	return http.StatusText(status)
}

type envelope struct {
	StatusCode   int      `json:"statusCode"`
	Error        string   `json:"error"`
	Message      string   `json:"message"`
	RetryAfter   *int64   `json:"retryAfter,omitempty"`
	Methods      []string `json:"methods,omitempty"`
	PartialToken string   `json:"partialToken,omitempty"`
}

// WriteError writes e as the JSON envelope, with Retry-After on 429.
func WriteError(w http.ResponseWriter, e *Error) {
	body := envelope{
		StatusCode:   e.Status,
		Error:        Reason(e.Status),
		Message:      e.Message,
		Methods:      e.Methods,
		PartialToken: e.PartialToken,
	}
	if e.Status == http.StatusTooManyRequests {
		seconds := throttle.Seconds(e.RetryAfter)
		body.RetryAfter = &seconds
		w.Header().Set("Retry-After", strconv.FormatInt(seconds, 10))
	}
	writeJSON(w, e.Status, body)
}

// WriteJSON writes a 200 answer.
func WriteJSON(w http.ResponseWriter, v any) {
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		raw = []byte(`{"statusCode":500,"error":"Internal server error","message":"INTERNAL_SERVER_ERROR"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(raw)+1))
	w.WriteHeader(status)
	w.Write(append(raw, '\n'))
}
