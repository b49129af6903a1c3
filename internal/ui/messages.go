package ui

import (
	"fmt"
	"net/http"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	mailer "github.com/caddy-twofactor/caddy-twofactor/internal/mail"
	"github.com/caddy-twofactor/caddy-twofactor/internal/throttle"
)

// catalog maps message keys to sentences of one language. Keys of API
// errors are their message codes, such as TOTP_INVALID. A sentence with
// arguments has the verbs of fmt, %s or %d, in the order English has them.
type catalog map[string]string

// catalogs maps each language of mail.Languages to its catalog. English is
// complete, and the tests check that every other catalog has the same keys.
var catalogs = map[string]catalog{
	"en": english,
	"nl": dutch,
	"fr": french,
	"de": german,
}

// translate returns the sentence of key in lang, falling back to English,
// formatted with args.
func translate(lang, key string, args ...any) string {
	text, ok := catalogs[lang][key]
	if !ok {
		text, ok = catalogs[mailer.DefaultLanguage][key]
	}
	if !ok {
		return key
	}
	if len(args) == 0 {
		return text
	}
	return fmt.Sprintf(text, args...)
}

// sentence turns an API error into a sentence in lang: the sentence of its
// message code, and for a 429 the wait in seconds. An API 400 carries an
// English sentence, not a code, so it gets a general sentence. The pages
// check their fields first and report a bad one with formError.
func sentence(lang string, e *api.Error) string {
	key := e.Message
	_, known := english[key]
	switch {
	case key == api.CodeNoTokenProvided || key == api.CodeInvalidToken:
		key = "error.notLoggedIn"
	case known:
	case e.Status == http.StatusBadRequest:
		key = "error.invalid"
	default:
		key = "error.unknown"
	}
	text := translate(lang, key)
	if e.Status == http.StatusTooManyRequests {
		text += " " + waitSentence(lang, throttle.Seconds(e.RetryAfter))
	}
	return text
}

// waitSentence returns "Try again in N seconds." in lang.
func waitSentence(lang string, seconds int64) string {
	if seconds <= 1 {
		return translate(lang, "wait.one")
	}
	return translate(lang, "wait.many", seconds)
}
