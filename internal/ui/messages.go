package ui

import (
	"fmt"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

// messages are the sentences shown for API message codes.
var messages = map[string]string{
	api.CodeTOTPInvalid:            "That code is not correct. Check the time on your phone and try the current code.",
	api.CodeTOTPAlreadyUsed:        "That code was already used. Wait for the next code in your app.",
	api.CodeRecoveryCodeInvalid:    "That recovery code is not valid or was already used.",
	api.CodeTOTPUninitialized:      "Set up an authenticator app first.",
	api.CodeRecoveryUninitialized:  "You have no recovery codes.",
	api.CodeTooManyTOTPChecks:      "Too many wrong codes.",
	api.CodeTooManyRecoveryChecks:  "Too many wrong recovery codes.",
	api.CodeCSRFRejected:           "The form expired or came from another site. Reload the page and try again.",
	api.CodeSudoTokenRequired:      "Confirm with your current second factor before changing it.",
	api.CodeStrongerFactorRequired: "Confirm with your authenticator app before changing it.",
	api.CodeIdentityUnavailable:    "The application could not tell who you are right now. Try again in a moment.",
	api.CodeStoreUnavailable:       "The service is unavailable right now. Try again in a moment.",
	api.CodeAmbiguousCredential:    "Your browser sent conflicting logins. Log out, then log in again.",
	api.CodeTOTPCorrupt:            "Your authenticator setup cannot be read. Ask an administrator to reset it.",
	api.CodeTooEarly:               "Send the form again.",
}

func waitSentence(e *api.Error) string {
	seconds := throttle.Seconds(e.RetryAfter)
	if seconds == 1 {
		return "Wait 1 second before the next try."
	}
	return fmt.Sprintf("Wait %d seconds before the next try.", seconds)
}
