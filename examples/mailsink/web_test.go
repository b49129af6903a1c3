package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// get requests path from h and returns the response and its body.
func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	resp := rec.Result()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return resp, string(body)
}

// filledStore returns a store with two mails. The second one carries HTML
// that the page must escape.
func filledStore() *store {
	st := newStore(maxMessages)
	when := time.Date(2024, 5, 1, 14, 3, 0, 0, time.UTC)
	st.add(message{Time: when, From: "a@example.com", To: []string{"bob@example.com"},
		Subject: "first", Text: "code 111111", Raw: []byte("Subject: first\r\n\r\ncode 111111\r\n")})
	st.add(message{Time: when.Add(time.Minute), From: "x@example.com", To: []string{"eve@example.com", "bob@example.com"},
		Subject: "<script>alert(1)</script>", Text: "</pre><b>bold</b>", Raw: []byte("raw two")})
	return st
}

func TestWebIndex(t *testing.T) {
	h := newWebHandler(filledStore())

	resp, body := get(t, h, "/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q, want text/html; charset=utf-8", ct)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q, want default-src 'none'", csp)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "<b>bold") {
		t.Errorf("page contains unescaped mail content:\n%s", body)
	}
	for _, want := range []string{"&lt;script&gt;", "<pre>code 111111</pre>", "eve@example.com, bob@example.com",
		`href="/messages/1.eml"`, "2024-05-01 14:03:00 UTC", "2 mails"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if newer, older := strings.Index(body, "/messages/2.eml"), strings.Index(body, "/messages/1.eml"); newer > older {
		t.Errorf("mail 2 at offset %d comes after mail 1 at %d, want newest first", newer, older)
	}
}

func TestWebJSON(t *testing.T) {
	h := newWebHandler(filledStore())

	resp, body := get(t, h, "/messages.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var list []jsonMessage
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	if len(list) != 2 {
		t.Fatalf("got %d mails, want 2", len(list))
	}
	if list[0].ID != 2 || list[1].ID != 1 {
		t.Errorf("ids = %d, %d, want 2, 1 (newest first)", list[0].ID, list[1].ID)
	}
	first := list[1]
	if first.From != "a@example.com" || first.Subject != "first" || first.Text != "code 111111" {
		t.Errorf("mail 1 = %+v, want from a@example.com, subject first, text with the code", first)
	}
	if len(first.To) != 1 || first.To[0] != "bob@example.com" {
		t.Errorf("mail 1 to = %q, want [bob@example.com]", first.To)
	}
	for _, field := range []string{`"id"`, `"time"`, `"from"`, `"to"`, `"subject"`, `"text"`} {
		if !strings.Contains(body, field) {
			t.Errorf("JSON lacks the field %s: %s", field, body)
		}
	}
}

func TestWebJSONEmpty(t *testing.T) {
	_, body := get(t, newWebHandler(newStore(maxMessages)), "/messages.json")
	if strings.TrimSpace(body) != "[]" {
		t.Errorf("body = %q, want []", body)
	}
}

func TestWebRaw(t *testing.T) {
	h := newWebHandler(filledStore())

	resp, body := get(t, h, "/messages/1.eml")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if body != "Subject: first\r\n\r\ncode 111111\r\n" {
		t.Errorf("body = %q, want the raw mail", body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q, want text/plain; charset=utf-8", ct)
	}
}

func TestWebNotFound(t *testing.T) {
	h := newWebHandler(filledStore())
	for _, path := range []string{"/messages/3.eml", "/messages/0.eml", "/messages/x.eml", "/messages/1", "/nope"} {
		if resp, _ := get(t, h, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s status = %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestStoreKeepsLast(t *testing.T) {
	st := newStore(3)
	for range 5 {
		st.add(message{})
	}

	list := st.list()
	if len(list) != 3 {
		t.Fatalf("store holds %d mails, want 3", len(list))
	}
	if list[0].ID != 5 || list[2].ID != 3 {
		t.Errorf("ids = %d..%d, want 5..3", list[0].ID, list[2].ID)
	}
	if _, ok := st.get(2); ok {
		t.Errorf("get(2) found a dropped mail")
	}
}
