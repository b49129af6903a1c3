package mail

import (
	"slices"
	"strconv"
	"strings"
)

// DefaultLanguage is the language of a Message whose Language is empty or
// not one of Languages.
const DefaultLanguage = "en"

// Languages are the languages of the embedded templates.
var Languages = []string{"en", "nl", "fr", "de"}

// maxLanguageRanges bounds the Accept-Language entries read, so a huge
// header costs no more than a normal one.
const maxLanguageRanges = 32

// Language picks the language of a mail: query when it is one of
// Languages (case-insensitive), else the best match in an Accept-Language
// header value by q-value and then order, else DefaultLanguage. A range
// like "de-CH" matches "de", "*" matches DefaultLanguage, and q=0 excludes
// a language.
func Language(query, acceptLanguage string) string {
	if lang := strings.ToLower(strings.TrimSpace(query)); slices.Contains(Languages, lang) {
		return lang
	}

	best, bestQ, count := "", 0.0, 0
	for item := range strings.SplitSeq(acceptLanguage, ",") {
		if count++; count > maxLanguageRanges {
			break
		}
		lang, q, ok := parseLanguageRange(item)
		if ok && q > bestQ {
			best, bestQ = lang, q
		}
	}
	if best == "" {
		return DefaultLanguage
	}
	return best
}

// parseLanguageRange reads one Accept-Language entry such as "fr-CA;q=0.8"
// and returns the supported language it names and its q-value. ok is
// false for an unsupported language or a malformed q-value.
func parseLanguageRange(item string) (lang string, q float64, ok bool) {
	tag, params, _ := strings.Cut(item, ";")
	tag = strings.ToLower(strings.TrimSpace(tag))
	primary, _, _ := strings.Cut(tag, "-")
	switch {
	case primary == "*":
		lang = DefaultLanguage
	case slices.Contains(Languages, primary):
		lang = primary
	default:
		return "", 0, false
	}

	q = 1
	for param := range strings.SplitSeq(params, ";") {
		name, value, found := strings.Cut(strings.TrimSpace(param), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		parsed, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || !(parsed >= 0 && parsed <= 1) { // also rejects NaN
			return "", 0, false
		}
		q = parsed
	}
	return lang, q, true
}
