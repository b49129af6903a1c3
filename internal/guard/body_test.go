package guard

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

var resetFields = []string{"email", "code", "totp", "recoveryCode"}

func bodyRequest(target, contentType, body string) *http.Request {
	r := request(http.MethodPut, target, body)
	r.Header.Set("Content-Type", contentType)
	return r
}

func TestReadBodyRejects(t *testing.T) {
	const json, form = "application/json", "application/x-www-form-urlencoded"
	tests := []struct {
		name, target, contentType, body string
		status                          int
		message                         string
	}{
		{"duplicate key", "/", json, `{"email":"a@x","email":"b@x"}`, 400, `"email" must appear only once, in any case`},
		{"case variant", "/", json, `{"email":"a@x","EMAIL":"b@x"}`, 400, `"EMAIL" must appear only once, in any case`},
		{"escaped key", "/", json, `{"email":"a@x","\u0065mail":"b@x"}`, 400, `"email" must appear only once, in any case`},
		{"unguarded duplicate", "/", json, `{"name":"a","Name":"b"}`, 400, `"Name" must appear only once, in any case`},
		{"number", "/", json, `{"email":5}`, 400, "email must be a string"},
		{"null", "/", json, `{"code":null}`, 400, "code must be a string"},
		{"two objects", "/", json, `{"email":"a@x"}{"email":"b@x"}`, 400, "the request body must hold exactly one JSON object"},
		{"array", "/", json, `[{"email":"a@x"}]`, 400, "the request body must hold exactly one JSON object"},
		{"broken", "/", json, `{"email":`, 400, "the request body is not valid JSON"},
		{"form duplicate", "/", form, "email=a%40x&Email=b%40x", 400, `"Email" must appear only once, in any case`},
		{"form array", "/", form, "email=a%40x&email%5B%5D=b%40x", 400, `"email[]" must appear only once, in any case`},
		{"form space", "/", form, "email=a&+email=b", 400, `" email" must appear only once, in any case`},
		{"form semicolon", "/", form, "email=a%40x;code=1", 400, "the form body is not valid application/x-www-form-urlencoded"},
		{"form escape", "/", form, "email=%zz", 400, "the form body is not valid application/x-www-form-urlencoded"},
		{"JSON sent as a form", "/", form, `{"x":"&email=decoy%40x&","email":"real@x"}`, 400,
			"the form body contains JSON characters ({, } or \"): send JSON as application/json"},
		{"form with a quote", "/", form, `email=a%40x&"x"=1`, 400, "the form body contains JSON characters ({, } or \"): send JSON as application/json"},
		{"query", "/?email=a%40x", json, `{"code":"1"}`, 400, "email must be sent in the request body, not in the query string"},
		{"query case", "/?EMAIL=a%40x", json, `{"code":"1"}`, 400, "email must be sent in the request body, not in the query string"},
		{"query escape", "/?e%6Dail=a", json, `{"code":"1"}`, 400, "email must be sent in the request body, not in the query string"},
		{"query semicolon", "/?x=1;code=2", json, `{}`, 400, "code must be sent in the request body, not in the query string"},
		{"query array", "/?totp[]=1", json, `{}`, 400, "totp must be sent in the request body, not in the query string"},
		{"content type", "/", "text/plain", `{"email":"a@x"}`, 400, "Content-Type must be application/json or application/x-www-form-urlencoded"},
		{"no content type", "/", "", `{"email":"a@x"}`, 400, "Content-Type must be application/json or application/x-www-form-urlencoded"},
		{"multipart", "/", "multipart/form-data; boundary=x", "--x--", 400, ""},
		{"too large", "/", json, `{"email":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "PAYLOAD_TOO_LARGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, e := readBody(bodyRequest(tt.target, tt.contentType, tt.body), resetFields)
			if e == nil {
				t.Fatalf("readBody accepted %q, want %d", tt.body, tt.status)
			}
			if e.Status != tt.status {
				t.Errorf("status %d, want %d", e.Status, tt.status)
			}
			if tt.message != "" && e.Message != tt.message {
				t.Errorf("message %q, want %q", e.Message, tt.message)
			}
		})
	}
}

func TestReadBodyEncoding(t *testing.T) {
	r := bodyRequest("/", "application/json", `{"email":"a@x"}`)
	r.Header.Set("Content-Encoding", "gzip")
	if _, e := readBody(r, resetFields); e == nil || e.Status != 400 {
		t.Errorf("gzip body: %v, want 400", e)
	}
}

func TestReadBodyFields(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		want                    map[string]string
	}{
		{"json", "application/json", `{"email":"a@x","code":"123456","other":[1,2]}`,
			map[string]string{"email": "a@x", "code": "123456"}},
		{"json case", "application/json; charset=utf-8", `{"Email":"a@x","recoverycode":"r"}`,
			map[string]string{"email": "a@x", "recoveryCode": "r"}},
		{"form", "application/x-www-form-urlencoded", "email=a%40x&code=1+2&next=%2F",
			map[string]string{"email": "a@x", "code": "1 2"}},
		{"empty", "", "", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, e := readBody(bodyRequest("/?next=/x", tt.contentType, tt.body), resetFields)
			if e != nil {
				t.Fatalf("readBody: %v", e)
			}
			for _, field := range resetFields {
				got, ok := b.get(field)
				want, wantOK := tt.want[field]
				if ok != wantOK || got != want {
					t.Errorf("get(%s) = %q, %v, want %q, %v", field, got, ok, want, wantOK)
				}
			}
		})
	}
}

func TestFoldKeyUnicode(t *testing.T) {
	// encoding/json matches "ſ" (long s) to "s" and the Kelvin sign to "k".
	pairs := [][2]string{{"paſſword", "password"}, {"\u212aey", "key"}, {"EMAIL", "email"}}
	for _, p := range pairs {
		if foldKey(p[0]) != foldKey(p[1]) {
			t.Errorf("foldKey(%q) != foldKey(%q)", p[0], p[1])
		}
	}
	if foldKey("email") == foldKey("emai1") {
		t.Error(`foldKey("email") == foldKey("emai1")`)
	}
}

func TestBodyWithout(t *testing.T) {
	tests := []struct {
		name, contentType, body, want string
	}{
		{"json", "application/json", `{"email":"a@x", "TOTP":"123456","n":{"a":[1, 2]}}`,
			`{"email":"a@x","n":{"a":[1, 2]}}`},
		{"form", "application/x-www-form-urlencoded", "email=a%40x&totp=123456&next=%2F",
			"email=a%40x&next=%2F"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bodyRequest("/", tt.contentType, tt.body)
			b, e := readBody(r, resetFields)
			if e != nil {
				t.Fatalf("readBody: %v", e)
			}
			rewritten := b.without("totp", "recoveryCode")
			if string(rewritten) != tt.want {
				t.Errorf("without = %s, want %s", rewritten, tt.want)
			}
			b.install(r, rewritten)
			got, _ := io.ReadAll(r.Body)
			if string(got) != tt.want {
				t.Errorf("forwarded body %s, want %s", got, tt.want)
			}
			if r.ContentLength != int64(len(tt.want)) || r.Header.Get("Content-Length") != strconv.Itoa(len(tt.want)) {
				t.Errorf("Content-Length %d / %q, want %d", r.ContentLength,
					r.Header.Get("Content-Length"), len(tt.want))
			}
		})
	}
}

func TestBodyInstallExactBytes(t *testing.T) {
	const sent = ` {"email" : "a@x" } `
	r := bodyRequest("/", "application/json", sent)
	b, e := readBody(r, resetFields)
	if e != nil {
		t.Fatalf("readBody: %v", e)
	}
	if rewritten := b.without("totp"); rewritten != nil {
		t.Errorf("without(totp) = %s, want nil when no totp was sent", rewritten)
	}
	b.install(r, nil)
	got, _ := io.ReadAll(r.Body)
	if string(got) != sent {
		t.Errorf("forwarded %q, want the bytes sent %q", got, sent)
	}
}

// FuzzReadBody checks that no body makes the parser panic, and that the
// body a guard forwards after removing fields parses again without them.
func FuzzReadBody(f *testing.F) {
	f.Add("application/json", `{"email":"a@x","totp":"1"}`)
	f.Add("application/json", `{"a":{"email":1},"b":[]}`)
	f.Add("application/x-www-form-urlencoded", "email=a&totp=1&x")
	f.Add("application/x-www-form-urlencoded", "=&&email%5B%5D=1")
	f.Add("application/json", `{"\u00e9":"x","EMAIL":null}`)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		b, e := readBody(bodyRequest("/", contentType, body), resetFields)
		if e != nil {
			return
		}
		email, _ := b.get("email")
		rewritten := b.without("totp", "recoveryCode")
		if rewritten == nil {
			return
		}
		again, e := readBody(bodyRequest("/", contentType, string(rewritten)), resetFields)
		if e != nil {
			t.Fatalf("rewritten body %q does not parse: %v", rewritten, e)
		}
		if _, ok := again.get("totp"); ok {
			t.Errorf("rewritten body %q still has totp", rewritten)
		}
		if got, _ := again.get("email"); got != email {
			t.Errorf("rewritten body %q changed email from %q to %q", rewritten, email, got)
		}
	})
}
