package api

import "slices"

// Names of the cookies the module sets. Over HTTPS each takes a prefix
// that browsers enforce: __Host- (Secure, Path=/, no Domain) for cookies
// on /, __Secure- (Secure) for cookies on a narrower path.
const (
	ModuleCookieHTTPS  = "__Host-twofactor"
	ModuleCookieHTTP   = "twofactor"
	CSRFCookieHTTPS    = "__Host-twofactor-csrf"
	CSRFCookieHTTP     = "twofactor-csrf"
	SudoCookieHTTPS    = "__Secure-twofactor-sudo"
	SudoCookieHTTP     = "twofactor-sudo"
	PartialCookieHTTPS = "__Secure-twofactor-partial"
	PartialCookieHTTP  = "twofactor-partial"
)

// ModuleCookies lists every cookie name the module sets. They are the
// module's own: never an app credential, and never forwarded to the app.
var ModuleCookies = []string{
	ModuleCookieHTTP, ModuleCookieHTTPS, CSRFCookieHTTP, CSRFCookieHTTPS,
	SudoCookieHTTP, SudoCookieHTTPS, PartialCookieHTTP, PartialCookieHTTPS,
}

// IsModuleCookie reports whether name is one of the module's cookies.
func IsModuleCookie(name string) bool {
	return slices.Contains(ModuleCookies, name)
}
