package ui

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

func TestSentence(t *testing.T) {
	tests := []struct {
		name string
		e    *api.Error
		want string
	}{
		{"bad request", api.BadRequest("the code must be 6 digits"), "The request was invalid: the code must be 6 digits."},
		{"known code", api.NewError(http.StatusUnauthorized, api.CodeTOTPInvalid), messages[api.CodeTOTPInvalid]},
		{"wait of one second", api.TooMany(api.CodeTooManyTOTPChecks, 300*time.Millisecond),
			messages[api.CodeTooManyTOTPChecks] + " Wait 1 second before the next try."},
		{"wait rounded up", api.TooMany(api.CodeTooManyRecoveryChecks, 2500*time.Millisecond),
			messages[api.CodeTooManyRecoveryChecks] + " Wait 3 seconds before the next try."},
		{"unknown code", api.NewError(http.StatusConflict, "SOMETHING_NEW"),
			"Something went wrong (SOMETHING_NEW). Try again later."},
	}
	for _, tt := range tests {
		if got := sentence(tt.e); got != tt.want {
			t.Errorf("%s: sentence = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMessagesAreSentences(t *testing.T) {
	for code, text := range messages {
		if text == "" || !strings.HasSuffix(text, ".") || strings.ToUpper(text[:1]) != text[:1] {
			t.Errorf("message of %s = %q, want a capitalised sentence ending in a period", code, text)
		}
		if strings.Contains(text, code) {
			t.Errorf("message of %s shows the code itself: %q", code, text)
		}
	}
}
