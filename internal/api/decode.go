package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// MaxBodySize is the largest request body the module reads: 64 KiB.
const MaxBodySize = 64 << 10

// errTooLarge marks a body over MaxBodySize.
var errTooLarge = NewError(http.StatusRequestEntityTooLarge, CodePayloadTooLarge)

// IsJSON reports whether the Content-Type is application/json (any parameters).
func IsJSON(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && mediaType == "application/json"
}

// ReadBody reads at most MaxBodySize bytes of r's body.
func ReadBody(r *http.Request) ([]byte, *Error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > MaxBodySize {
		return nil, errTooLarge
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, MaxBodySize+1))
	if err != nil {
		return nil, BadRequest("the request body could not be read")
	}
	if len(raw) > MaxBodySize {
		return nil, errTooLarge
	}
	return raw, nil
}

// DecodeFields parses body as one JSON object whose members are all
// strings named in allowed (matched exactly). An empty body is an empty
// object. Unknown members, members repeated under case folding, values of
// another type, and anything after the object get 400 with a sentence
// naming the member. Absent members are missing from the result.
func DecodeFields(body []byte, allowed ...string) (map[string]string, *Error) {
	fields := map[string]string{}
	if len(bytes.TrimSpace(body)) == 0 {
		return fields, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, BadRequest("the request body must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, BadRequest("the request body is not valid JSON")
		}
		name := tok.(string)
		folded := strings.ToLower(name)
		if seen[folded] {
			return nil, BadRequest(fmt.Sprintf("%s must appear only once", quoteField(name)))
		}
		seen[folded] = true
		if !contains(allowed, name) {
			return nil, BadRequest(unknownField(name, allowed))
		}
		var value any
		if err := dec.Decode(&value); err != nil {
			return nil, BadRequest("the request body is not valid JSON")
		}
		s, ok := value.(string)
		if !ok {
			return nil, BadRequest(fmt.Sprintf("%s must be a string", name))
		}
		fields[name] = s
	}
	if _, err := dec.Token(); err != nil {
		return nil, BadRequest("the request body is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, BadRequest("the request body must hold exactly one JSON object")
	}
	return fields, nil
}

func unknownField(name string, allowed []string) string {
	if len(allowed) == 0 {
		return fmt.Sprintf("%s is not a known field: send an empty object", quoteField(name))
	}
	return fmt.Sprintf("%s is not a known field: expected %s", quoteField(name), strings.Join(allowed, ", "))
}

// quoteField quotes a client-sent name for an error message, cut to 64
// bytes so an error never echoes a large input.
func quoteField(name string) string {
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	return fmt.Sprintf("%q", name)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
