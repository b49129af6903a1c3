package mail

import "time"

// Kind names the purpose of a mail and picks its template.
type Kind string

// Kinds of mail. Each has a template per language.
const (
	// KindSetupCode carries the code that confirms a new address for email
	// codes.
	KindSetupCode Kind = "setup-code"
	// KindChallengeCode carries the code that completes a sign-in.
	KindChallengeCode Kind = "challenge-code"
	// KindMethodEnabled is the notice that a second-factor method was turned
	// on.
	KindMethodEnabled Kind = "method-enabled"
	// KindMethodRemoved is the notice that a second-factor method was turned
	// off.
	KindMethodRemoved Kind = "method-removed"
	// KindRecoveryCodeUsed is the notice that a recovery code was used to
	// sign in.
	KindRecoveryCodeUsed Kind = "recovery-code-used"
	// KindCodesRegenerated is the notice that the recovery codes were
	// replaced.
	KindCodesRegenerated Kind = "codes-regenerated"
)

// Kinds lists every Kind, in the order above.
var Kinds = []Kind{
	KindSetupCode, KindChallengeCode, KindMethodEnabled,
	KindMethodRemoved, KindRecoveryCodeUsed, KindCodesRegenerated,
}

// isCodeKind reports whether mails of kind carry a one-time code.
func isCodeKind(kind Kind) bool {
	return kind == KindSetupCode || kind == KindChallengeCode
}

// Data fills a template. Templates read its fields as {{.Code}},
// {{.Site}} and so on, and the language as {{.Lang}}.
type Data struct {
	// Code is the one-time code, set only for code mails. It is a secret,
	// so Send never puts it in an error.
	Code string
	// ValidMinutes is how long the code is valid, in minutes (10 for the
	// email codes).
	ValidMinutes int
	// Site is the host name of the site, for example "app.example.com".
	Site string
	// Method is the method concerned: "totp", "emailOtp" or "recoveryCode".
	// Templates show a name for it in their language.
	Method string
	// Time is when the event happened. Send converts it to UTC, and uses
	// the current time when it is zero. Templates show it with its zone.
	Time time.Time
	// ClientIP is the address of the client that caused the event.
	ClientIP string
	// Remaining is the number of recovery codes left (recovery-code-used).
	Remaining int
}

// Message is one mail to send.
type Message struct {
	// To is the recipient, "addr@host" or "Name <addr@host>".
	To string
	// Kind picks the template.
	Kind Kind
	// Language is a two-letter code in either case. An empty or unknown
	// one falls back to DefaultLanguage. The function Language picks it
	// from a request.
	Language string
	// Data fills the template.
	Data Data
}

// view is the value templates execute on: the Data fields plus the language,
// for the lang attribute of the HTML layout.
type view struct {
	Data
	Lang string
}
