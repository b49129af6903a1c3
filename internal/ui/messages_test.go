package ui

import (
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	mailer "github.com/caddy-twofactor/caddy-twofactor/internal/mail"
)

// verbPattern finds the fmt verbs a sentence formats.
var verbPattern = regexp.MustCompile(`%[sd]`)

func TestCatalogsComplete(t *testing.T) {
	for _, lang := range mailer.Languages {
		c, ok := catalogs[lang]
		if !ok {
			t.Errorf("no catalog for mail language %q", lang)
			continue
		}
		for key, text := range english {
			translated, ok := c[key]
			if !ok {
				t.Errorf("%s: %q is missing", lang, key)
				continue
			}
			if got, want := verbPattern.FindAllString(translated, -1), verbPattern.FindAllString(text, -1); !slices.Equal(got, want) {
				t.Errorf("%s: %q formats %v, want %v as in English", lang, key, got, want)
			}
			if strings.TrimSpace(translated) != translated || translated == "" {
				t.Errorf("%s: %q = %q, want text without outer spaces", lang, key, translated)
			}
		}
		for key := range c {
			if _, ok := english[key]; !ok {
				t.Errorf("%s: %q is not in the English catalog", lang, key)
			}
		}
	}
}

func TestCatalogsCoverAPICodes(t *testing.T) {
	// Every code a page can meet has its own sentence. NO_TOKEN_PROVIDED
	// and INVALID_TOKEN become the not-logged-in sentence.
	codes := []string{
		api.CodeTOTPInvalid, api.CodeTOTPAlreadyUsed, api.CodeOTPInvalidExpired, api.CodeRecoveryCodeInvalid,
		api.CodeTOTPUninitialized, api.CodeEmailOTPUninitialized, api.CodeEmailOTPInactive,
		api.CodeEmailOTPAlreadyInactive, api.CodeTOTPAlreadyInactive, api.CodeRecoveryUninitialized,
		api.Code2FAIsDisabled, api.CodeTooManyTOTPChecks, api.CodeTooManyEmailOTPChecks,
		api.CodeTooManyRecoveryChecks, api.CodeTooManyOTPEmails, api.CodeCSRFRejected,
		api.CodeSudoTokenRequired, api.CodeSudoTokenInvalid, api.CodeStrongerFactorRequired,
		api.CodeIdentityUnavailable, api.CodeStoreUnavailable, api.CodeAmbiguousCredential,
		api.CodeTOTPCorrupt, api.CodeTooEarly, api.CodeMailDeliveryFailed, api.CodeMailTemplateMissing,
	}
	for _, code := range codes {
		if _, ok := english[code]; !ok {
			t.Errorf("no sentence for %s", code)
		}
	}
}

// templateKey finds the catalog keys the templates use.
var templateKey = regexp.MustCompile(`\.T "([a-zA-Z.]+)"`)

func TestTemplateKeysExist(t *testing.T) {
	entries, err := templateFiles.ReadDir("templates")
	if err != nil {
		t.Fatalf("listing templates: %v", err)
	}
	for _, entry := range entries {
		raw, err := templateFiles.ReadFile("templates/" + entry.Name())
		if err != nil {
			t.Fatalf("reading %s: %v", entry.Name(), err)
		}
		for _, m := range templateKey.FindAllStringSubmatch(string(raw), -1) {
			if _, ok := english[m[1]]; !ok {
				t.Errorf("%s uses %q, which the catalog lacks", entry.Name(), m[1])
			}
		}
	}
	for _, prefix := range []string{"challenge.use.", "enroll.added.", "method."} {
		for _, method := range []string{"totp", "emailOtp"} {
			if _, ok := english[prefix+method]; !ok {
				t.Errorf("no sentence %q", prefix+method)
			}
		}
	}
}

func TestFrenchSpacesEscaped(t *testing.T) {
	// The no-break spaces of the French catalog are written as escapes,
	// so a reader of the source can see them.
	raw, err := os.ReadFile("messages_fr.go")
	if err != nil {
		t.Fatalf("reading messages_fr.go: %v", err)
	}
	if strings.ContainsRune(string(raw), '\u00a0') {
		t.Error("messages_fr.go holds a raw no-break space; write it as \\u00a0")
	}
}

func TestSentence(t *testing.T) {
	tests := []struct {
		name string
		lang string
		e    *api.Error
		want string
	}{
		{"form error", "en", formError("error.codeFormat"), english["error.codeFormat"]},
		{"API bad request", "en", api.BadRequest("totp must be a string of 6 digits"), english["error.invalid"]},
		{"ambiguous credential", "en", api.NewError(http.StatusBadRequest, api.CodeAmbiguousCredential),
			english[api.CodeAmbiguousCredential]},
		{"known code", "en", api.NewError(http.StatusUnauthorized, api.CodeTOTPInvalid), english[api.CodeTOTPInvalid]},
		{"not logged in", "en", api.NewError(http.StatusUnauthorized, api.CodeNoTokenProvided),
			english["error.notLoggedIn"]},
		{"wait of one second", "en", api.TooMany(api.CodeTooManyTOTPChecks, 300*time.Millisecond),
			english[api.CodeTooManyTOTPChecks] + " Try again in 1 second."},
		{"wait rounded up", "en", api.TooMany(api.CodeTooManyRecoveryChecks, 2500*time.Millisecond),
			english[api.CodeTooManyRecoveryChecks] + " Try again in 3 seconds."},
		{"wait in German", "de", api.TooMany(api.CodeTooManyOTPEmails, 42*time.Second),
			german[api.CodeTooManyOTPEmails] + " Versuchen Sie es in 42 Sekunden noch einmal."},
		{"unknown code", "en", api.NewError(http.StatusConflict, "SOMETHING_NEW"), english["error.unknown"]},
		{"unknown language", "xx", api.NewError(http.StatusUnauthorized, api.CodeTOTPInvalid),
			english[api.CodeTOTPInvalid]},
	}
	for _, tt := range tests {
		if got := sentence(tt.lang, tt.e); got != tt.want {
			t.Errorf("%s: sentence = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMessagesAreSentences(t *testing.T) {
	// Labels, titles, buttons and links are phrases. Everything else is a
	// sentence that ends in a period, or a colon before what follows.
	phrase := regexp.MustCompile(`^(title|label|button|link|method|manage\.(totp|emailOtp|methods|notSetUp|codes\.(title|left|since)|since|emailTo)|challenge\.(methods|use\.\w+)|codes\.(title|file\.(header|name))|enroll\.qrAlt)`)
	for lang, c := range catalogs {
		for key, text := range c {
			if phrase.MatchString(key) {
				continue
			}
			if !strings.HasSuffix(text, ".") && !strings.HasSuffix(text, ":") {
				t.Errorf("%s: %q = %q, want a sentence ending in a period or colon", lang, key, text)
			}
			if strings.Contains(text, key) {
				t.Errorf("%s: %q shows its own key", lang, key)
			}
		}
	}
}
