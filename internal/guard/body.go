package guard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

// body is a guarded request body, parsed strictly so that the module and
// the app read the same fields from it: one JSON object or one form body,
// no key twice under case folding. raw holds the exact bytes parsed.
type body struct {
	raw     []byte
	form    bool
	members []member
}

// member is one top-level key of the body with its value.
type member struct {
	name string
	// fold is the key as lenient readers match it (see foldKey).
	fold string
	// value is the decoded value when isString is set.
	value    string
	isString bool
	// raw is the JSON value as sent, or the form's "key=value" pair.
	raw []byte
}

// Errors of the body's framing, in the API's wording.
var (
	errTooLarge      = api.NewError(http.StatusRequestEntityTooLarge, api.CodePayloadTooLarge)
	errContentType   = api.BadRequest("Content-Type must be application/json or application/x-www-form-urlencoded")
	errEncoding      = api.BadRequest("Content-Encoding is not accepted on this route: send the body uncompressed")
	errNotJSON       = api.BadRequest("the request body is not valid JSON")
	errNotObject     = api.BadRequest("the request body must hold exactly one JSON object")
	errFormEncoding  = api.BadRequest("the form body is not valid application/x-www-form-urlencoded")
	errFormLooksJSON = api.BadRequest("the form body contains JSON characters ({, } or \"): send JSON as application/json")
)

// hasBody reports whether a request may carry a body: a declared length
// above zero, or an unknown length (chunked).
func hasBody(r *http.Request) bool {
	return r.ContentLength != 0 || len(r.TransferEncoding) > 0
}

// readBody reads and parses r's body under the guards' rules
// for a guard that reads fields, and checks that none of them is in the
// query string. An empty body has no members, whatever its Content-Type.
func readBody(r *http.Request, fields []string) (*body, *api.Error) {
	for _, name := range queryKeys(r.URL.RawQuery) {
		if field, ok := matchField(formFold(name), fields); ok {
			return nil, api.BadRequest(field + " must be sent in the request body, not in the query string")
		}
	}
	if enc := strings.TrimSpace(r.Header.Get("Content-Encoding")); enc != "" &&
		!strings.EqualFold(enc, "identity") {
		return nil, errEncoding
	}
	raw, e := api.ReadBody(r)
	if e != nil {
		return nil, e
	}
	b := &body{raw: raw}
	if len(raw) == 0 {
		return b, nil
	}

	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err != nil:
		return nil, errContentType
	case mediaType == "application/json":
		e = b.parseJSON()
	case mediaType == "application/x-www-form-urlencoded":
		b.form = true
		e = b.parseForm()
	default:
		return nil, errContentType
	}
	if e != nil {
		return nil, e
	}
	return b, b.check(fields)
}

// parseJSON splits a JSON object into its members.
func (b *body) parseJSON() *api.Error {
	dec := json.NewDecoder(bytes.NewReader(b.raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errNotObject
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errNotJSON
		}
		name, ok := tok.(string)
		if !ok {
			return errNotJSON
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return errNotJSON
		}
		value = bytes.TrimSpace(value)
		m := member{name: name, fold: foldKey(name), raw: value}
		var s string
		if len(value) > 0 && value[0] == '"' && json.Unmarshal(value, &s) == nil {
			m.value, m.isString = s, true
		}
		b.members = append(b.members, m)
	}
	if _, err := dec.Token(); err != nil {
		return errNotJSON
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errNotObject
	}
	return nil
}

// parseForm splits a form body into its pairs. A ";" is refused, because
// some servers split pairs there and Go's own parser rejects the body.
func (b *body) parseForm() *api.Error {
	if bytes.IndexByte(b.raw, ';') >= 0 {
		return errFormEncoding
	}
	// An app may parse a body as JSON whatever its Content-Type is, and
	// a JSON text can also be read as a form with other fields: such a
	// body could name one account to the module and another to the app.
	if json.Valid(b.raw) || bytes.ContainsAny(b.raw, "{}\"") {
		return errFormLooksJSON
	}
	for pair := range strings.SplitSeq(string(b.raw), "&") {
		if pair == "" {
			continue
		}
		key, value, _ := strings.Cut(pair, "=")
		name, err1 := url.QueryUnescape(key)
		decoded, err2 := url.QueryUnescape(value)
		if err1 != nil || err2 != nil {
			return errFormEncoding
		}
		b.members = append(b.members, member{name: name, fold: formFold(name), value: decoded,
			isString: true, raw: []byte(pair)})
	}
	return nil
}

// check rejects a key repeated under folding, and a guarded field that is
// not a single string.
func (b *body) check(fields []string) *api.Error {
	seen := make(map[string]bool, len(b.members))
	for _, m := range b.members {
		if seen[m.fold] {
			return api.BadRequest(quote(m.name) + " must appear only once, in any case")
		}
		seen[m.fold] = true
		field, ok := matchField(m.fold, fields)
		if !ok {
			continue
		}
		if !m.isString {
			return api.BadRequest(field + " must be a string")
		}
	}
	return nil
}

// get returns the string value of field, whatever the case of its key.
func (b *body) get(field string) (string, bool) {
	if field == "" {
		return "", false
	}
	want := foldKey(field)
	for _, m := range b.members {
		if m.fold == want || (b.form && m.fold == formFold(field)) {
			return m.value, m.isString
		}
	}
	return "", false
}

// required returns the value of a field the guard cannot do without.
func (b *body) required(field string) (string, *api.Error) {
	value, ok := b.get(field)
	if !ok || strings.TrimSpace(value) == "" {
		return "", api.BadRequest(field + " is required")
	}
	return value, nil
}

// without returns the body with the named fields removed, in the
// encoding it came in, or nil when none of them is present.
func (b *body) without(fields ...string) []byte {
	var kept []member
	removed := false
	for _, m := range b.members {
		if _, ok := matchField(m.fold, fields); ok {
			removed = true
			continue
		}
		kept = append(kept, m)
	}
	if !removed {
		return nil
	}
	var out bytes.Buffer
	if b.form {
		for i, m := range kept {
			if i > 0 {
				out.WriteByte('&')
			}
			out.Write(m.raw)
		}
		return out.Bytes()
	}
	out.WriteByte('{')
	for i, m := range kept {
		if i > 0 {
			out.WriteByte(',')
		}
		name, _ := json.Marshal(m.name)
		out.Write(name)
		out.WriteByte(':')
		out.Write(m.raw)
	}
	out.WriteByte('}')
	return out.Bytes()
}

// install makes r carry rewritten, or else the exact bytes parsed, with a
// matching Content-Length: the body was read, and the app must get what
// the guard judged.
func (b *body) install(r *http.Request, rewritten []byte) {
	raw := b.raw
	if rewritten != nil {
		raw = rewritten
	}
	setBody(r, raw)
}

// setBody replaces r's body by raw with a matching length. The body is
// complete, so an Expect: 100-continue of the client no longer applies.
func setBody(r *http.Request, raw []byte) {
	r.Body = io.NopCloser(bytes.NewReader(raw))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
	r.ContentLength = int64(len(raw))
	r.TransferEncoding = nil
	r.Header.Del("Transfer-Encoding")
	r.Header.Del("Expect")
	if len(raw) == 0 {
		r.Body = http.NoBody
		r.Header.Del("Content-Length")
		return
	}
	r.Header.Set("Content-Length", strconv.Itoa(len(raw)))
}

// queryKeys returns the decoded keys of a raw query, split at "&" and at
// ";" as lenient servers split it. A key that does not decode is returned
// as sent.
func queryKeys(rawQuery string) []string {
	var keys []string
	for pair := range strings.FieldsFuncSeq(rawQuery, func(r rune) bool { return r == '&' || r == ';' }) {
		key, _, _ := strings.Cut(pair, "=")
		if decoded, err := url.QueryUnescape(key); err == nil {
			key = decoded
		}
		keys = append(keys, key)
	}
	return keys
}

// queryHasField reports whether a raw query carries one of fields.
func queryHasField(rawQuery string, fields []string) bool {
	for _, key := range queryKeys(rawQuery) {
		if _, ok := matchField(formFold(key), fields); ok {
			return true
		}
	}
	return false
}

// matchField returns the field among fields whose folded form is fold.
func matchField(fold string, fields []string) (string, bool) {
	for _, f := range fields {
		if f != "" && (foldKey(f) == fold || formFold(f) == fold) {
			return f, true
		}
	}
	return "", false
}

// foldKey folds a key as encoding/json matches object keys to struct
// fields: every rune to the smallest rune of its Unicode simple folding
// orbit, so "EMAIL", "Email" and "email" fold alike, and so do "ſ" and
// "s" or "K" (Kelvin sign) and "k".
func foldKey(key string) string {
	var b strings.Builder
	b.Grow(len(key))
	for _, r := range key {
		b.WriteRune(smallestFold(r))
	}
	return b.String()
}

func smallestFold(r rune) rune {
	least := r
	for next := unicode.SimpleFold(r); next != r; next = unicode.SimpleFold(next) {
		least = min(least, next)
	}
	return least
}

// formFold folds a form or query key as the most lenient common reader
// does. PHP drops leading spaces, cuts an array suffix ("email[]") and reads
// "." and " " as "_". The result is then folded as foldKey folds it.
func formFold(key string) string {
	key = strings.TrimLeft(key, " ")
	if i := strings.IndexByte(key, '['); i > 0 {
		key = key[:i]
	}
	key = strings.NewReplacer(".", "_", " ", "_").Replace(key)
	return foldKey(key)
}

// quote quotes a client-sent key for an error message, cut to 64 bytes so
// an error message never echoes a large input.
func quote(name string) string {
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	return fmt.Sprintf("%q", name)
}
