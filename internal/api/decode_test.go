package api

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestDecodeFieldsAccepted(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"blank", " \r\n\t", map[string]string{}},
		{"empty object", "{}", map[string]string{}},
		{"spaced object", " { } \n", map[string]string{}},
		{"one field", `{"totp":"123456"}`, map[string]string{"totp": "123456"}},
		{"escaped name", `{"tot\u0070":"1"}`, map[string]string{"totp": "1"}},
		{"empty value", `{"totp":""}`, map[string]string{"totp": ""}},
		{"two fields", `{"totp":"1","email":"a@example.com"}`,
			map[string]string{"totp": "1", "email": "a@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, e := DecodeFields([]byte(tt.body), "totp", "email")
			if e != nil {
				t.Fatalf("DecodeFields(%q) = %v, want success", tt.body, e)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("DecodeFields(%q) = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}

func TestDecodeFieldsRejected(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string // part of the 400 sentence
	}{
		{"null", "null", "must be a JSON object"},
		{"array", `["totp"]`, "must be a JSON object"},
		{"string", `"totp"`, "must be a JSON object"},
		{"number", `1`, "must be a JSON object"},
		{"garbage", `totp`, "must be a JSON object"},
		{"number value", `{"totp":123456}`, "totp must be a string"},
		{"null value", `{"totp":null}`, "totp must be a string"},
		{"bool value", `{"totp":true}`, "totp must be a string"},
		{"object value", `{"totp":{"a":"b"}}`, "totp must be a string"},
		{"array value", `{"totp":["1"]}`, "totp must be a string"},
		{"duplicate", `{"totp":"1","totp":"2"}`, `"totp" must appear only once`},
		{"duplicate folded", `{"totp":"1","TOTP":"2"}`, `"TOTP" must appear only once`},
		{"duplicate mixed", `{"email":"x","Email":"y"}`, `"Email" must appear only once`},
		{"unknown", `{"other":"x"}`, `"other" is not a known field: expected totp, email`},
		{"wrong case", `{"Totp":"123456"}`, `"Totp" is not a known field`},
		{"two objects", `{}{}`, "exactly one JSON object"},
		{"trailing text", `{"totp":"1"} x`, "exactly one JSON object"},
		{"unclosed", `{"totp":"1"`, "not valid JSON"},
		{"missing colon", `{"totp" "1"}`, "not valid JSON"},
		{"number key", `{1:"x"}`, "not valid JSON"},
		{"trailing comma", `{"totp":"1",}`, "not valid JSON"},
		{"bad value", `{"totp":tru}`, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, e := DecodeFields([]byte(tt.body), "totp", "email")
			if e == nil {
				t.Fatalf("DecodeFields(%q) = %v, want 400", tt.body, got)
			}
			if e.Status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", e.Status)
			}
			if !strings.Contains(e.Message, tt.want) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tt.want)
			}
		})
	}
}

func TestDecodeFieldsNoFieldsAllowed(t *testing.T) {
	_, e := DecodeFields([]byte(`{"a":"b"}`))
	if e == nil || !strings.Contains(e.Message, `"a" is not a known field: send an empty object`) {
		t.Errorf("DecodeFields with no allowed field = %v, want a 400 asking for an empty object", e)
	}
}

func TestDecodeFieldsLongName(t *testing.T) {
	name := strings.Repeat("n", 1000)
	_, e := DecodeFields([]byte(`{"`+name+`":"x"}`), "totp")
	if e == nil {
		t.Fatal("DecodeFields with an unknown long name succeeded")
	}
	if strings.Contains(e.Message, strings.Repeat("n", 65)) {
		t.Errorf("message echoes more than 64 bytes of the name: %d bytes", len(e.Message))
	}
	if !strings.Contains(e.Message, strings.Repeat("n", 64)+"…") {
		t.Errorf("message = %q, want the name cut at 64 bytes", e.Message)
	}
}

func TestReadBody(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		unknown bool // no Content-Length
		wantErr bool
	}{
		{"empty", 0, false, false},
		{"at limit", MaxBodySize, false, false},
		{"over limit", MaxBodySize + 1, false, true},
		{"at limit, chunked", MaxBodySize, true, false},
		{"over limit, chunked", MaxBodySize + 1, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", tt.size)))
			if tt.unknown {
				r.ContentLength = -1
				r.Body = io.NopCloser(strings.NewReader(strings.Repeat("x", tt.size)))
			}
			body, e := ReadBody(r)
			if tt.wantErr {
				if e == nil || e.Status != http.StatusRequestEntityTooLarge {
					t.Errorf("ReadBody = %v, want 413", e)
				}
				return
			}
			if e != nil {
				t.Fatalf("ReadBody = %v, want success", e)
			}
			if len(body) != tt.size {
				t.Errorf("read %d bytes, want %d", len(body), tt.size)
			}
		})
	}

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Body = nil
	if body, e := ReadBody(r); e != nil || body != nil {
		t.Errorf("ReadBody without a body = %q, %v, want nil, nil", body, e)
	}
}

func TestIsJSON(t *testing.T) {
	tests := []struct {
		contentType string
		want        bool
	}{
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JSON", true},
		{"application/json ; charset=UTF-8", true},
		{"", false},
		{"text/plain", false},
		{"application/jsonx", false},
		{"application/json-patch+json", false},
		{"application/x-www-form-urlencoded", false},
		{"application/json; charset", false},
	}
	for _, tt := range tests {
		if got := IsJSON(tt.contentType); got != tt.want {
			t.Errorf("IsJSON(%q) = %v, want %v", tt.contentType, got, tt.want)
		}
	}
}

// FuzzDecodeFields checks that DecodeFields never panics, and that what it
// accepts is one valid JSON object of allowed, distinct (under case
// folding) string members, exactly as encoding/json reads it.
func FuzzDecodeFields(f *testing.F) {
	seeds := []string{
		"", "{}", `{"code":"1"}`, `{"Code":"1"}`, `{"code":"1","Code":"2"}`,
		`{"code":"1","code":"2"}`, `{"code":1}`, `{"code":null}`, `{"code":{"x":[1,2]}}`,
		`{"other":"x"}`, `{}{}`, `{} `, `[]`, `null`, `{"code":"\ud800"}`, `{"c\u006fde":"x"}`,
		`{"code":"1",}`, `{1:2}`, `{"code"`, "{\"code\":\"\xff\"}", `{"CODE":"1"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	allowed := []string{"code", "Code", "note"}
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, e := DecodeFields(body, allowed...)
		if e != nil {
			if e.Status != http.StatusBadRequest || e.Message == "" {
				t.Fatalf("DecodeFields(%q) = %+v, want a 400 with a sentence", body, e)
			}
			if fields != nil {
				t.Fatalf("DecodeFields(%q) returned fields with an error", body)
			}
			return
		}
		if strings.TrimSpace(string(body)) == "" {
			if len(fields) != 0 {
				t.Fatalf("DecodeFields(blank) = %v, want no fields", fields)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("DecodeFields accepted invalid JSON %q", body)
		}
		var generic map[string]any
		if err := json.Unmarshal(body, &generic); err != nil {
			t.Fatalf("DecodeFields accepted %q, which is no JSON object: %v", body, err)
		}
		if len(generic) != len(fields) {
			t.Fatalf("DecodeFields(%q) = %v, encoding/json reads %v", body, fields, generic)
		}
		names := slices.Collect(maps.Keys(fields))
		for i, name := range names {
			if !slices.Contains(allowed, name) {
				t.Fatalf("DecodeFields(%q) accepted unknown field %q", body, name)
			}
			if s, ok := generic[name].(string); !ok || s != fields[name] {
				t.Fatalf("field %q = %q, encoding/json reads %#v", name, fields[name], generic[name])
			}
			for _, other := range names[i+1:] {
				if strings.EqualFold(name, other) {
					t.Fatalf("DecodeFields(%q) accepted %q and %q, equal under case folding", body, name, other)
				}
			}
		}
	})
}
