package main

import (
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"unicode/utf8"
)

// maxMIMEDepth bounds the nesting of multipart bodies that parseMessage
// follows, so a crafted mail cannot make it recurse without end.
const maxMIMEDepth = 8

// parseMessage returns the decoded Subject of a raw mail and its first
// text/plain part. A mail without a Content-Type counts as text/plain. A
// mail that cannot be parsed gives what could be read, never an error,
// because the sink shows every mail it accepts.
func parseMessage(raw io.Reader) (subject, text string) {
	msg, err := mail.ReadMessage(raw)
	if err != nil {
		return "", ""
	}
	subject = decodeHeader(msg.Header.Get("Subject"))
	text, _ = findText(textproto.MIMEHeader(msg.Header), msg.Body, 0)
	return subject, text
}

// decodeHeader decodes RFC 2047 encoded words, as in
// "=?UTF-8?q?Caf=C3=A9?=". It returns value unchanged when it cannot.
func decodeHeader(value string) string {
	decoder := mime.WordDecoder{CharsetReader: charsetReader}
	decoded, err := decoder.DecodeHeader(value)
	if err != nil {
		return value
	}
	return decoded
}

// findText returns the first text/plain part of a body with header,
// searching multipart bodies depth first.
func findText(header textproto.MIMEHeader, body io.Reader, depth int) (string, bool) {
	contentType := header.Get("Content-Type")
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", false
	}

	if strings.HasPrefix(mediaType, "multipart/") {
		if depth >= maxMIMEDepth || params["boundary"] == "" {
			return "", false
		}
		parts := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart leaves the transfer encoding alone, so that
			// decodeBody handles it the same way at every level.
			part, err := parts.NextRawPart()
			if err != nil {
				return "", false
			}
			if text, ok := findText(part.Header, part, depth+1); ok {
				return text, true
			}
		}
	}

	if mediaType != "text/plain" {
		return "", false
	}
	text, err := decodeBody(body, header.Get("Content-Transfer-Encoding"), params["charset"])
	if err != nil {
		return "", false
	}
	return text, true
}

// decodeBody undoes a Content-Transfer-Encoding and converts the charset
// to UTF-8. Only UTF-8, US-ASCII and ISO-8859-1 are converted. Other
// charsets are kept byte for byte, with invalid UTF-8 replaced.
func decodeBody(body io.Reader, encoding, charset string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		// The decoder skips the line breaks of a base64 body.
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	if converted, err := charsetReader(charset, body); err == nil {
		body = converted
	}
	// A truncated or malformed body still shows what could be decoded.
	data, err := io.ReadAll(body)
	if err != nil && len(data) == 0 {
		return "", err
	}
	return strings.ToValidUTF8(string(data), string(utf8.RuneError)), nil
}

// errUnknownCharset is returned for a charset that charsetReader does not
// convert.
var errUnknownCharset = errors.New("unknown charset")

// charsetReader converts ISO-8859-1 to UTF-8 and passes UTF-8 and US-ASCII
// through.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "latin1", "latin-1":
		data, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		runes := make([]rune, len(data))
		for i, b := range data {
			runes[i] = rune(b) // ISO-8859-1 is the first 256 code points
		}
		return strings.NewReader(string(runes)), nil
	default:
		return nil, errUnknownCharset
	}
}
