package gate

import "net/http"

// clientHeaderPrefix starts the names of the headers that the module sets for
// the app (X-2FA-User, X-2FA-Method). A client copy would let the client
// name its own user, so every one is removed before the module sets its own.
const clientHeaderPrefix = "x-2fa-"

// methodOverrideHeaders are the headers with which frameworks let a POST act
// as another method. The gate and the guards decide on the request method,
// so a client must not change it behind their back.
var methodOverrideHeaders = [...]string{
	"x-http-method-override",
	"x-http-method",
	"x-method-override",
}

// StripClientHeaders removes from h every client-sent X-2FA-* header and the
// method-override headers X-HTTP-Method-Override, X-HTTP-Method and
// X-Method-Override. Names match in any case and with "_" in place of "-"
// ("x_2fa_user", "X-2fa_User"), because CGI (RFC 3875 section 4.1.18) and
// PHP turn both spellings into the same variable HTTP_X_2FA_USER. It walks
// every key of the map, because Go's server stores names that contain "_"
// without canonicalising them, so h.Del with a canonical name would miss
// them.
func StripClientHeaders(h http.Header) {
	for name := range h {
		if isClientHeader(name) {
			delete(h, name)
		}
	}
}

// isClientHeader reports whether a header name, with ASCII case folded and
// "_" read as "-", is an X-2FA-* or method-override header. It compares byte
// by byte because it runs on every header of every request.
func isClientHeader(name string) bool {
	if len(name) >= len(clientHeaderPrefix) &&
		equalHeaderName(name[:len(clientHeaderPrefix)], clientHeaderPrefix) {
		return true
	}
	for _, override := range methodOverrideHeaders {
		if equalHeaderName(name, override) {
			return true
		}
	}
	return false
}

// equalHeaderName reports whether name equals target, a lowercase name
// spelled with "-", after folding ASCII case and reading "_" as "-".
func equalHeaderName(name, target string) bool {
	if len(name) != len(target) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_':
			c = '-'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != target[i] {
			return false
		}
	}
	return true
}
